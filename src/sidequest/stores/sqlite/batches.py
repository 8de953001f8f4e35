"""The batch half of :class:`sidequest.stores.sqlite.SQLiteStore`: each contract method is one write
(or read) transaction around :class:`~sidequest.stores.sql_batches.SqlBatches`, which holds the
logic shared with PostgreSQL. A mixin relying on the store's ``_read``, ``_write`` and
``_wake_claimers``.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from sidequest.batch_records import BatchAdd, BatchInfo, BatchOutcome
from sidequest.job import NewJob
from sidequest.stores.sql_batches import SqlBatches
from sidequest.stores.sqlite import moves


def push_in(conn: Any, jobs: Sequence[NewJob]) -> None:
    """Insert jobs inside the caller's write transaction, as ``SQLiteStore.push`` does."""
    ready: dict[str, list[str]] = {}
    for job in jobs:
        raw = moves.encode(job.payload)
        if job.at is None:
            ready.setdefault(moves.queue_of(job.payload), []).append(raw)
        else:
            conn.execute(moves.INSERT_SCHEDULED, (moves.queue_of(job.payload), raw, float(job.at)))
    for queue, raws in ready.items():
        first = moves.back_position(conn, queue)
        conn.executemany(moves.INSERT_ENQUEUED, ((queue, raw, first + i) for i, raw in enumerate(raws)))
    moves.register_queues(conn, ready)


class SQLiteBatchMethods:
    """Batches in the SQLite store (see the Store contract's batches block)."""

    def _read(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # provided by SQLiteStore

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # provided by SQLiteStore

    def _wake_claimers(self) -> None:
        raise NotImplementedError  # provided by SQLiteStore

    @property
    def _batches(self) -> SqlBatches:
        return SqlBatches("", "?", lock_rows=False, push=push_in)

    def add_to_batches(self, adds: Sequence[BatchAdd], now: float) -> None:
        """Every addition, and the pushes, in one ``BEGIN IMMEDIATE`` transaction."""
        if not adds:
            return
        with self._write() as conn:
            self._batches.add(conn, adds, now)
        self._wake_claimers()

    def record_batch_outcomes(self, outcomes: Sequence[BatchOutcome], now: float) -> int:
        """Every outcome in one write transaction (the file's write lock orders racing recorders)."""
        if not outcomes:
            return 0
        by_batch: dict[str, list[BatchOutcome]] = defaultdict(list)
        for outcome in outcomes:
            by_batch[outcome.bid].append(outcome)
        with self._write() as conn:
            pushed = sum(self._batches.record(conn, bid, items, now) for bid, items in by_batch.items())
        if pushed:
            self._wake_claimers()
        return pushed

    def batch_status(self, bid: str, now: float) -> BatchInfo | None:
        """One read transaction."""
        with self._read() as conn:
            return self._batches.status(conn, bid, now)

    def list_batches(self, offset: int, limit: int, now: float) -> list[BatchInfo]:
        """One read transaction."""
        with self._read() as conn:
            return self._batches.page(conn, offset, limit, now)

    def delete_batch(self, bid: str) -> bool:
        """One write transaction."""
        with self._write() as conn:
            return self._batches.delete(conn, bid)
