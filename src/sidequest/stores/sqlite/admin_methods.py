"""The admin half of :class:`sidequest.stores.sqlite.SQLiteStore`: the reads and actions the CLI and the
dashboard use, each one transaction around a statement of :mod:`sidequest.stores.sqlite.admin`.

A mixin so the store class keeps to the processing side; it relies on the store's ``_read``,
``_write`` and ``_wake_claimers``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import date

from sidequest.job import ClassMetrics, Counts, JobEntry, ProcessInfo, QueueInfo, SetName, WorkInfo
from sidequest.stores.sqlite import admin, facts, maintenance
from sidequest.stores.sqlite import metrics as sqlite_metrics


class SQLiteAdminMethods:
    """Admin reads and actions of the SQLite store (see the Store contract for their meaning)."""

    path: str
    """The database file (set by SQLiteStore)."""

    def _read(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # provided by SQLiteStore

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # provided by SQLiteStore

    def _wake_claimers(self) -> None:
        raise NotImplementedError  # provided by SQLiteStore

    # Reads

    def metrics(self, since: float, until: float) -> list[ClassMetrics]:
        """The ``class_metrics`` rows of the minutes in ``[since, until)``, oldest first."""
        with self._read() as conn:
            return sqlite_metrics.read(conn, since, until, time.time())

    def server_facts(self) -> dict[str, str]:
        """The database file and the sizes of it and its write-ahead log, from the file system."""
        return facts.server_facts(self.path)

    def queues(self) -> list[QueueInfo]:
        """Registered queues with their sizes and latencies, by name."""
        with self._read() as conn:
            return admin.queues(conn, time.time())

    def pause_queue(self, name: str, paused: bool) -> None:
        """Record or forget the pause; a resume wakes this object's idle claims at once."""
        with self._write() as conn:
            admin.pause_queue(conn, name, paused)
        if not paused:
            self._wake_claimers()

    def counts(self) -> Counts:
        """Totals; ``busy`` is the number of jobs the live processes last published as running (their
        heartbeats' busy lists), the figure the Busy page lists, not claimed-but-waiting rows."""
        with self._read() as conn:
            return admin.counts(conn, time.time())

    def history(self, days: int, today: date) -> list[tuple[date, int, int]]:
        """Processed and failed per UTC day, newest first."""
        with self._read() as conn:
            return admin.history(conn, days, today)

    def list_queue(self, queue: str, offset: int = 0, limit: int = 25) -> list[JobEntry]:
        """A page of ``queue`` in run order."""
        with self._read() as conn:
            return admin.list_queue(conn, queue, offset, limit)

    def list_set(self, name: SetName, offset: int = 0, limit: int = 25) -> list[JobEntry]:
        """A page of the scheduled, retry or dead set."""
        with self._read() as conn:
            return admin.list_set(conn, name, offset, limit)

    def processes(self) -> list[ProcessInfo]:
        """Processes whose lease has not expired, by identity."""
        with self._read() as conn:
            return admin.processes(conn, time.time())

    def busy(self) -> list[WorkInfo]:
        """The busy lists of live processes."""
        with self._read() as conn:
            return admin.busy(conn, time.time())

    # Actions: each entry is matched by row id, state and exact payload, so an entry that moved
    # since it was listed (or a new row that reused its id) is skipped.

    def delete(self, entries: Sequence[JobEntry]) -> int:
        """Delete the listed jobs still where they were listed."""
        with self._write() as conn:
            return admin.delete(conn, entries)

    def retry_now(self, entries: Sequence[JobEntry]) -> int:
        """Move the listed set jobs to the back of their queues."""
        with self._write() as conn:
            moved = admin.retry_now(conn, entries, time.time())
        if moved:
            self._wake_claimers()
        return moved

    def kill_entries(self, entries: Sequence[JobEntry], now: float) -> int:
        """Move the listed scheduled/retry jobs to the dead set, then trim it."""
        with self._write() as conn:
            return admin.kill_entries(conn, entries, now)

    def clear(self, where: str) -> int:
        """Empty a queue (and forget its name) or a set."""
        with self._write() as conn:
            return admin.clear(conn, where)

    def signal(self, identity: str, signal: str) -> None:
        """Queue a signal; signals older than a minute are dropped here and ignored by beat."""
        with self._write() as conn:
            maintenance.signal(conn, identity, signal, time.time())
