"""What one process holds and does right now: its claims, its running jobs, its free slots, its counts.

Shared by the fetcher, the processors, the acker and the heartbeat; every method is thread-safe.

Per-class metrics (Sidekiq 7's: runs, failures, the time of successful runs and its histogram) are
counted here per (class, UTC minute) as each job finishes, and handed to the heartbeat with the
processed/failed counts; a beat that fails gives both back, so nothing is lost or counted twice.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from sidequest.job import (
    METRIC_BUCKETS_MS,
    Claimed,
    ClassMetrics,
    WorkInfo,
    display_class,
    metric_bucket,
)
from sidequest.runtime.interrupt import InterruptibleSpan
from sidequest.runtime.job_stats import JobStats

PREFETCH_BELOW = 0.005
"""Seconds: jobs that typically run shorter than this get a prefetch buffer."""

AUTO_PREFETCH_WORK = 0.01
"""Seconds of work the automatic prefetch buffer holds: what the processors finish in that time."""

AUTO_PREFETCH_MAX = 400
"""Jobs at most in the automatic prefetch buffer."""


@dataclass(slots=True)
class Running:
    """A job a processor is performing right now."""

    claimed: Claimed
    thread_id: str
    started: float
    over_limit_logged: bool = False
    span: InterruptibleSpan | None = None
    """Where the time-limit monitor interrupts a thread job (None: an async or child-process job)."""
    started_monotonic: float = field(default_factory=time.monotonic)
    stopped_at: float | None = None
    """Monotonic time the monitor interrupted the job at its time limit."""
    abandoned: bool = False


class Tracker:
    """Claims held, jobs running, free capacity and processed/failed counters of one process."""

    def __init__(
        self, identity: str, concurrency: int, prefetch: int = 0, auto_prefetch: bool = False
    ) -> None:
        self.identity = identity
        self.concurrency = concurrency
        self.prefetch = prefetch
        self.auto_prefetch = auto_prefetch
        """Grow the buffer from ``prefetch`` to :data:`AUTO_PREFETCH_WORK` of work (the default)."""
        self._typical_run = 0.0
        self._finish_gap = 1.0
        self._last_finish = time.monotonic()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._held: dict[int, Claimed] = {}
        self._holds = 0
        self._running: dict[int, Running] = {}
        self._slotted: set[int] = set()
        self._processed = 0
        self._failed = 0
        self._total = 0
        self._abandoned: set[int] = set()
        # (class, minute) -> [processed, failed, ms, bucket 0, ..., bucket 25]: plain lists, as this
        # runs for every job (a dataclass per job would cost more than a short job does).
        self._metrics: dict[tuple[str, int], list[float]] = {}
        self.stats: JobStats | None = None
        """Cumulative counts for ``--metrics-port``; None (the default) costs nothing per job."""

    # -- capacity: a slot is taken when a job is claimed, freed when its perform returns ---------

    def wait_for_free_slots(self, timeout: float) -> int:
        """Block until at least one slot is free (or ``timeout``); return how many are free."""
        with self._changed:
            self._changed.wait_for(self._room_to_claim, timeout)
            return self._capacity() - len(self._slotted)

    def _room_to_claim(self) -> bool:
        # With a prefetch buffer, claim in batches: wait until half the buffer is free, unless the
        # buffer is nearly empty and processors are about to idle.
        capacity = self._capacity()
        free = capacity - len(self._slotted)
        if free <= 0:
            return False
        waiting = len(self._slotted) - len(self._running)
        return waiting <= self.concurrency // 4 or free >= (capacity - self.concurrency) // 2

    def _capacity(self) -> int:
        # Prefetch only while jobs are short: a claim's round trip then costs more than a job, and
        # processors would idle between claims. Long jobs get none, so no job waits here behind
        # them while another process could run it. The automatic buffer holds what the processors
        # finish in AUTO_PREFETCH_WORK (at least ``prefetch``): a drain of no-op jobs claims ~50 at a
        # time instead of ~10, a fifth of the claims (measured: 1.5x the drain on PostgreSQL).
        if self._typical_run >= PREFETCH_BELOW:
            return self.concurrency
        if not self.auto_prefetch or self.prefetch <= 0:
            return self.concurrency + self.prefetch
        wanted = int(AUTO_PREFETCH_WORK / self._finish_gap) if self._finish_gap > 0 else AUTO_PREFETCH_MAX
        return self.concurrency + min(AUTO_PREFETCH_MAX, max(self.prefetch, wanted))

    @property
    def max_capacity(self) -> int:
        """The most jobs this process ever holds at once (the largest claim it needs)."""
        return self.concurrency + (
            max(self.prefetch, AUTO_PREFETCH_MAX) if self.auto_prefetch else self.prefetch
        )

    def hold(self, jobs: list[Claimed]) -> None:
        """Record freshly claimed jobs; each takes a slot until :meth:`finish_running`."""
        with self._lock:
            self._holds += len(jobs)
            for job in jobs:
                self._held[id(job)] = job
                self._slotted.add(id(job))

    def start_running(self, job: Claimed, thread_id: str, span: InterruptibleSpan | None = None) -> None:
        """A processor started performing ``job`` (``span``: where a thread job may be interrupted)."""
        run = Running(job, thread_id, time.time(), False, span, time.monotonic())
        with self._lock:
            self._running[id(job)] = run

    def finish_running(self, job: Claimed, failed: bool, ran: float | None = None) -> bool:
        """``job``'s perform returned or raised: free its slot and count it (the store is not told yet).
        ``ran``: the seconds perform took where it ran, when that was not this process's thread (a
        process pool's child): the job's time, for the prefetch decision and the metrics, rather than
        the thread's, which includes its wait for a free child.

        False when the job was :meth:`abandon`-ed meanwhile: its outcome is recorded already, and the
        caller (a thread that was stuck past the job's time limit) must drop its own and retire."""
        key = id(job)
        with self._changed:
            if self._abandoned and key in self._abandoned:
                self._abandoned.discard(key)
                return False
            run = self._running.pop(key, None)
            if run is not None:
                finished = time.monotonic()
                took = finished - run.started_monotonic if ran is None else ran
                self._finish_gap += (finished - self._last_finish - self._finish_gap) * 0.05
                self._last_finish = finished
                self._typical_run += (took - self._typical_run) * 0.05  # moving average over ~20 jobs
                self._count_class(job, failed, took * 1000, run.started + took)
            self._slotted.discard(key)
            self._count(failed)
            # Wake the waiters (the fetcher, a shutdown) only when what they wait for may now hold: a
            # fetcher woken by every finished job would take the GIL from the processors for nothing.
            if not self._running or self._room_to_claim():
                self._changed.notify_all()
        return True

    def abandon(self, job: Claimed) -> bool:
        """Give up on a job whose thread is stuck past its time limit: free its slot and count it as
        failed now; the thread's own finish comes later and is dropped. False if it finished already."""
        with self._changed:
            if self._running.pop(id(job), None) is None:
                return False
            self._abandoned.add(id(job))
            self._slotted.discard(id(job))
            self._count(failed=True)
            self._count_class(job, True, 0.0, time.time())
            self._changed.notify_all()
        return True

    def _count(self, failed: bool) -> None:
        self._processed += 1
        self._total += 1
        if failed:
            self._failed += 1

    def _count_class(self, job: Claimed, failed: bool, ms: float, now: float) -> None:
        if job.payload is None:
            return  # a malformed payload names no class to count it under
        key = (display_class(job.payload), int(now // 60) * 60)  # metric_minute, inlined (every job)
        if self.stats is not None:
            self.stats.finished(key[0], job.queue, failed, ms / 1000)
        counters = self._metrics.get(key)
        if counters is None:
            counters = self._metrics[key] = [0.0] * (3 + len(METRIC_BUCKETS_MS))
        counters[0] += 1
        if failed:
            counters[1] += 1  # Sidekiq times successful runs only: a failure's time says little
        else:
            counters[2] += ms
            counters[3 + metric_bucket(ms)] += 1

    @property
    def total_held(self) -> int:
        """Jobs claimed by this process since it started: a change between two looks means a job came
        and maybe went in between (and may have pushed others)."""
        with self._lock:
            return self._holds

    @property
    def total_processed(self) -> int:
        """Jobs performed since the process started (``--max-jobs`` counts these)."""
        with self._lock:
            return self._total

    def release_slot(self, job: Claimed) -> None:
        """Free a slot taken by a job that will not be performed here (requeued at shutdown)."""
        with self._changed:
            self._running.pop(id(job), None)
            self._slotted.discard(id(job))
            self._changed.notify_all()

    def settle(self, jobs: list[Claimed]) -> None:
        """The store recorded the outcome of ``jobs`` (acked, retried, killed or requeued)."""
        with self._changed:
            for job in jobs:
                self._held.pop(id(job), None)
            self._changed.notify_all()

    # -- views -----------------------------------------------------------------------------------

    def held(self) -> list[Claimed]:
        """Jobs claimed by this process whose outcome the store has not recorded yet."""
        with self._lock:
            return list(self._held.values())

    def running(self) -> list[Running]:
        """Jobs being performed right now."""
        with self._lock:
            return list(self._running.values())

    def busy(self) -> list[WorkInfo]:
        """Running jobs as the heartbeat publishes them."""
        with self._lock:
            return [
                WorkInfo(
                    identity=self.identity,
                    thread_id=run.thread_id,
                    queue=run.claimed.queue,
                    payload=run.claimed.payload,
                    raw=run.claimed.raw,
                    run_at=run.started,
                )
                for run in self._running.values()
            ]

    def idle(self) -> bool:
        """True when nothing is held, running or waiting for the store."""
        with self._lock:
            return not self._held and not self._running and not self._slotted

    def wait_until_nothing_runs(self, timeout: float) -> bool:
        """Wait up to ``timeout`` until no job is running; True if none is."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._running, timeout)

    # -- counters flushed by the heartbeat ---------------------------------------------------------

    def take_counts(self) -> tuple[int, int]:
        """Processed and failed since the last call; the caller gives them back if its beat fails."""
        with self._lock:
            counts = (self._processed, self._failed)
            self._processed = self._failed = 0
            return counts

    def give_back_counts(self, processed: int, failed: int) -> None:
        """Return counts a failed beat could not flush, so the next beat adds them."""
        with self._lock:
            self._processed += processed
            self._failed += failed

    def take_metrics(self) -> list[ClassMetrics]:
        """Per-class, per-minute counts since the last call; the caller gives them back if its beat
        fails."""
        with self._lock:
            taken, self._metrics = self._metrics, {}
        return [
            ClassMetrics(
                name,
                float(minute),
                int(counters[0]),
                int(counters[1]),
                counters[2],
                tuple(int(count) for count in counters[3:]),
            )
            for (name, minute), counters in taken.items()
        ]

    def give_back_metrics(self, metrics: list[ClassMetrics]) -> None:
        """Return metrics a failed beat could not flush, under their own minutes."""
        with self._lock:
            for item in metrics:
                key = (item.name, int(item.minute))
                counters = self._metrics.get(key)
                if counters is None:
                    counters = self._metrics[key] = [0.0] * (3 + len(METRIC_BUCKETS_MS))
                counters[0] += item.processed
                counters[1] += item.failed
                counters[2] += item.ms
                for index, count in enumerate(item.histogram[: len(METRIC_BUCKETS_MS)]):
                    counters[3 + index] += count
