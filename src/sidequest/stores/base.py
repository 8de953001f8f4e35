"""The store contract: every place jobs can live (SQLite, Redis, PostgreSQL) implements this class.

States a job can be in: ``enqueued`` (in a queue, FIFO), ``scheduled`` (waiting for its time),
``running`` (claimed by one owner under that owner's lease), ``retry`` (failed, waiting for its next
attempt), ``dead`` (out of retries; kept for people to inspect). Every method's docstring says the
transition it makes, how atomic it is, and what it returns when there is nothing to do.

Delivery is at least once. A claim is a lease: the owner (one sidequest process, named by its
``identity``) keeps it alive with :meth:`Store.beat`; when the beats stop, :meth:`Store.rescue_orphans`
run by any other process gives the jobs back to their queues. Every finishing call (ack, retry, kill,
requeue) checks that the owner still holds the job, so a process that lost its lease can never delete
a job someone else now runs.

All methods are safe to call from several threads at once, and from several processes on the same
store. They raise :class:`sidequest.errors.StoreError` when the store cannot be reached.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from sidequest.job import (
    METRICS_RETENTION,
    Claimed,
    ClassMetrics,
    Counts,
    JobEntry,
    NewJob,
    Payload,
    ProcessInfo,
    QueueInfo,
    SetName,
    WorkInfo,
    metric_minute,
)
from sidequest.stores.base_features import BatchContract, JobRecordContract, LimiterContract

SET_NAMES: tuple[SetName, ...] = ("scheduled", "retry", "dead")


def clear_target(where: str) -> tuple[Literal["queue"], str] | tuple[Literal["set"], SetName]:
    """What :meth:`Store.clear` empties: ``("queue", NAME)`` for ``"queue:NAME"``, ``("set", NAME)`` for
    a set's name. One reading for every store, whatever its own key names; anything else (an empty
    queue name included) is a ``ValueError`` naming the forms it accepts."""
    if where.startswith("queue:") and len(where) > len("queue:"):
        return ("queue", where[len("queue:") :])
    for name in SET_NAMES:
        if where == name:
            return ("set", name)
    raise ValueError(f"cannot clear {where!r}: give 'queue:NAME', 'scheduled', 'retry' or 'dead'")


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """What a process publishes on every beat.

    ``processed``/``failed`` are the deltas counted since the last *successful* beat (failed jobs count
    in ``processed`` too, as in Sidekiq). ``ttl`` is the lease: how long the process's claims stay
    valid without another beat. ``metrics`` are the per-class deltas since then, each under the UTC
    minute its jobs finished in; ``per_class`` is the short form ``{class: (processed, failed, ms)}``
    for the minute of the beat, with no histogram (what a flush without timings sends).
    """

    process: ProcessInfo
    busy: Sequence[WorkInfo] = ()
    processed: int = 0
    failed: int = 0
    ttl: float = 60.0
    per_class: dict[str, tuple[int, int, float]] = field(default_factory=dict)
    metrics: Sequence[ClassMetrics] = ()

    def class_metrics(self, now: float) -> list[ClassMetrics]:
        """``metrics`` and ``per_class`` (counted in the minute of ``now``) as one list, one item per
        (class, minute) with something to record, none older than :data:`METRICS_RETENTION`."""
        merged: dict[tuple[str, float], ClassMetrics] = {}
        minute = float(metric_minute(now))
        extra = [ClassMetrics(name, minute, *counts) for name, counts in self.per_class.items()]
        for item in [*self.metrics, *extra]:
            if item.minute <= now - METRICS_RETENTION or not (item.processed or item.failed):
                continue
            key = (item.name, float(item.minute))
            known = merged.get(key)
            merged[key] = item if known is None else known.plus(item)
        return list(merged.values())


@dataclass(frozen=True, slots=True)
class RescueResult:
    """What :meth:`Store.rescue_orphans` did: jobs put back in their queues, and poison pills killed."""

    requeued: int = 0
    killed: int = 0


CRON_TICK_MEMORY = 3600.0
"""Seconds a store remembers that a periodic tick was enqueued (at least). Callers never offer a tick
older than this, so a remembered tick is never enqueued twice (see :meth:`Store.enqueue_tick`)."""


@dataclass(frozen=True, slots=True)
class CronState:
    """What a store knows of one periodic entry: the latest tick enqueued for it (epoch seconds), that
    job's jid and when it was pushed, and whether people paused the entry."""

    name: str
    last_tick: float | None = None
    last_jid: str | None = None
    enqueued_at: float | None = None
    paused: bool = False


class Store(JobRecordContract, LimiterContract, BatchContract, ABC):
    """Where jobs live. One instance may be shared by every thread of a process."""

    url: str
    """The URL this store was opened with, as given (so a tool can open the same store again). It may
    hold a password: never log or show it; show :attr:`safe_url`."""

    @property
    def safe_url(self) -> str:
        """:attr:`url` with every password hidden: what logs, errors and dashboards show."""
        from sidequest.stores.urls import redact

        return redact(self.url)

    # ----------------------------------------------------------------------------------------------
    # Client side

    @abstractmethod
    def push(self, jobs: Sequence[NewJob]) -> None:
        """Store new jobs, all or nothing.

        A job with ``at is None`` goes to the back of the queue named by its payload's ``queue``
        (state ``enqueued``) and that queue is registered in the list of known queues. A job with ``at``
        goes to the scheduled set with ``at`` as its due time, even if ``at`` is already past.
        Payloads are stored exactly as given: the client has already set ``jid``, ``created_at`` and,
        for immediate jobs, ``enqueued_at``. An empty sequence does nothing.
        """

    # ----------------------------------------------------------------------------------------------
    # Unique jobs (the ``unique_for`` option; see :mod:`sidequest.unique`). A lock is a ``key`` held by
    # one jid until it is released or ``ttl`` seconds pass, by the store's clock.

    @abstractmethod
    def push_unique(self, job: NewJob, key: str, ttl: float) -> bool:
        """Take lock ``key`` for ``job``'s jid for ``ttl`` seconds and store ``job`` as :meth:`push`
        would (``enqueued``, or ``scheduled`` when ``job.at`` is set), atomically: both or neither.

        The lock is taken when ``key`` is free: never taken, released, or expired. While any job holds
        it, returns False and writes nothing. Returns True when the job was stored. Racing calls from
        any number of threads and processes store exactly one job per free key.
        """

    @abstractmethod
    def release_unique(self, locks: Sequence[tuple[str, str]]) -> int:
        """Free each ``(key, jid)`` lock that ``jid`` still holds, in one round trip or transaction.

        A lock that expired, was already released, or is now held by another jid (it expired and a
        later push took it) is left alone. Returns how many held locks were freed; 0 for an empty
        sequence or when there is nothing to free.
        """

    # ----------------------------------------------------------------------------------------------
    # Processing

    @abstractmethod
    def claim(self, queues: Sequence[str], limit: int, owner: str, timeout: float) -> list[Claimed]:
        """Move up to ``limit`` jobs from the fronts of ``queues`` to ``running`` under ``owner``.

        Queues are drained in the order given (the caller shuffles them for weighted ordering): jobs
        come from the first non-empty queue, then the next while ``limit`` is not reached. Each job
        moves atomically; no job is ever held by two live owners. When every queue is empty, waits up
        to ``timeout`` seconds for a job without busy-spinning, then returns ``[]``. A stored payload
        that is not valid JSON is claimed like any other, with ``payload=None``, so the caller can
        send it to the dead set.
        """

    @abstractmethod
    def ack(self, owner: str, jobs: Sequence[Claimed]) -> int:
        """Remove finished jobs that ``owner`` still holds, in one round trip or transaction.

        Jobs the owner no longer holds (its lease lapsed and another process rescued them) are left
        alone. Returns how many were removed; 0 for an empty sequence.
        """

    @abstractmethod
    def retry(self, owner: str, job: Claimed, payload: Payload, at: float) -> bool:
        """Atomically take ``job`` from ``owner`` and add ``payload`` (with its failure fields) to the
        retry set, due at ``at``. Returns False, writing nothing, if ``owner`` no longer holds the job.
        """

    @abstractmethod
    def kill(self, owner: str, job: Claimed, payload: Payload | None, at: float) -> bool:
        """Atomically take ``job`` from ``owner`` and add it to the dead set at time ``at``.

        ``payload`` is the job with its failure fields; None stores ``job.raw`` unchanged (a malformed
        payload). The dead set is then trimmed to its newest 10,000 jobs and to 180 days. Returns False,
        writing nothing, if ``owner`` no longer holds the job.
        """

    @abstractmethod
    def requeue(self, owner: str, jobs: Sequence[Claimed]) -> int:
        """Put jobs ``owner`` still holds back at the front of their queues, payloads unchanged, so they
        run next (used at shutdown: it spends no retry). Returns how many moved; 0 for none."""

    @abstractmethod
    def owned(self, owner: str) -> list[Claimed]:
        """Every job the store records as held by ``owner``; ``[]`` when none.

        A process calls this after a claim failed with a connection error: the claim may have
        happened in the store with only its reply lost, leaving jobs the process never saw under its
        own live lease, where no rescuer would look. The process requeues those it does not know.
        """

    # ----------------------------------------------------------------------------------------------
    # Process lifecycle and maintenance

    @abstractmethod
    def beat(self, heartbeat: Heartbeat) -> list[str]:
        """Publish the process and its busy jobs, extend its lease by ``heartbeat.ttl`` seconds, and add
        the stats deltas to the processed/failed counters (total and per UTC day) and its per-class
        metrics (:meth:`Heartbeat.class_metrics`) to each class's minute, dropping minutes older than
        :data:`~sidequest.job.METRICS_RETENTION`.

        Returns the remote signals queued for this process (``"TSTP"``, ``"TERM"``, ``"TTIN"``) and
        removes them; ``[]`` when there are none. The whole beat is atomic: if it raises, nothing was
        counted, and the caller adds the deltas to its next beat.
        """

    @abstractmethod
    def unregister(self, identity: str) -> None:
        """Remove a process from the list of live processes at a clean exit. Its jobs must already be
        acked or requeued; jobs it still holds are left for :meth:`rescue_orphans`."""

    @abstractmethod
    def promote_due(self, now: float, limit: int = 1000) -> int:
        """Move up to ``limit`` scheduled and retry jobs due at or before ``now`` to the back of their
        queues, setting ``enqueued_at`` to ``now`` and keeping every other field. Each job moves
        atomically, so every process may call this at once. Returns how many moved; 0 when none is due.
        """

    @abstractmethod
    def end_lease(self, identity: str) -> None:
        """End ``identity``'s lease now: the caller proved the process dead (same machine, its pid gone
        or reused). Its jobs become orphans for the next :meth:`rescue_orphans`; its process entry is
        removed. Idempotent; nothing happens for an unknown identity. Never call it for a live process.
        """

    @abstractmethod
    def rescue_orphans(
        self, now: float, max_orphaned: int = 3, *, exclude: str | None = None
    ) -> RescueResult:
        """Give back the jobs of owners whose lease has expired, never those of ``exclude`` (the calling
        process: a process never rescues itself, whatever the clock says).

        Leases are judged by the store's own clock (Redis key TTLs, PostgreSQL's ``now()``, the SQLite
        process's clock as the pass runs): ``now``, the caller's time, never shortens or extends one. It
        is the time written into the jobs moved (the failure fields of a poison pill) and the dead set's
        trim. This is why the contract suite waits for a short lease to pass instead of passing a
        later ``now``.

        Each such job returns to the front of its queue with its ``orphan_count`` field increased by 1;
        a job whose count would pass ``max_orphaned`` (it kept killing its process) goes to the dead set
        instead, in its own queue, with an ``error_class`` of ``OrphanedJobError``, the message of
        :func:`sidequest.stores.payloads.orphaned_message` and the failure fields a failure writes; or,
        when its payload says ``"dead": false``, it is dropped (counted in ``killed`` all the same). A
        malformed payload cannot carry a count: it goes back to its queue as it is. Each job
        moves atomically, so every process may call this at once. Returns what was done.
        """

    # ----------------------------------------------------------------------------------------------
    # Periodic (cron) jobs. Every process offers every tick of every entry; the store's unique key per
    # (entry, tick) makes exactly one offer push a job, with no leader to elect.

    @abstractmethod
    def enqueue_tick(self, entry: str, tick: float, job: NewJob) -> bool:
        """Push ``job`` (an immediate job: ``job.at`` is None) as periodic ``entry``'s job for ``tick``,
        unless that tick was already enqueued or the entry is paused.

        Atomic: recording ``(entry, tick)`` as enqueued and pushing the job happen together or not at
        all, so racing offers from any number of threads, processes and machines push exactly one job.
        Also records the tick, the jid and the push time as the entry's latest enqueue when ``tick`` is
        later than the one recorded. Returns True when the job was pushed; False, writing nothing, when
        the tick was already enqueued, the entry is paused, or the tick is older than the entry's latest
        enqueue by :data:`CRON_TICK_MEMORY` or more (the store may have forgotten it, so it refuses it).
        """

    @abstractmethod
    def cron_state(self, entries: Sequence[str]) -> dict[str, CronState]:
        """What the store knows of each named entry, keyed by name; an entry it has never seen gets
        ``CronState(name)`` (never enqueued, not paused). Read-only; ``{}`` for no names."""

    @abstractmethod
    def pause_cron(self, entry: str, paused: bool) -> None:
        """Pause (``paused=True``) or resume a periodic entry: while it is paused, :meth:`enqueue_tick`
        pushes nothing for it. Idempotent; an entry the store has never seen is created paused or not.
        Ticks that fall while paused are skipped, not caught up on resume."""

    # ----------------------------------------------------------------------------------------------
    # Admin reads (used by the CLI and the dashboard)

    @abstractmethod
    def queues(self) -> list[QueueInfo]:
        """Every known queue with its size, latency and paused flag, sorted by name; ``[]`` when there
        is none."""

    @abstractmethod
    def counts(self) -> Counts:
        """Store-wide totals: processed/failed counters, jobs per state, live processes, busy jobs."""

    @abstractmethod
    def history(self, days: int, today: date) -> list[tuple[date, int, int]]:
        """Processed and failed per UTC day for ``days`` days ending at ``today``, newest first; days
        with no data are 0."""

    @abstractmethod
    def metrics(self, since: float, until: float) -> list[ClassMetrics]:
        """Per-class execution metrics of the periods starting in ``[since, until)`` (epoch seconds),
        oldest first, one item per (class, period) that recorded a run; ``[]`` when none.

        Periods are UTC minutes; the Redis store answers a range longer than 8 hours from Sidekiq 8's
        10-minute buckets, with no histogram (Sidekiq keeps per-minute data and histograms 8 hours).
        Nothing older than :data:`~sidequest.job.METRICS_RETENTION` is returned: stores drop it.
        Read-only.
        """

    @abstractmethod
    def list_queue(self, queue: str, offset: int = 0, limit: int = 25) -> list[JobEntry]:
        """A page of a queue, the job that runs next first; ``[]`` past the end or for no such queue."""

    @abstractmethod
    def list_set(self, name: SetName, offset: int = 0, limit: int = 25) -> list[JobEntry]:
        """A page of the scheduled or retry set (soonest due first) or the dead set (latest death
        first), each entry with its score; ``[]`` past the end."""

    @abstractmethod
    def processes(self) -> list[ProcessInfo]:
        """Live processes (heartbeat not expired), sorted by identity."""

    @abstractmethod
    def busy(self) -> list[WorkInfo]:
        """Jobs running right now in live processes, as last published by their heartbeats."""

    # ----------------------------------------------------------------------------------------------
    # Admin actions. Entries come from list_queue / list_set; an entry that is no longer where it was
    # listed is skipped, so two people acting on the same job at once do no harm.

    @abstractmethod
    def delete(self, entries: Sequence[JobEntry]) -> int:
        """Remove the given queued, scheduled, retry or dead jobs. Returns how many were removed."""

    @abstractmethod
    def retry_now(self, entries: Sequence[JobEntry]) -> int:
        """Move scheduled, retry or dead jobs to the back of their queues now (``retry_count`` goes
        down by one so the next failure counts the same, as Sidekiq's "Retry Now" does). Returns how
        many moved."""

    @abstractmethod
    def kill_entries(self, entries: Sequence[JobEntry], now: float) -> int:
        """Move scheduled or retry jobs to the dead set at ``now``. Returns how many moved."""

    @abstractmethod
    def clear(self, where: str) -> int:
        """Empty a queue (``"queue:NAME"``, also forgetting the queue name; its running jobs are left to
        their owners) or a set (``"scheduled"``, ``"retry"``, ``"dead"``), as :func:`clear_target`
        reads ``where`` (a ``ValueError`` naming the accepted forms for anything else, on every store).
        Returns how many jobs were removed."""

    @abstractmethod
    def pause_queue(self, name: str, paused: bool) -> None:
        """Pause (``paused=True``) or resume queue ``name``: while it is paused, :meth:`claim` takes no
        job from it (it waits as for an empty queue), while :meth:`push` and promotions still add jobs
        to it, and :meth:`queues` lists it as paused, even when it holds no job. Idempotent; a queue
        that holds no job yet may be paused too, and the pause outlives :meth:`clear`. A claim that
        was already waiting when the pause was set takes no job pushed after it."""

    @abstractmethod
    def signal(self, identity: str, signal: str) -> None:
        """Queue a remote signal (``"TSTP"``, ``"TERM"``, ``"TTIN"``) for a process; it receives it at
        its next beat. Signals for a process that never beats again expire after a minute."""

    # ----------------------------------------------------------------------------------------------

    def server_facts(self) -> dict[str, str]:
        """Facts about the store's server or file for people (the dashboard's store panel), each a
        short text under a stable key; ``{}`` when the store has none. Read-only and cheap; raises
        :class:`~sidequest.errors.StoreError` when the store cannot be reached.

        SQLite: ``file``, ``database_size``, ``wal_size`` (bytes). Redis: ``INFO``'s
        ``redis_version``, ``uptime_in_days``, ``connected_clients``, ``used_memory_human``,
        ``used_memory_peak_human``. PostgreSQL: ``server_version``, ``table_size``, ``index_size``
        (bytes, over the store's schema), ``dead_tuples``, ``oldest_transaction_seconds``.
        """
        return {}

    def startup_warnings(self) -> list[str]:
        """What a person starting a process on this store should be told (a Redis whose
        ``maxmemory-policy`` may evict jobs, say); ``[]`` when all is well. Read-only."""
        return []

    @abstractmethod
    def close(self) -> None:
        """Release connections. The store must not be used afterwards."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
