"""Jobs as values: Sidekiq's payload format and the records stores hand out. No I/O here.

A job is a JSON object in Sidekiq's wire format (``class``, ``args``, ``jid``, ``queue``, ``retry``,
``created_at``, ``enqueued_at``, ...). Timestamps are float epoch seconds, the form every Sidekiq UI
from 6.4 to 8.x reads; :func:`timestamp_seconds` also reads Sidekiq 8's integer milliseconds.
Fields sidequest does not know are kept untouched whenever a job moves.
"""

from __future__ import annotations

import bisect
import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

Payload = dict[str, Any]
"""A job payload: a JSON object in Sidekiq's format."""

JobState = Literal["enqueued", "scheduled", "retry", "dead", "running"]
SetName = Literal["scheduled", "retry", "dead"]


def new_jid() -> str:
    """A job id as Sidekiq makes it: 12 random bytes as 24 lowercase hex characters."""
    return secrets.token_hex(12)


def new_jids(count: int) -> list[str]:
    """``count`` job ids from one read of the OS random source (bulk enqueues)."""
    text = os.urandom(12 * count).hex()
    return [text[i : i + 24] for i in range(0, 24 * count, 24)]


def now() -> float:
    """Wall-clock epoch seconds, the unit of every timestamp in a payload."""
    return time.time()


def timestamp_seconds(value: Any) -> float | None:
    """Read a payload timestamp: a float is seconds, an int is milliseconds (Sidekiq 8), else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        return value / 1000.0
    return None


def display_class(payload: Payload) -> str:
    """The class a person should see: ``wrapped`` (ActiveJob) if present, else ``class``."""
    wrapped = payload.get("wrapped")
    return wrapped if isinstance(wrapped, str) else str(payload.get("class", "?"))


class NewJob(NamedTuple):
    """A job to push: its payload and, for a scheduled job, the epoch second it becomes due.

    A named tuple rather than a frozen dataclass: bulk enqueues make one per job, and a frozen
    dataclass costs several times more to build.
    """

    payload: Payload
    at: float | None = None


@dataclass(slots=True)
class Claimed:
    """A job a store handed to one owner under that owner's lease.

    ``raw`` is the exact stored text; ``payload`` is None when ``raw`` is not a valid job (the runtime
    then sends it to the dead set). ``token`` is the store's private handle for the claim. Treat it as
    read-only; it is not a frozen dataclass because every claimed job makes one, and a frozen one costs
    four times as much to build.
    """

    raw: str
    payload: Payload | None
    queue: str
    token: Any = None

    @property
    def jid(self) -> str | None:
        """The job id, or None for a malformed payload."""
        if self.payload is None:
            return None
        jid = self.payload.get("jid")
        return jid if isinstance(jid, str) else None


@dataclass(frozen=True, slots=True)
class JobEntry:
    """One job as the admin API shows it: where it is, its payload, and its score (due or death time)."""

    state: JobState
    queue: str
    raw: str
    payload: Payload | None
    score: float | None = None
    owner: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def jid(self) -> str:
        """The job id ('' for a payload that is not valid JSON)."""
        if self.payload is None:
            return ""
        return str(self.payload.get("jid", ""))

    @property
    def display_class(self) -> str:
        """The class name to show a person."""
        return display_class(self.payload) if self.payload is not None else "(malformed)"


@dataclass(frozen=True, slots=True)
class QueueInfo:
    """A queue's size and latency (seconds since its oldest job was enqueued; 0 when empty)."""

    name: str
    size: int
    latency: float
    paused: bool = False


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    """A running sidequest (or Sidekiq) process as published by its heartbeat."""

    identity: str
    hostname: str
    pid: int
    started_at: float
    concurrency: int
    queues: list[str]
    busy: int = 0
    beat: float = 0.0
    quiet: bool = False
    tag: str = ""
    labels: list[str] = field(default_factory=list)
    rss_kb: int = 0
    version: str = ""
    boot_id: str = ""
    """The kernel's boot id of the machine (``/proc/sys/kernel/random/boot_id``); '' when unknown."""
    pid_namespace: str = ""
    """The pid namespace the process runs in (``readlink /proc/self/ns/pid``); '' when unknown."""
    pid_started: int = 0
    """The process's start time in clock ticks since boot (``/proc/PID/stat`` field 22); 0 when
    unknown. With ``boot_id`` and ``pid_namespace`` it tells a dead process from a reused pid."""
    process_pool: int = 0
    """Child processes in its pool for ``isolation="process"`` workers (0: no pool)."""
    weights: dict[str, int] = field(default_factory=dict)
    """Each queue's weight (``-q NAME,WEIGHT``); 0 for every queue in strict order."""


@dataclass(frozen=True, slots=True)
class WorkInfo:
    """One job a process is running right now (the Busy page)."""

    identity: str
    thread_id: str
    queue: str
    payload: Payload | None
    raw: str
    run_at: float


@dataclass(frozen=True, slots=True)
class Counts:
    """Store-wide totals for the dashboard and ``sidequest stats``."""

    processed: int
    failed: int
    enqueued: int
    scheduled: int
    retry: int
    dead: int
    processes: int
    busy: int


METRIC_BUCKETS_MS: tuple[float, ...] = (
    *(20, 30, 45, 65, 100, 150, 225, 335, 500, 750, 1100, 1700, 2500, 3800, 5750, 8500, 13000),
    *(20000, 30000, 45000, 65000, 100000, 150000, 225000, 335000),
    float("inf"),
)
"""Upper bounds (exclusive, ms) of Sidekiq 7's execution-time histogram buckets: 26 of them, the last
one open-ended. A run of ``ms`` falls in the first bucket whose bound is above it."""

METRICS_RETENTION = 72 * 60 * 60
"""Seconds per-class metrics are kept (Sidekiq keeps 72 hours); older minutes are dropped."""


def metric_bucket(ms: float) -> int:
    """The index in :data:`METRIC_BUCKETS_MS` of the bucket a run of ``ms`` milliseconds falls in."""
    return min(bisect.bisect_right(METRIC_BUCKETS_MS, ms), len(METRIC_BUCKETS_MS) - 1)


def metric_minute(at: float) -> int:
    """The epoch second at which the UTC minute holding ``at`` starts."""
    return int(at // 60) * 60


@dataclass(frozen=True, slots=True)
class ClassMetrics:
    """What one worker class did in one minute (or, read from a store's coarser buckets, in the period
    starting at ``minute``), as Sidekiq 7's metrics count it.

    ``processed`` counts every run, failures included; ``ms`` is the total execution time of the
    successful runs only, and ``histogram`` (one count per :data:`METRIC_BUCKETS_MS` bucket, or empty
    when the store kept none for that period) counts those successful runs by duration.
    """

    name: str
    minute: float
    processed: int = 0
    failed: int = 0
    ms: float = 0.0
    histogram: tuple[int, ...] = ()

    def plus(self, other: ClassMetrics) -> ClassMetrics:
        """Both counts added up, under this one's name and minute."""
        size = max(len(self.histogram), len(other.histogram))
        mine = self.histogram + (0,) * (size - len(self.histogram))
        theirs = other.histogram + (0,) * (size - len(other.histogram))
        return ClassMetrics(
            self.name,
            self.minute,
            self.processed + other.processed,
            self.failed + other.failed,
            self.ms + other.ms,
            tuple(a + b for a, b in zip(mine, theirs, strict=True)),
        )
