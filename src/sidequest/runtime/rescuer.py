"""The rescuer: jobs held by a process whose heartbeat stopped go back to their queues.

This is what makes kill -9, OOM and power loss lose nothing: a claim is a lease, and a lease not
renewed within its TTL is taken back by any live process. A job that keeps killing the process that
runs it (a poison pill) is sent to the dead set after ``max_orphaned`` rescues instead of crashing
every process in turn.
"""

from __future__ import annotations

import logging

from sidequest.errors import StoreError
from sidequest.stores.base import RescueResult, Store

log = logging.getLogger("sidequest")


class Rescuer:
    """Runs the store's orphan rescue."""

    name = "rescuer"

    def __init__(self, store: Store, max_orphaned: int, identity: str | None = None) -> None:
        self.store = store
        self.max_orphaned = max_orphaned
        self.identity = identity

    def run_once(self, now: float) -> RescueResult:
        """Rescue orphans of expired leases as of ``now``."""
        try:
            result = self.store.rescue_orphans(now, self.max_orphaned, exclude=self.identity)
        except StoreError as exc:
            log.error("rescuer cannot reach the store (%s); will retry", exc)
            return RescueResult()
        if result.requeued or result.killed:
            log.warning(
                "rescued jobs of dead processes: %d back in their queues, %d to the dead set (poison pills)",
                result.requeued,
                result.killed,
            )
        return result
