"""The acker: records outcomes in the store, acks in batches, and never drops one.

An outcome the store could not record (the store is down) is kept and retried with backoff until the
store answers; until then the job stays claimed under this process's lease, so if the process dies
meanwhile the job is rescued and runs again. It is worse to lose a job than to run it twice.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time

from sidequest.errors import StoreError
from sidequest.runtime.executor import Outcome
from sidequest.runtime.tracker import Tracker
from sidequest.runtime.unique_locks import release_finished
from sidequest.stores.base import Store

log = logging.getLogger("sidequest")

MAX_BATCH = 1000


class Acker:
    """A thread that applies outcomes to the store: ``ack`` in batches, ``retry``/``kill`` one by one."""

    def __init__(self, store: Store, tracker: Tracker, owner: str) -> None:
        self.store = store
        self.tracker = tracker
        self.owner = owner
        self._outcomes: queue.SimpleQueue[Outcome | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="sidequest-acker", daemon=True)
        self._pending: list[Outcome] = []
        self._outage_since: float | None = None

    def start(self) -> None:
        """Start the acker thread."""
        self._thread.start()

    def submit(self, outcome: Outcome) -> None:
        """Queue an outcome to record."""
        self._outcomes.put(outcome)

    def stop(self, timeout: float) -> bool:
        """Record every queued outcome (trying until ``timeout``), then stop. True if all were recorded."""
        self._outcomes.put(None)
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _loop(self) -> None:
        stopping = False
        backoff = 0.05
        while True:
            if not self._pending and not stopping:
                item = self._outcomes.get()
                if item is None:
                    stopping = True
                else:
                    self._pending.append(item)
            while len(self._pending) < MAX_BATCH:
                try:
                    item = self._outcomes.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                else:
                    self._pending.append(item)
            if not self._pending:
                if stopping:
                    return
                continue
            try:
                self.record(self._pending)
            except StoreError as exc:
                self._note_outage(exc)
                time.sleep(backoff * (0.5 + random.random()))
                backoff = min(backoff * 2, 5.0)
                continue
            if self._outage_since is not None:
                log.warning(
                    "store is back after %.1f s; recorded the pending outcomes",
                    time.monotonic() - self._outage_since,
                )
                self._outage_since = None
            backoff = 0.05
            self._pending = []

    def record(self, outcomes: list[Outcome]) -> None:
        """Apply ``outcomes``; on a StoreError, the ones not yet recorded stay at the front of the list."""
        acks = [outcome.claimed for outcome in outcomes if outcome.action == "ack"]
        others = [outcome for outcome in outcomes if outcome.action != "ack"]
        if acks:
            self.store.ack(self.owner, acks)
            # Unique locks go only once the ack is recorded. Freed first, a crash before the ack would
            # leave the job to be rescued and run again with no lock keeping its duplicates out; freed
            # after, a crash in between only leaves the lock to expire.
            release_finished(self.store, [outcome for outcome in outcomes if outcome.action == "ack"])
            self.tracker.settle(acks)
            outcomes[:] = others
        while others:
            outcome = others[0]
            if outcome.action == "retry" and outcome.payload is not None and outcome.at is not None:
                self.store.retry(self.owner, outcome.claimed, outcome.payload, outcome.at)
            else:
                self.store.kill(self.owner, outcome.claimed, outcome.payload, outcome.at or time.time())
            release_finished(self.store, [outcome])  # a dead job's lock goes; a retried one keeps it
            self.tracker.settle([outcome.claimed])
            others.pop(0)
            outcomes[:] = others

    def _note_outage(self, exc: StoreError) -> None:
        if self._outage_since is None:
            self._outage_since = time.monotonic()
            log.error("cannot record job outcomes, the store is unreachable (%s); retrying with backoff", exc)
