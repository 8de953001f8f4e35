"""Cumulative counts of one process for scraping (``sidequest run --metrics-port``): jobs finished,
failed, retried and dead per (class, queue), execution-time histograms per (class, queue), and the
latency of the store's claim and ack calls.

Nothing here exists unless metrics are asked for: the tracker, the acker and the fetcher hold
``stats = None`` and skip every line of this module on the job's path (one ``is None`` check). When
they are on, each finished job costs one dict lookup, one ``bisect`` and a few additions under a lock
of its own; the scrape
(:mod:`sidequest.observability.process_metrics`) copies the numbers under the same lock.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from dataclasses import dataclass, field

RUN_BUCKETS: tuple[float, ...] = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
    900.0,
    float("inf"),
)
"""Upper bounds (inclusive, seconds) of the execution-time histogram buckets, as Prometheus counts."""

STORE_BUCKETS: tuple[float, ...] = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    float("inf"),
)
"""Upper bounds (inclusive, seconds) of the claim and ack latency histogram buckets."""


@dataclass(slots=True)
class Histogram:
    """Counts per bucket (not cumulative) and the sum of the observed values."""

    bounds: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = [0] * len(self.bounds)

    def observe(self, value: float) -> None:
        """Count ``value`` (seconds) in the first bucket whose bound is >= it."""
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value

    def copy(self) -> Histogram:
        """A snapshot that later observations do not change."""
        return Histogram(self.bounds, list(self.counts), self.total)


@dataclass(slots=True)
class JobCounts:
    """One (class, queue)'s counters since the process started."""

    processed: int = 0
    failed: int = 0
    retried: int = 0
    dead: int = 0
    runs: Histogram = field(default_factory=lambda: Histogram(RUN_BUCKETS))
    """Execution time of every run, failed or not (a failure's time is what a slow timeout shows)."""

    def copy(self) -> JobCounts:
        """A snapshot that later counts do not change."""
        return JobCounts(self.processed, self.failed, self.retried, self.dead, self.runs.copy())


@dataclass(frozen=True, slots=True)
class StatsSnapshot:
    """Everything :class:`JobStats` counted, copied at one moment."""

    jobs: dict[tuple[str, str], JobCounts]
    fetch: Histogram
    ack: Histogram


class JobStats:
    """Thread-safe cumulative counters of one process; see the module's docstring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[tuple[str, str], JobCounts] = {}
        self._fetch = Histogram(STORE_BUCKETS)
        self._ack = Histogram(STORE_BUCKETS)

    def _counts(self, job_class: str, queue: str) -> JobCounts:
        key = (job_class, queue)
        counts = self._jobs.get(key)
        if counts is None:
            counts = self._jobs[key] = JobCounts()
        return counts

    def finished(self, job_class: str, queue: str, failed: bool, seconds: float) -> None:
        """A perform of ``job_class`` from ``queue`` returned (or raised, ``failed``) after ``seconds``."""
        with self._lock:
            counts = self._counts(job_class, queue)
            counts.processed += 1
            if failed:
                counts.failed += 1
            counts.runs.observe(seconds)

    def retried(self, job_class: str, queue: str) -> None:
        """The store recorded a failed job in the retry set."""
        with self._lock:
            self._counts(job_class, queue).retried += 1

    def died(self, job_class: str, queue: str) -> None:
        """The store recorded a job in the dead set."""
        with self._lock:
            self._counts(job_class, queue).dead += 1

    def fetched(self, seconds: float) -> None:
        """A claim that returned jobs took ``seconds`` (waiting for work included)."""
        with self._lock:
            self._fetch.observe(seconds)

    def acked(self, seconds: float) -> None:
        """An ack of a batch of finished jobs took ``seconds``."""
        with self._lock:
            self._ack.observe(seconds)

    def snapshot(self) -> StatsSnapshot:
        """A copy of every counter, for a scrape."""
        with self._lock:
            return StatsSnapshot(
                {key: counts.copy() for key, counts in self._jobs.items()},
                self._fetch.copy(),
                self._ack.copy(),
            )
