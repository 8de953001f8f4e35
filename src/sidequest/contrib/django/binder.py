"""``perform_async`` inside ``transaction.atomic()``: the job commits, or is dropped, with the block.

Registered at startup as a :mod:`sidequest.transaction` binder. For an enqueue made while the
``SIDEQUEST['DATABASE']`` connection of this thread is inside an atomic block:

* on the PostgreSQL store whose database that connection reaches (checked once per store), the job
  is written through Django's connection, inside its transaction (``JOIN_TRANSACTION``): it exists
  exactly when the rows written beside it do, even across a kill -9;
* on any other store (SQLite, Redis, or PostgreSQL on another database), the push waits for
  ``transaction.on_commit`` (``DEFER_UNTIL_COMMIT``): a rolled-back block, or savepoint, pushes
  nothing, so no job ever looks for a row that was rolled back.

Outside an atomic block (autocommit), an enqueue is pushed at once, as without Django.
"""

from __future__ import annotations

import threading
from functools import partial
from typing import Any

from sidequest.errors import ConfigurationError
from sidequest.stores.base import Store
from sidequest.transaction import Binding, deferred_binding, join


class AtomicBinder:
    """The binder for one database alias; remembers, per store URL, whether that database holds it."""

    def __init__(self, alias: str, join_transaction: bool, defer_until_commit: bool) -> None:
        self.alias = alias
        self.join_transaction = join_transaction
        self.defer_until_commit = defer_until_commit
        self._lock = threading.Lock()
        self._joinable: dict[str, bool] = {}

    def __call__(self, store: Store) -> Binding | None:
        from django.db import connections, transaction

        conn = connections[self.alias]
        if not conn.in_atomic_block:
            return None
        if self.join_transaction and self._joins(store, conn):
            return join(store, conn, check=False)
        if self.defer_until_commit:
            later = partial(transaction.on_commit, using=self.alias)
            return deferred_binding(store, later, f"transaction.on_commit of Django database {self.alias!r}")
        return None

    def _joins(self, store: Store, conn: Any) -> bool:
        """Does ``conn`` reach ``store`` itself (the PostgreSQL store on this very database)?"""
        if conn.vendor != "postgresql" or not _is_postgres(store):
            return False
        with self._lock:
            known = self._joinable.get(store.url)
        if known is None:
            try:
                join(store, conn, check=True)
                known = True
            except ConfigurationError:
                known = False
            with self._lock:
                self._joinable[store.url] = known
        return known


def _is_postgres(store: Store) -> bool:
    try:
        from sidequest.stores.postgres import PostgresStore
    except ImportError:  # psycopg is not installed: then no store is a PostgresStore
        return False
    return isinstance(store, PostgresStore)
