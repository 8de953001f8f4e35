"""The client half of :class:`sidequest.stores.postgres.store.PostgresStore`: pushes and unique pushes,
each ONE statement, and those statements on their own for ``sidequest.transaction`` to run on an
application's connection (so the jobs commit or roll back with its transaction).

A mixin, as ``admin_methods.py`` is, so the store class keeps to processing; it relies on the store's
pooled connections (``_conn``) and wake-ups (``_woke``).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import psycopg

from sidequest.job import NewJob
from sidequest.stores.postgres import moves, payloads, unique
from sidequest.stores.postgres.connection import Options

Conn = psycopg.Connection[Any]


class PostgresPushMethods:
    """Pushes of the PostgreSQL store (see the Store contract for their meaning)."""

    s: str
    """The quoted schema name (set by PostgresStore)."""
    options: Options
    """The URL's options (set by PostgresStore)."""
    channel: str
    """The NOTIFY channel (set by PostgresStore)."""

    def _conn(self) -> AbstractContextManager[Conn]:
        raise NotImplementedError  # provided by PostgresStore

    def _woke(self, queues: Sequence[str]) -> None:
        raise NotImplementedError  # provided by PostgresStore

    def push_statement(self, jobs: Sequence[NewJob]) -> tuple[str, dict[str, Any], list[str]]:
        """The one statement that pushes ``jobs``, its parameters, and the queues it makes ready.

        Payloads are serialized here, before any statement runs, so a payload JSON cannot represent
        raises without writing anything. ``sidequest.transaction`` runs the same statement on an
        application's connection.
        """
        queues = [payloads.queue_of(job.payload) for job in jobs]
        ats = [None if job.at is None else float(job.at) for job in jobs]
        notify = moves.NOTIFY_EXPRESSION if self.options.notify else moves.NO_NOTIFY_EXPRESSION
        sql = moves.PUSH.format(s=self.s, notify=notify)
        ready = sorted({queue for queue, at in zip(queues, ats, strict=True) if at is None})
        params = {
            "queues": payloads.encode(queues),
            "payloads": "\n".join([payloads.encode(job.payload) for job in jobs]),
            "ats": payloads.encode(ats),
            "ready": payloads.encode(ready),
            "channel": self.channel,
        }
        return sql, params, ready

    def push(self, jobs: Sequence[NewJob]) -> None:
        """Insert every job with one statement (all or nothing)."""
        if not jobs:
            return
        sql, params, ready = self.push_statement(jobs)
        with self._conn() as conn:
            conn.execute(sql, params)
        self._woke(ready)

    def push_unique_statement(self, job: NewJob, key: str, ttl: float) -> tuple[str, dict[str, Any]]:
        """The one statement that takes lock ``key`` and pushes ``job``; it returns one row whose
        value is 1 when the job was stored, 0 when the lock is held."""
        notify = unique.NOTIFY_EXPRESSION if self.options.notify else "NULL"
        params = {
            "key": key,
            "jid": str(job.payload["jid"]),
            "ttl": float(ttl),
            "queue": payloads.queue_of(job.payload),
            "payload": payloads.encode(job.payload),
            "at": None if job.at is None else float(job.at),
            "channel": self.channel,
        }
        return unique.PUSH_UNIQUE.format(s=self.s, notify=notify), params

    def push_unique(self, job: NewJob, key: str, ttl: float) -> bool:
        """Take the lock row and insert the job in one statement; the lock expires ``ttl`` seconds from
        now by the server's clock."""
        sql, params = self.push_unique_statement(job, key, ttl)
        with self._conn() as conn:
            row = conn.execute(sql, params).fetchone()
        pushed = bool(row and row[0])
        if pushed and job.at is None:
            self._woke([str(params["queue"])])
        return pushed

    def release_unique(self, locks: Sequence[tuple[str, str]]) -> int:
        """Delete the lock rows their jids still hold, in one statement."""
        if not locks:
            return 0
        with self._conn() as conn:
            rows = conn.execute(
                unique.RELEASE.format(s=self.s),
                {"keys": [key for key, _ in locks], "jids": [jid for _, jid in locks]},
            ).fetchall()
        return sum(1 for row in rows if row[0])
