"""The acker: records outcomes in the store, acks in batches, and never drops one.

Each outcome is recorded on its own terms, so one bad outcome never blocks the others:

* the store is down (:class:`StoreError`): every outcome is kept and retried with backoff until the
  store answers; until then the jobs stay claimed under this process's lease, so if the process dies
  meanwhile they are rescued and run again. It is worse to lose a job than to run it twice;
* one key is of the wrong type (:class:`StoreDataError`): that outcome is parked, logged loudly with
  the key, and tried again on its own every :data:`PARK_RETRY` seconds while the others go on; the
  job stays held under the lease (and is requeued at shutdown like any held job);
* the payload cannot be encoded (a lone surrogate, nesting deeper than orjson writes): it is recorded
  with its strings escaped, and if even that fails the job goes to the dead set as its raw text;
* the store's configuration is wrong (:class:`PermanentStoreError`): the process is told to stop.

A batch that fails for any reason but an outage is recorded again one outcome at a time, so the
thread itself never dies of one outcome.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import queue
import random
import threading
import time
from collections.abc import Callable

from sidequest.batch_records import BatchOutcome
from sidequest.errors import PermanentStoreError, StoreDataError, StoreError
from sidequest.job import Claimed, display_class
from sidequest.runtime.batch_outcomes import batch_outcomes
from sidequest.runtime.encodable import escaped
from sidequest.runtime.executor import Outcome
from sidequest.runtime.job_stats import JobStats
from sidequest.runtime.special_outcomes import record_special
from sidequest.runtime.tracker import Tracker
from sidequest.runtime.unique_locks import release_finished
from sidequest.stores.base import Store

log = logging.getLogger("sidequest")

MAX_BATCH = 1000
PARK_RETRY = 30.0
"""Seconds between attempts at an outcome the store refused because of one key's data."""

FatalHandler = Callable[[PermanentStoreError], None]


@dataclasses.dataclass(slots=True)
class _Parked:
    outcome: Outcome
    due: float
    attempts: int


class Acker:
    """A thread that applies outcomes to the store: ``ack`` in batches, ``retry``/``kill`` one by one."""

    def __init__(
        self, store: Store, tracker: Tracker, owner: str, on_fatal: FatalHandler | None = None
    ) -> None:
        self.store = store
        self.tracker = tracker
        self.owner = owner
        self.on_fatal = on_fatal
        self._outcomes: queue.SimpleQueue[Outcome | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="sidequest-acker", daemon=True)
        self._pending: list[Outcome] = []
        self._parked: dict[int, _Parked] = {}
        self._outage_since: float | None = None
        self._finished = threading.Event()
        self.stats: JobStats | None = None
        """Cumulative counts for ``--metrics-port``; None (the default) costs nothing."""

    def start(self) -> None:
        """Start the acker thread."""
        self._thread.start()

    def submit(self, outcome: Outcome) -> None:
        """Queue an outcome to record."""
        self._outcomes.put(outcome)

    def stop(self, timeout: float) -> bool:
        """Record every queued outcome (trying until ``timeout``), then stop. True if all were recorded.

        Parked outcomes are not waited for: their jobs are still held, and the launcher requeues them."""
        self._finished.set()
        self._outcomes.put(None)
        self._thread.join(max(0.0, timeout))
        return not self._thread.is_alive()

    def parked(self) -> int:
        """How many outcomes wait for the store to accept one key's data."""
        return len(self._parked)

    def parked_jobs(self) -> set[int]:
        """``id()`` of each job whose outcome is parked (it stays held until recorded or requeued)."""
        return {id(parked.outcome.claimed) for parked in list(self._parked.values())}

    def dead_threads(self) -> list[str]:
        """The thread's name if it ended without being asked to stop (a defect)."""
        if self._finished.is_set() or self._thread.ident is None or self._thread.is_alive():
            return []
        return [self._thread.name]

    # -- the thread ----------------------------------------------------------------------------------

    def _loop(self) -> None:
        stopping = False
        backoff = 0.05
        while True:
            if not self._pending and not stopping:
                item = self._next(self._wait_time())
                if item is None:
                    stopping = True
                elif isinstance(item, Outcome):
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
            if not stopping:
                self._unpark_due(time.monotonic())
            if not self._pending:
                if stopping:
                    return
                continue
            try:
                self._record_pending()
            except PermanentStoreError as exc:
                self._finished.set()
                if self.on_fatal is not None:
                    self.on_fatal(exc)
                return
            except StoreError as exc:  # an outage: keep everything, try again
                self._note_outage(exc)
                time.sleep(backoff * (0.5 + random.random()))
                backoff = min(backoff * 2, 5.0)
                continue
            except Exception:  # a defect in the acker itself: keep the outcomes and go on
                log.exception("recording outcomes failed unexpectedly; trying again in 1 s")
                time.sleep(1.0)
                continue
            if self._outage_since is not None:
                log.warning(
                    "store is back after %.1f s; recorded the pending outcomes",
                    time.monotonic() - self._outage_since,
                )
                self._outage_since = None
            backoff = 0.05

    def _next(self, timeout: float | None) -> Outcome | bool | None:
        """The next queued item; False when ``timeout`` passed with none (a parked outcome is due)."""
        try:
            return self._outcomes.get(timeout=timeout)
        except queue.Empty:
            return False

    def _wait_time(self) -> float | None:
        dues = [parked.due for parked in self._parked.values() if parked.due != math.inf]
        return max(0.0, min(dues) - time.monotonic()) if dues else None

    def _unpark_due(self, now: float) -> None:
        for parked in self._parked.values():
            if parked.due <= now:
                parked.due = math.inf  # pending again; _park sets a new time if it fails again
                self._pending.append(parked.outcome)

    def _record_pending(self) -> None:
        """Record ``_pending`` in one batch; on anything but an outage, one outcome at a time."""
        try:
            self.record(self._pending)
        except PermanentStoreError:
            raise
        except StoreDataError:
            self._record_each()
        except StoreError:
            raise
        except Exception:
            self._record_each()

    def _record_each(self) -> None:
        while self._pending:
            outcome = self._pending[0]
            try:
                self.record([outcome])
            except PermanentStoreError:
                raise
            except StoreDataError as exc:
                self._park(outcome, exc)
            except StoreError:
                raise  # an outage: this outcome and the rest stay pending
            except Exception as exc:
                self._record_unencodable(outcome, exc)
            self._pending.pop(0)

    def _record_unencodable(self, outcome: Outcome, exc: Exception) -> None:
        """Record an outcome the store could not encode: escaped, else the raw text to the dead set."""
        jid = outcome.claimed.jid
        if outcome.payload is not None and outcome.action != "ack":
            safe = escaped(outcome.payload)
            if safe is not None:
                try:
                    self.record([dataclasses.replace(outcome, payload=safe)])
                except StoreError:
                    raise
                except Exception as again:
                    exc = again
                else:
                    log.warning(
                        "job %s: its failure could not be written as it was (%s: %s); recorded it with "
                        "its text escaped",
                        jid,
                        type(exc).__name__,
                        exc,
                    )
                    return
        log.error(
            "job %s: its outcome cannot be written as JSON (%s: %s), not even escaped; moved to the dead "
            "set as its original text",
            jid,
            type(exc).__name__,
            exc,
        )
        try:
            self.record([Outcome(outcome.claimed, "kill", None, time.time(), failed=True)])
        except StoreError:
            raise
        except Exception as last:
            log.exception("job %s: cannot even be moved to the dead set; it stays held", jid)
            self._park(outcome, last)

    def _park(self, outcome: Outcome, exc: Exception) -> None:
        key = id(outcome.claimed)
        parked = self._parked.get(key)
        attempts = parked.attempts + 1 if parked is not None else 1
        self._parked[key] = _Parked(outcome, time.monotonic() + PARK_RETRY, attempts)
        if attempts == 1:
            log.error(
                "cannot record the outcome of job %s (%s); the other jobs go on, this one stays held by "
                "this process and is tried again every %.0f s",
                outcome.claimed.jid,
                exc,
                PARK_RETRY,
            )
        else:
            log.warning(
                "job %s: still cannot record its outcome (%s), attempt %d", outcome.claimed.jid, exc, attempts
            )

    def record(self, outcomes: list[Outcome]) -> None:
        """Apply ``outcomes``; on an error, the ones not yet recorded stay at the front of the list."""
        batched = batch_outcomes(outcomes)
        if batched:  # before the jobs leave: a crash in between re-runs them, never loses a transition
            self._record_batches(batched)
        finished: list[Outcome] = []
        others: list[Outcome] = []
        for outcome in outcomes:
            (finished if outcome.action == "ack" else others).append(outcome)
        if finished:
            acks = [outcome.claimed for outcome in finished]
            started = time.monotonic() if self.stats is not None else 0.0
            acked = self.store.ack(self.owner, acks)
            if self.stats is not None:
                self.stats.acked(time.monotonic() - started)
            # Unique locks go only once the ack is recorded. Freed first, a crash before the ack would
            # leave the job to be rescued and run again with no lock keeping its duplicates out; freed
            # after, a crash in between only leaves the lock to expire. And only what the store
            # confirmed: a job the store refused was rescued from this process (its lease lapsed) and
            # runs again elsewhere, still under its lock. The store says how many, not which, so a
            # short count frees none of the batch's locks: they expire on their own.
            if acked == len(acks):
                release_finished(self.store, finished)
            else:
                log.warning(
                    "the store recorded %d of %d finished jobs: the others were rescued from this process "
                    "(its lease lapsed) and run elsewhere; their unique locks are kept",
                    acked,
                    len(acks),
                )
            self._settle(acks)
            outcomes[:] = others
        while others:
            outcome = others[0]
            if outcome.action == "retry" and outcome.payload is not None and outcome.at is not None:
                recorded = self.store.retry(self.owner, outcome.claimed, outcome.payload, outcome.at)
            elif outcome.action in ("requeue", "expire"):
                recorded = record_special(self.store, self.owner, outcome)
            else:
                recorded = self.store.kill(
                    self.owner, outcome.claimed, outcome.payload, outcome.at or time.time()
                )
            if recorded and outcome.action != "requeue":  # a dead job's lock goes; a retried one keeps
                release_finished(self.store, [outcome])  # it; a refused one is not ours
            if recorded and self.stats is not None and outcome.action in ("retry", "kill"):
                self._count(self.stats, outcome)
            self._settle([outcome.claimed])
            others.pop(0)
            outcomes[:] = others

    def _record_batches(self, batched: list[BatchOutcome]) -> None:
        """Tell the store about the batch jobs among the outcomes. An outage raises (everything is
        tried again); any other failure is logged and the jobs are recorded all the same: a batch
        that does not count them is better than jobs sent to the dead set for their batch's sake."""
        try:
            self.store.record_batch_outcomes(batched, time.time())
        except StoreError:
            raise
        except Exception:
            log.exception(
                "recording %d batch outcome(s) failed; their batches (%s) will not count these runs",
                len(batched),
                ", ".join(sorted({item.bid for item in batched})[:5]),
            )

    @staticmethod
    def _count(stats: JobStats, outcome: Outcome) -> None:
        job = outcome.claimed
        name = display_class(job.payload) if job.payload is not None else "(malformed)"
        if outcome.action == "retry":
            stats.retried(name, job.queue)
        else:
            stats.died(name, job.queue)

    def _settle(self, jobs: list[Claimed]) -> None:
        if self._parked:
            for job in jobs:
                self._parked.pop(id(job), None)
        self.tracker.settle(jobs)

    def _note_outage(self, exc: StoreError) -> None:
        if self._outage_since is None:
            self._outage_since = time.monotonic()
            log.error("cannot record job outcomes, the store is unreachable (%s); retrying with backoff", exc)
