"""The batch half of :class:`sidequest.stores.postgres.PostgresStore`: each contract method is one
read-committed transaction around :class:`~sidequest.stores.sql_batches.SqlBatches` (the logic shared
with SQLite), which locks a batch's row ``FOR UPDATE`` before it reads its members. Outcomes are
recorded one transaction per batch, so locks are only ever taken from a batch up to its ancestors.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from sidequest.batch_records import BatchAdd, BatchInfo, BatchOutcome
from sidequest.job import NewJob
from sidequest.stores.sql_batches import SqlBatches


class PostgresBatchMethods:
    """Batches in the PostgreSQL store (see the Store contract's batches block)."""

    s: str
    """The quoted schema name (set by PostgresStore)."""

    def _tx(self) -> AbstractContextManager[Any]:
        raise NotImplementedError  # provided by PostgresStore

    def _read(self) -> AbstractContextManager[Any]:
        raise NotImplementedError  # provided by PostgresStore

    def push_statement(self, jobs: Sequence[NewJob]) -> tuple[str, dict[str, Any], list[str]]:
        raise NotImplementedError  # provided by PostgresStore

    def _woke(self, queues: Sequence[str]) -> None:
        raise NotImplementedError  # provided by PostgresStore

    def _batch_logic(self, ready: set[str]) -> SqlBatches:
        def push(conn: Any, jobs: Sequence[NewJob]) -> None:
            sql, params, queues = self.push_statement(jobs)
            conn.execute(sql, params)
            ready.update(queues)

        return SqlBatches(f"{self.s}.", "%s", lock_rows=True, push=push)

    def add_to_batches(self, adds: Sequence[BatchAdd], now: float) -> None:
        """Every addition, and the pushes, in one transaction."""
        if not adds:
            return
        ready: set[str] = set()
        with self._tx() as conn:
            self._batch_logic(ready).add(conn, adds, now)
        self._woke(sorted(ready))

    def record_batch_outcomes(self, outcomes: Sequence[BatchOutcome], now: float) -> int:
        """One transaction per batch, in bid order."""
        by_batch: dict[str, list[BatchOutcome]] = defaultdict(list)
        for outcome in outcomes:
            by_batch[outcome.bid].append(outcome)
        pushed = 0
        ready: set[str] = set()
        for bid in sorted(by_batch):
            with self._tx() as conn:
                pushed += self._batch_logic(ready).record(conn, bid, by_batch[bid], now)
        self._woke(sorted(ready))
        return pushed

    def batch_status(self, bid: str, now: float) -> BatchInfo | None:
        """One read-only snapshot."""
        with self._read() as conn:
            return self._batch_logic(set()).status(conn, bid, now)

    def list_batches(self, offset: int, limit: int, now: float) -> list[BatchInfo]:
        """One read-only snapshot."""
        with self._read() as conn:
            return self._batch_logic(set()).page(conn, offset, limit, now)

    def delete_batch(self, bid: str) -> bool:
        """One transaction."""
        with self._tx() as conn:
            return self._batch_logic(set()).delete(conn, bid)
