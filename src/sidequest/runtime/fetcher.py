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

from sidequest.errors import PermanentStoreError, StoreDataError, StoreError
from sidequest.job import Claimed
from sidequest.runtime.job_stats import JobStats
from sidequest.runtime.queues import QueueOrder
from sidequest.runtime.tracker import Tracker
from sidequest.stores.base import Store

log = logging.getLogger("sidequest")

BAD_QUEUE_RETRY = 30.0
"""Seconds a queue whose key the store refused (:class:`StoreDataError`) is left out of claims."""


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
        self._bad_queues: dict[str, float] = {}
        self.stats: JobStats | None = None
        """Cumulative counts for ``--metrics-port``; None (the default) costs nothing."""

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
        queues = self._usable(self.order.next(), time.monotonic())
        if not queues:
            self.quiet.wait(1.0)  # every queue's key is unusable for now; _usable retries them later
            return 0
        started = time.monotonic() if self.stats is not None else 0.0
        try:
            jobs = self.store.claim(queues, min(free, self.batch), self.owner, self.timeout)
        except StoreDataError as exc:
            # One queue's key holds something else (set by another application): claim from the
            # others, one by one, so that queue alone waits. The failed claim changed nothing.
            jobs = self._claim_around(queues, min(free, self.batch), exc)
        except StoreError:
            # The claim may have run in the store with only its reply lost: those jobs now sit under
            # our own live lease, where no rescuer looks. Reconcile once the store answers again.
            self._claim_uncertain = True
            raise
        if not jobs:
            return 0
        if self.stats is not None:
            self.stats.fetched(time.monotonic() - started)
        self.tracker.hold(jobs)
        if self.quiet.is_set():
            # Quieted while the claim was in flight: these must not start; give them back now.
            self.requeue(jobs)
            return len(jobs)
        for job in jobs:
            self.dispatch(job)
        return len(jobs)

    def _usable(self, queues: list[str], now: float) -> list[str]:
        """``queues`` without those whose key was refused less than :data:`BAD_QUEUE_RETRY` s ago."""
        for name, until in list(self._bad_queues.items()):
            if until <= now:
                del self._bad_queues[name]
        return [name for name in queues if name not in self._bad_queues]

    def _claim_around(self, queues: list[str], limit: int, first: StoreDataError) -> list[Claimed]:
        """Claim from each queue on its own (without waiting), setting aside those the store refuses."""
        if len(queues) == 1:
            self._set_aside(queues[0], first)
            return []
        jobs: list[Claimed] = []
        for name in queues:
            if len(jobs) >= limit:
                break
            try:
                jobs.extend(self.store.claim([name], limit - len(jobs), self.owner, 0.0))
            except StoreDataError as exc:
                self._set_aside(name, exc)
        return jobs

    def _set_aside(self, name: str, exc: StoreDataError) -> None:
        self._bad_queues[name] = time.monotonic() + BAD_QUEUE_RETRY
        log.error(
            "queue %s cannot be fetched from (%s); the other queues go on, this one is tried again "
            "every %.0f s",
            name,
            exc,
            BAD_QUEUE_RETRY,
        )

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
