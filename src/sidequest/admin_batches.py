"""What people may read and do to a store's batches: the CLI's ``sidequest batches`` and the
dashboard's ``/batches`` pages use this (never the store primitives directly)."""

from __future__ import annotations

import time

from sidequest.batch import BatchStatus
from sidequest.stores.base import Store

MAX_PAGE = 500


class BatchAdmin:
    """Batches of one store, for people."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def page(self, offset: int = 0, limit: int = 25) -> list[BatchStatus]:
        """A page of batches, newest first (``failed_jids`` left empty: read one batch for them)."""
        limit = max(0, min(limit, MAX_PAGE))
        return [
            BatchStatus.from_info(info)
            for info in self.store.list_batches(max(0, offset), limit, time.time())
        ]

    def get(self, bid: str) -> BatchStatus | None:
        """One batch with its failed jids; None when unknown, lingered out or expired."""
        info = self.store.batch_status(bid, time.time())
        return None if info is None else BatchStatus.from_info(info)

    def delete(self, bid: str) -> bool:
        """Forget a batch (its jobs stay and run as plain jobs). False when there was none."""
        return self.store.delete_batch(bid)


def state_of(status: BatchStatus) -> str:
    """A one-word state for people: ``success``, ``complete`` (with failures), ``dead`` (a job
    died, not complete yet) or ``pending``."""
    if status.succeeded:
        return "success"
    if "complete" in status.fired:
        return "complete"
    if "death" in status.fired:
        return "dead"
    return "pending"
