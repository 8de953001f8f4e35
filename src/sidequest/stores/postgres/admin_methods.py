"""The admin half of :class:`sidequest.stores.postgres.store.PostgresStore`: the reads and actions the CLI
and the dashboard use, each one transaction around a statement of :mod:`sidequest.stores.postgres.admin`.

A mixin so the store class keeps to the processing side (as ``sqlite/admin_methods.py`` does for the
SQLite store); it relies on the store's connections (``_read``, ``_tx``, ``_conn``) and wake-ups
(``_notify``, ``_woke``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import date
from typing import Any

import psycopg

from sidequest.job import ClassMetrics, Counts, JobEntry, ProcessInfo, QueueInfo, SetName, WorkInfo
from sidequest.stores.postgres import admin, facts, maintenance, metrics

Conn = psycopg.Connection[Any]


class PostgresAdminMethods:
    """Admin reads and actions of the PostgreSQL store (see the Store contract for their meaning)."""

    s: str
    """The quoted schema name (set by PostgresStore)."""
    schema: str
    """The schema name (set by PostgresStore)."""

    def _read(self) -> AbstractContextManager[Conn]:
        raise NotImplementedError  # provided by PostgresStore

    def _tx(self) -> AbstractContextManager[Conn]:
        raise NotImplementedError  # provided by PostgresStore

    def _conn(self) -> AbstractContextManager[Conn]:
        raise NotImplementedError  # provided by PostgresStore

    def _notify(self, conn: Conn, queues: Sequence[str]) -> None:
        raise NotImplementedError  # provided by PostgresStore

    def _woke(self, queues: Sequence[str]) -> None:
        raise NotImplementedError  # provided by PostgresStore

    def queues(self) -> list[QueueInfo]:
        """Registered queues with their sizes and latencies, by name."""
        with self._read() as conn:
            return admin.queues(conn, self.s, time.time())

    def pause_queue(self, name: str, paused: bool) -> None:
        """Record or forget the pause; a resume notifies idle claims, as a push does."""
        with self._tx() as conn:
            admin.pause_queue(conn, self.s, name, paused)
            if not paused:
                self._notify(conn, [name])
        if not paused:
            self._woke([name])

    def counts(self) -> Counts:
        """Totals; ``busy`` is the number of jobs the live processes last published as running."""
        with self._read() as conn:
            return admin.counts(conn, self.s)

    def history(self, days: int, today: date) -> list[tuple[date, int, int]]:
        """Processed and failed per UTC day, newest first."""
        with self._read() as conn:
            return admin.history(conn, self.s, days, today)

    def list_queue(self, queue: str, offset: int = 0, limit: int = 25) -> list[JobEntry]:
        """A page of ``queue`` in run order."""
        with self._read() as conn:
            return admin.list_queue(conn, self.s, queue, offset, limit)

    def list_set(self, name: SetName, offset: int = 0, limit: int = 25) -> list[JobEntry]:
        """A page of the scheduled, retry or dead set."""
        with self._read() as conn:
            return admin.list_set(conn, self.s, name, offset, limit)

    def processes(self) -> list[ProcessInfo]:
        """Processes whose lease has not expired, by identity."""
        with self._read() as conn:
            return admin.processes(conn, self.s)

    def busy(self) -> list[WorkInfo]:
        """The busy lists of live processes."""
        with self._read() as conn:
            return admin.busy(conn, self.s)

    def delete(self, entries: Sequence[JobEntry]) -> int:
        """Delete the listed jobs still where they were listed."""
        with self._tx() as conn:
            return admin.delete(conn, self.s, entries)

    def retry_now(self, entries: Sequence[JobEntry]) -> int:
        """Move the listed set jobs to the back of their queues."""
        with self._tx() as conn:
            queues = admin.retry_now(conn, self.s, entries, time.time())
            self._notify(conn, queues)
        self._woke(queues)
        return len(queues)

    def kill_entries(self, entries: Sequence[JobEntry], now: float) -> int:
        """Move the listed scheduled/retry jobs to the dead set, then trim it."""
        with self._tx() as conn:
            return admin.kill_entries(conn, self.s, entries, now)

    def clear(self, where: str) -> int:
        """Empty a queue (and forget its name) or a set."""
        with self._tx() as conn:
            return admin.clear(conn, self.s, where)

    def signal(self, identity: str, signal: str) -> None:
        """Queue a signal; signals older than a minute are dropped here and ignored by beat."""
        with self._tx() as conn:
            maintenance.signal(conn, self.s, identity, signal)

    def metrics(self, since: float, until: float) -> list[ClassMetrics]:
        """The ``class_metrics`` rows of the minutes in ``[since, until)``, oldest first."""
        with self._read() as conn:
            return metrics.read(conn, self.s, since, until, time.time())

    def server_facts(self) -> dict[str, str]:
        """Table and index size, dead tuples, the oldest open transaction's age, the server version."""
        with self._conn() as conn:
            return facts.server_facts(conn, self.schema)
