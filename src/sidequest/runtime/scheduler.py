"""The scheduler: scheduled and retry jobs whose time has come go to their queues.

Runs in every process with no coordination: the store moves each job atomically, so two processes
promoting at once move each job exactly once. It polls about twice a second, so a job due at T starts
by T + 1 s when a processor is free.
"""

from __future__ import annotations

import logging

from sidequest.errors import PermanentStoreError, StoreDataError, StoreError
from sidequest.stores.base import Store

log = logging.getLogger("sidequest")

PROMOTE_BATCH = 1000


class Scheduler:
    """Promotes due jobs; ``run_once`` keeps going while full batches come back."""

    name = "scheduler"

    def __init__(self, store: Store) -> None:
        self.store = store
        self._down = False

    def run_once(self, now: float) -> int:
        """Promote every job due at ``now``; returns how many moved (0 when the store is down)."""
        total = 0
        try:
            while True:
                moved = self.store.promote_due(now, PROMOTE_BATCH)
                total += moved
                if moved < PROMOTE_BATCH:
                    break
        except PermanentStoreError:
            raise  # a configuration error ends the process (the ServiceLoop reports it)
        except StoreError as exc:
            if not self._down:
                # StoreDataError: one key of the wrong type, not an outage; its message names the key.
                what = (
                    "is refused by the store" if isinstance(exc, StoreDataError) else "cannot reach the store"
                )
                log.error("scheduler %s (%s); will retry", what, exc)
            self._down = True
            return total
        self._down = False
        return total
