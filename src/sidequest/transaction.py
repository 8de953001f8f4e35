"""``with sidequest.transaction(conn):`` -- enqueue inside the application's own database transaction.

::

    with psycopg.connect(DATABASE_URL) as conn, conn.transaction():
        order_id = save_order(conn, cart)
        with sidequest.transaction(conn):
            OrderConfirmationWorker.perform_async(order_id)

Every enqueue inside the block (``perform_async``, ``perform_in``, ``perform_bulk``, ``Client.push``) is
written through ``conn``, so the jobs commit or roll back with the order: no email for an order that
was never saved, and no saved order whose email was lost because the enqueue failed after the commit.
Idle processes are woken at commit (the NOTIFY is part of the transaction), never for a rollback.

``conn`` may be a psycopg 3 connection, a SQLAlchemy ``Connection`` or ``Session``, or Django's
``django.db.connection`` (psycopg 3 or psycopg2) on the PostgreSQL store; on the SQLite store, a
``sqlite3.Connection`` to the store's file. A connection to another database, or an object of another
kind, is a :class:`~sidequest.errors.ConfigurationError` at the ``with``.

The block is bound to one store: the default client's, or ``client``'s. The binding lives in a context
variable, so it holds for this thread (or asyncio task) only; other threads enqueue as usual.

Frameworks bind without a ``with`` block through a **binder** (:func:`add_binder`): a callable
``(store) -> Binding | None`` asked at each write made outside any ``sidequest.transaction`` block, in
every thread, while it is registered. It returns a :class:`Binding` to write this enqueue through (the
framework's open transaction, or a callback run at its commit: see :func:`deferred_binding`), or None to
write as usual. ``sidequest.contrib.django`` registers one for ``transaction.atomic()``. With no binder
registered a write costs one empty-tuple check more.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sidequest.defaults import DEFAULT
from sidequest.errors import ConfigurationError
from sidequest.job import NewJob

if TYPE_CHECKING:
    from sidequest.client import Client
    from sidequest.stores.base import Store

_BOUND: ContextVar[Binding | None] = ContextVar("sidequest_transaction", default=None)
"""The binding of the current thread or task (context-local: no thread sees another's)."""


@dataclass(frozen=True, slots=True)
class Binding:
    """One ``with sidequest.transaction(conn)`` block: the store it is bound to and how to write."""

    store: Store
    push: Callable[[Sequence[NewJob]], None]
    push_unique: Callable[[NewJob, str, float], bool]
    kind: str


Binder = Callable[["Store"], "Binding | None"]
"""Asked at each write outside a ``sidequest.transaction`` block: the binding to use, or None."""


def add_binder(binder: Binder) -> None:
    """Register ``binder`` for every client of this process (thread-safe; registering twice is once).

    The binder runs on the enqueueing thread before each store write made outside a ``with
    sidequest.transaction(conn)`` block (an explicit block always wins). It must be quick and must not
    raise for an enqueue it does not handle: it returns None then.
    """
    DEFAULT.add_binder(binder)


def remove_binder(binder: Binder) -> None:
    """Forget a binder registered with :func:`add_binder`."""
    DEFAULT.remove_binder(binder)


def deferred_binding(store: Store, later: Callable[[Callable[[], None]], None], kind: str) -> Binding:
    """A binding that hands each write to ``later`` (e.g. Django's ``transaction.on_commit``), which runs
    it after the application's transaction commits, and drops it at a rollback.

    A unique job's lock is taken at that time too, so ``perform_async`` returns a jid for it even when
    the job will turn out to be a duplicate. Between the commit and the deferred write the job exists
    only in this process: a kill -9 there loses it (joining the transaction, on the PostgreSQL store,
    has no such window).
    """

    def push(jobs: Sequence[NewJob]) -> None:
        batch = list(jobs)
        later(lambda: store.push(batch))

    def push_unique(job: NewJob, key: str, ttl: float) -> bool:
        def write() -> None:
            store.push_unique(job, key, ttl)

        later(write)
        return True

    return Binding(store, push, push_unique, kind)


def join(store: Store, conn: object, check: bool = True) -> Binding:
    """The binding ``sidequest.transaction(conn)`` would use: writes through ``conn`` inside its
    transaction. Raises ConfigurationError when ``conn`` cannot reach ``store``; ``check=False`` skips
    the (two-query) check on PostgreSQL, for a binder that has checked this database once already."""
    return _bind(store, conn, check)


@contextmanager
def transaction(conn: object, client: Client | None = None) -> Iterator[None]:
    """Write every enqueue of this thread inside the block through ``conn`` (see the module docs).

    ``client`` names the client whose store the jobs belong to; by default, the default client's
    (what ``perform_async`` uses). Raises ConfigurationError at once when ``conn`` cannot reach that
    store.
    """
    from sidequest.client import Client
    from sidequest.defaults import default_client

    chosen = client if client is not None else default_client()
    if type(chosen).write is not Client.write:
        # A testing mode's client keeps jobs in memory (or runs them inline): nothing to join.
        yield
        return
    binding = _bind(chosen.store, conn)
    token = _BOUND.set(binding)
    try:
        yield
    finally:
        _BOUND.reset(token)


def bound_for(store: Store) -> Binding | None:
    """The binding writes to ``store`` must go through, or None outside any block. An enqueue to
    another store inside a block is a ConfigurationError: it could not be part of the transaction."""
    binding = _BOUND.get()
    if binding is None:
        for binder in DEFAULT.binders:
            found = binder(store)
            if found is not None:
                return found
        return None
    if binding.store is not store and binding.store.url != store.url:
        raise ConfigurationError(
            f"an enqueue to {_shown(store)} inside sidequest.transaction() bound to {_shown(binding.store)}: "
            "it could not commit with the transaction; enqueue it outside the block, or bind the block "
            "to that store's client (sidequest.transaction(conn, client=...))"
        )
    return binding


def _shown(store: Store) -> str:
    return str(getattr(store, "safe_url", None) or store.url)


def _bind(store: Store, conn: object, check: bool = True) -> Binding:
    from sidequest.stores.sqlite import SQLiteStore

    if isinstance(store, SQLiteStore):
        return _bind_sqlite(store, conn)
    try:
        from sidequest.stores.postgres import PostgresStore
    except ImportError:  # psycopg not installed: then the store cannot be a PostgresStore either
        PostgresStore = None  # type: ignore[assignment,misc]
    if PostgresStore is not None and isinstance(store, PostgresStore):
        return _bind_postgres(store, conn, check)
    raise ConfigurationError(
        f"sidequest.transaction() needs a PostgreSQL or SQLite store; {_shown(store)} keeps its jobs "
        "outside the application's database, so no enqueue can commit with its transaction"
    )


def _bind_postgres(store: Any, conn: object, check: bool = True) -> Binding:
    from sidequest.stores.postgres import app_connection
    from sidequest.stores.postgres.store import STORE_ID

    execute, kind = app_connection.runner_for(conn)
    if check:
        app_connection.verify(execute, store.schema, store.store_id, STORE_ID, kind, store.safe_url)

    def push(jobs: Sequence[NewJob]) -> None:
        if jobs:
            sql, params, _ready = store.push_statement(jobs)
            execute(sql, params)

    def push_unique(job: NewJob, key: str, ttl: float) -> bool:
        sql, params = store.push_unique_statement(job, key, ttl)
        rows = execute(sql, params)
        return bool(rows and rows[0][0])

    return Binding(store, push, push_unique, kind)


def _bind_sqlite(store: Any, conn: object) -> Binding:
    if not isinstance(conn, sqlite3.Connection):
        raise ConfigurationError(
            f"sidequest.transaction() on the SQLite store needs a sqlite3.Connection to {store.path}; "
            f"got {type(conn).__qualname__}"
        )
    files = [row[2] for row in conn.execute("PRAGMA database_list") if row[1] == "main"]
    if not files or not files[0] or os.path.realpath(files[0]) != os.path.realpath(store.path):
        raise ConfigurationError(
            f"sidequest.transaction(): this sqlite3.Connection opens {files[0] if files else None!r}, "
            f"not the store's file {store.path}; connect to the store's file"
        )
    # The SQLite store's own statements, run on the application's connection inside its transaction.
    from sidequest.stores.sqlite import moves, unique

    def push(jobs: Sequence[NewJob]) -> None:
        for job in jobs:
            queue, raw = moves.queue_of(job.payload), moves.encode(job.payload)
            if job.at is None:
                conn.execute(moves.INSERT_ENQUEUED, (queue, raw, moves.back_position(conn, queue)))
                moves.register_queues(conn, [queue])
            else:
                conn.execute(moves.INSERT_SCHEDULED, (queue, raw, float(job.at)))

    def push_unique(job: NewJob, key: str, ttl: float) -> bool:
        return bool(unique.push_unique(conn, job, moves.encode(job.payload), key, time.time(), ttl))

    return Binding(store, push, push_unique, "sqlite3.Connection")
