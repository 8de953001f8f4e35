"""Batches in the testing modes: the SQLite store's batch tables and logic
(:mod:`sidequest.stores.sql_batches`) on a private in-memory database, so fake and inline clients
fire callbacks exactly as a store does. Jobs and callbacks the logic would push are handed back to the
client (kept by the fake client, run at once by the inline client)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence

from sidequest.batch_records import BatchAdd, BatchInfo
from sidequest.job import NewJob
from sidequest.runtime.batch_outcomes import batch_outcomes
from sidequest.runtime.executor import Outcome
from sidequest.stores.sql_batches import SqlBatches
from sidequest.stores.sqlite.schema import MIGRATIONS


class MemoryBatches:
    """One testing client's batches, in memory. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        for statements in MIGRATIONS:
            for statement in statements:
                if "batch" in statement:
                    self._conn.execute(statement)
        self._pushed: list[NewJob] = []
        self._logic = SqlBatches("", "?", lock_rows=False, push=self._keep)

    def _keep(self, conn: object, jobs: Sequence[NewJob]) -> None:
        self._pushed.extend(jobs)

    def add(self, adds: Sequence[BatchAdd]) -> list[NewJob]:
        """Apply the additions; returns the jobs (and any callbacks) to write, in order."""
        with self._lock:
            self._pushed = []
            self._conn.execute("BEGIN")
            try:
                self._logic.add(self._conn, adds, time.time())
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            return list(self._pushed)

    def record(self, outcome: Outcome) -> list[NewJob]:
        """Record one performed job's outcome; returns the callback jobs it fired."""
        found = batch_outcomes([outcome])
        if not found:
            return []
        with self._lock:
            self._pushed = []
            self._conn.execute("BEGIN")
            self._logic.record(self._conn, found[0].bid, found, time.time())
            self._conn.execute("COMMIT")
            return list(self._pushed)

    def status(self, bid: str) -> BatchInfo | None:
        """What the testing client knows of batch ``bid``."""
        with self._lock:
            return self._logic.status(self._conn, bid, time.time())
