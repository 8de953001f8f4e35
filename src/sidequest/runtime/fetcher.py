"""The fetcher: claims as many jobs as there are free processors, in one batch, and hands them out.

Prefetch equals free slots, so a claimed job never waits behind a slow one in this process while
another process sits idle; a claim that would wait for work blocks in the store, not in a loop here.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable

from sidequest.errors import PermanentStoreError, StoreError
from sidequest.job import Claimed
from sidequest.runtime.queues import QueueOrder
from sidequest.runtime.tracker import Tracker
from sidequest.stores.base import Store

log = logging.getLogger("sidequest")


class Fetcher:
    """A thread that claims work while the process is not quiet."""

    name = "fetcher"

    def __init__(
        self,
        store: Store,
        tracker: Tracker,
        order: QueueOrder,
        owner: str,
        dispatch: Callable[[Claimed], None],
        requeue: Callable[[list[Claimed]], None],
        batch: int,
        timeout: float,
        on_fatal: Callable[[PermanentStoreError], None] | None = None,
    ) -> None:
        self.store = store
        self.tracker = tracker
        self.order = order
        self.owner = owner
        self.dispatch = dispatch
        self.requeue = requeue
        self.batch = batch
        self.timeout = timeout
        self.on_fatal = on_fatal
        self.quiet = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sidequest-fetcher", daemon=True)
        self._outage_since: float | None = None
        self._claim_uncertain = False

    def start(self) -> None:
        """Start fetching."""
        self._thread.start()

    def stop(self, timeout: float) -> None:
        """Stop fetching (quiet) and wait up to ``timeout`` for the current claim to return. A claim
        still in flight then gives its jobs back itself when it returns (it sees the quiet flag)."""
        self.quiet.set()
        if timeout > 0 and self._thread.is_alive():
            self._thread.join(timeout)

    def dead_threads(self) -> list[str]:
        """The fetcher thread's name if it ended while the process was not quiet (a defect)."""
        if self.quiet.is_set() or self._thread.ident is None or self._thread.is_alive():
            return []
        return [self._thread.name]

    def run_once(self) -> int:
        """Claim one batch for the free slots and dispatch it; returns how many jobs were claimed."""
        if self._claim_uncertain:
            self.reconcile()
        free = self.tracker.wait_for_free_slots(timeout=0.5)
        if free <= 0 or self.quiet.is_set():
            return 0
        try:
            jobs = self.store.claim(self.order.next(), min(free, self.batch), self.owner, self.timeout)
        except StoreError:
            # The claim may have run in the store with only its reply lost: those jobs now sit under
            # our own live lease, where no rescuer looks. Reconcile once the store answers again.
            self._claim_uncertain = True
            raise
        if not jobs:
            return 0
        self.tracker.hold(jobs)
        if self.quiet.is_set():
            # Quieted while the claim was in flight: these must not start; give them back now.
            self.requeue(jobs)
            return len(jobs)
        for job in jobs:
            self.dispatch(job)
        return len(jobs)

    def reconcile(self) -> int:
        """Requeue jobs the store says we hold but this process never received; returns how many."""
        known = Counter(job.raw for job in self.tracker.held())
        unknown: list[Claimed] = []
        for job in self.store.owned(self.owner):
            if known[job.raw] > 0:
                known[job.raw] -= 1
            else:
                unknown.append(job)
        self._claim_uncertain = False
        if unknown:
            moved = self.store.requeue(self.owner, unknown)
            log.warning("requeued %d jobs claimed by a request whose reply was lost", moved)
        return len(unknown)

    def _loop(self) -> None:
        backoff = 0.1
        while not self.quiet.is_set():
            try:
                self.run_once()
            except PermanentStoreError as exc:
                self.quiet.set()
                if self.on_fatal is not None:
                    self.on_fatal(exc)
                return
            except StoreError as exc:
                if self._outage_since is None:
                    self._outage_since = time.monotonic()
                    log.error("cannot fetch jobs, the store is unreachable (%s); retrying with backoff", exc)
                self.quiet.wait(backoff * (0.5 + random.random()))
                backoff = min(backoff * 2, 5.0)
                continue
            except Exception:
                log.exception("fetch failed unexpectedly; retrying in 1 s")
                self.quiet.wait(1.0)
                continue
            if self._outage_since is not None:
                log.warning(
                    "fetching again: the store came back after %.1f s", time.monotonic() - self._outage_since
                )
                self._outage_since = None
            backoff = 0.1
