"""The admin API: what people (the CLI, the web dashboard) may read and do to a store.

Both front ends call this class and never the store's primitives, so a rule such as "kill applies to
scheduled and retry jobs" or "acting on every job pages through the set" is written once, here::

    admin = Admin(open_store("sqlite:///sidequest.db"))
    admin.overview().counts.dead
    admin.jobs("retry", limit=10)
    admin.retry("dead", ["b2c1..."])          # by jid
    admin.kill("retry", ALL)                  # every job in the retry set

A *location* names where jobs sit: ``"queue:NAME"``, ``"scheduled"``, ``"retry"`` or ``"dead"``.
Actions find their jobs by jid, a page at a time, and act on what they find; a job that moved in
between (a process claimed it, someone else retried it) is skipped, as the store contract promises,
and reported as missing.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal

from sidequest.errors import SidequestError
from sidequest.job import (
    METRICS_RETENTION,
    ClassMetrics,
    Counts,
    JobEntry,
    ProcessInfo,
    QueueInfo,
    SetName,
    WorkInfo,
)
from sidequest.job_state import CancelState
from sidequest.limits import LimiterStats
from sidequest.options import QUEUE_NAME
from sidequest.retry import decode_backtrace
from sidequest.stores.base import Store
from sidequest.unique import UNIQUE_KEY

SETS: tuple[SetName, ...] = ("scheduled", "retry", "dead")
LOCATIONS_HELP = "queue:NAME, scheduled, retry or dead"
MAX_HISTORY_DAYS = 180
"""Sidekiq keeps (and its dashboard shows) at most 180 days of daily stats."""
MAX_METRICS_HOURS = METRICS_RETENTION // 3600
"""Per-class metrics are kept (and shown) for 72 hours, as Sidekiq does."""


class AdminError(SidequestError, ValueError):
    """An admin request that cannot be done as asked: an unknown location, an action that does not
    apply to it, a process or queue that does not exist."""


class Everything(enum.Enum):
    """The type of :data:`ALL`."""

    ALL = "all"


ALL = Everything.ALL
"""Pass instead of a list of jids to act on every job in a location."""

Selection = Sequence[str] | Literal[Everything.ALL]
"""Which jobs an action applies to: some jids, or :data:`ALL`."""

ProcessSelection = str | Literal[Everything.ALL]
"""Which processes a signal goes to: one identity, or :data:`ALL`."""


@dataclass(frozen=True, slots=True)
class Location:
    """A parsed location: a queue (``kind="queue"`` and its ``name``) or one of the three sets."""

    kind: Literal["queue", "scheduled", "retry", "dead"]
    name: str = ""

    @classmethod
    def parse(cls, text: str) -> Location:
        """Read ``"queue:NAME"``, ``"scheduled"``, ``"retry"`` or ``"dead"``; AdminError otherwise."""
        if text.startswith("queue:"):
            name = text[len("queue:") :]
            if not QUEUE_NAME.match(name):
                raise AdminError(
                    f"bad queue name {name!r} in {text!r}: "
                    "use letters, digits and _ : . - (e.g. queue:default)"
                )
            return cls("queue", name)
        for kind in SETS:
            if text == kind:
                return cls(kind)
        raise AdminError(f"unknown location {text!r}: expected {LOCATIONS_HELP}")

    def __str__(self) -> str:
        return f"queue:{self.name}" if self.kind == "queue" else self.kind


@dataclass(frozen=True, slots=True)
class Overview:
    """Everything the dashboard's front page and ``sidequest stats`` show (read one after the other,
    not as one snapshot: a job may move between two reads)."""

    counts: Counts
    queues: list[QueueInfo]
    processes: list[ProcessInfo]
    busy: list[WorkInfo]
    expired: int = 0
    """Jobs dropped unrun because their ``expires_at`` passed (``expires_in``)."""


@dataclass(frozen=True, slots=True)
class DayStats:
    """Jobs processed and failed during one UTC day."""

    day: date
    processed: int
    failed: int


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What an action did: how many jobs it changed, and which requested jids it did not find."""

    done: int
    missing: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class JobDetails:
    """One job found by jid wherever it is (:meth:`Admin.job`): its entry (``state`` says where:
    enqueued, scheduled, retry, dead, or running, then ``owner`` is the process running it), and its
    stored backtrace decoded (``[]`` when the job never failed or its worker keeps none)."""

    entry: JobEntry
    backtrace: list[str]

    @property
    def location(self) -> str:
        """``queue:NAME``, ``scheduled``, ``retry``, ``dead`` or ``running``."""
        return f"queue:{self.entry.queue}" if self.entry.state == "enqueued" else self.entry.state


class Admin:
    """Reads and actions over one store, for people. Safe to share between threads like the store.

    ``chunk`` is how many jobs one page read or one action call handles when an action goes through a
    whole location; ``clock`` gives epoch seconds (tests pass a fixed one).
    """

    def __init__(self, store: Store, *, chunk: int = 500, clock: Callable[[], float] = time.time) -> None:
        if chunk < 1:
            raise ValueError(f"chunk must be >= 1, got {chunk}")
        self.store = store
        self.chunk = chunk
        self.clock = clock

    # ----------------------------------------------------------------------------------------------
    # Reads

    def overview(self) -> Overview:
        """Totals, queues, live processes and the jobs they run right now."""
        return Overview(
            counts=self.store.counts(),
            queues=self.store.queues(),
            processes=self.store.processes(),
            busy=self.store.busy(),
            expired=self.store.expired_count(),
        )

    def queues(self) -> list[QueueInfo]:
        """Every known queue with its size and latency, sorted by name."""
        return self.store.queues()

    def server_facts(self) -> dict[str, str]:
        """What the store says about its server or file (see :meth:`Store.server_facts`)."""
        return self.store.server_facts()

    def processes(self) -> list[ProcessInfo]:
        """Live processes, sorted by identity."""
        return self.store.processes()

    def busy(self) -> list[WorkInfo]:
        """Jobs running right now, as last published by their processes' heartbeats."""
        return self.store.busy()

    def history(self, days: int = 7) -> list[DayStats]:
        """Processed and failed per UTC day for the last ``days`` days (1 to 180), newest first."""
        if not 1 <= days <= MAX_HISTORY_DAYS:
            raise AdminError(f"days must be between 1 and {MAX_HISTORY_DAYS}, got {days}")
        today = datetime.fromtimestamp(self.clock(), UTC).date()
        return [
            DayStats(day, processed, failed) for day, processed, failed in self.store.history(days, today)
        ]

    def metrics(self, hours: int = 1) -> list[ClassMetrics]:
        """Per-class execution metrics of the last ``hours`` hours (1 to 72), one item per class and
        period (a UTC minute; 10 minutes for more than 8 hours on Redis), oldest first."""
        if not 1 <= hours <= MAX_METRICS_HOURS:
            raise AdminError(f"hours must be between 1 and {MAX_METRICS_HOURS}, got {hours}")
        now = self.clock()
        return self.store.metrics(now - hours * 3600, now + 60)

    def limiters(self) -> list[LimiterStats]:
        """Every rate limiter used on the store (:mod:`sidequest.limiter`): rule, use now, allowed and
        refused counts, last use; by kind and name, judged by the store's clock."""
        return self.store.limiters()

    def size(self, where: str | Location) -> int:
        """How many jobs a location holds right now (0 for a queue nobody has used)."""
        location = self._location(where)
        if location.kind == "queue":
            return next((q.size for q in self.store.queues() if q.name == location.name), 0)
        counts = self.store.counts()
        return {"scheduled": counts.scheduled, "retry": counts.retry, "dead": counts.dead}[location.kind]

    def jobs(self, where: str | Location, offset: int = 0, limit: int = 25) -> list[JobEntry]:
        """A page of a location: a queue's next job first, the scheduled and retry sets soonest due
        first, the dead set latest death first. ``[]`` past the end."""
        if offset < 0 or limit < 1:
            raise AdminError(f"offset must be >= 0 and limit >= 1, got offset={offset}, limit={limit}")
        location = self._location(where)
        if location.kind == "queue":
            return self.store.list_queue(location.name, offset, limit)
        return self.store.list_set(location.kind, offset, limit)

    def find(self, where: str | Location, jids: Iterable[str]) -> list[JobEntry]:
        """The jobs of a location whose jid is in ``jids``, in the location's order. Pages through the
        location until every jid is found or the end is reached; jids not found are simply absent."""
        wanted = set(_jid_list(jids))
        if not wanted:
            return []
        location = self._location(where)
        found: list[JobEntry] = []
        seen: set[str] = set()
        offset = 0
        while True:
            page = self.jobs(location, offset, self.chunk)
            for entry in page:
                if entry.jid in wanted:
                    found.append(entry)
                    seen.add(entry.jid)
            if len(page) < self.chunk or seen >= wanted:
                return found
            offset += len(page)

    def job(self, jid: str) -> JobDetails | None:
        """Find one job by jid: in the jobs running now, every queue, then the scheduled, retry and
        dead sets (each paged through). None when no location holds it (it finished, or never was)."""
        if not jid:
            return None
        for work in self.store.busy():
            if work.payload is not None and work.payload.get("jid") == jid:
                entry = JobEntry("running", work.queue, work.raw, work.payload, work.run_at, work.identity)
                return _details(entry)
        locations = [Location("queue", queue.name) for queue in self.store.queues()]
        for location in [*locations, *(Location(kind) for kind in SETS)]:
            found = self.find(location, [jid])
            if found:
                return _details(found[0])
        return None

    # ----------------------------------------------------------------------------------------------
    # Actions on jobs

    def cancel(self, jid: str) -> CancelState:
        """Cancel one job (see :func:`sidequest.cancel`): ``"removed"`` when it was waiting,
        ``"flagged"`` when it is running, ``"not_found"``."""
        from sidequest.cancellation import cancel_in

        return cancel_in(self.store, jid)

    def retry(self, where: str | Location, jobs: Selection) -> ActionResult:
        """Move scheduled, retry or dead jobs to the back of their queues now (Sidekiq's "Retry Now",
        and "Add to queue" for scheduled jobs). Jobs in a queue are already waiting: an AdminError."""
        location = self._location(where)
        if location.kind == "queue":
            raise AdminError(f"jobs in {location} are already waiting to run; retry applies to {_SETS_TEXT}")
        return self._act(location, jobs, self.store.retry_now)

    def delete(self, where: str | Location, jobs: Selection) -> ActionResult:
        """Remove jobs for good from any location. With :data:`ALL` the location is emptied in one
        store call (a queue keeps its name; use :meth:`clear_queue` to forget it too)."""
        location = self._location(where)
        if jobs is ALL:
            if location.kind == "queue":
                return self._act(location, ALL, self._releasing(self.store.delete))
            return ActionResult(self.store.clear(location.kind))
        return self._act(location, jobs, self._releasing(self.store.delete))

    def kill(self, where: str | Location, jobs: Selection) -> ActionResult:
        """Move scheduled or retry jobs to the dead set now, where people can still inspect and retry
        them."""
        location = self._location(where)
        if location.kind not in ("scheduled", "retry"):
            raise AdminError(f"kill applies to scheduled and retry jobs, not to {location}")
        return self._act(
            location, jobs, self._releasing(lambda entries: self.store.kill_entries(entries, self.clock()))
        )

    def clear_queue(self, name: str) -> int:
        """Delete every job in a queue and forget the queue's name. Returns how many jobs went; an
        AdminError when no such queue is known."""
        location = Location.parse(f"queue:{name}")
        known = [queue.name for queue in self.store.queues()]
        if location.name not in known:
            listed = ", ".join(known) if known else "none"
            raise AdminError(f"no queue named {name!r}; known queues: {listed}")
        return self.store.clear(str(location))

    def pause_queue(self, name: str) -> None:
        """Pause a queue: no process takes its jobs until :meth:`resume_queue`; jobs keep arriving in
        it. A queue that holds no job yet may be paused too (its name must be a valid queue name, or
        an AdminError says so). Idempotent."""
        self.store.pause_queue(Location.parse(f"queue:{name}").name, True)

    def resume_queue(self, name: str) -> None:
        """Let processes take a paused queue's jobs again (idempotent; waiting claims notice at once or
        within a few seconds, by store)."""
        self.store.pause_queue(Location.parse(f"queue:{name}").name, False)

    # ----------------------------------------------------------------------------------------------
    # Actions on processes

    def quiet(self, identity: ProcessSelection) -> list[str]:
        """Ask a live process (or every one) to stop fetching jobs (TSTP); it finishes what it runs.
        Returns the identities signalled. The signal arrives with the process's next heartbeat."""
        return self._signal(identity, "TSTP")

    def stop(self, identity: ProcessSelection) -> list[str]:
        """Ask a live process (or every one) to shut down (TERM): quiet, wait for running jobs until
        its deadline, requeue the rest, exit. Returns the identities signalled."""
        return self._signal(identity, "TERM")

    # ----------------------------------------------------------------------------------------------

    @staticmethod
    def _location(where: str | Location) -> Location:
        return where if isinstance(where, Location) else Location.parse(where)

    def _signal(self, identity: ProcessSelection, signal: str) -> list[str]:
        live = [process.identity for process in self.store.processes()]
        if identity is ALL:
            targets = live
        elif identity in live:
            targets = [identity]
        else:
            listed = ", ".join(live) if live else "none"
            raise AdminError(f"no live process {identity!r}; live processes: {listed}")
        for target in targets:
            self.store.signal(target, signal)
        return targets

    def _releasing(self, action: Callable[[Sequence[JobEntry]], int]) -> Callable[[Sequence[JobEntry]], int]:
        """``action``, then free the unique locks of the jobs it removed, so a duplicate may be enqueued
        again at once instead of after ``unique_for``. Only when every entry of the batch was acted on:
        an entry that moved meanwhile may be pending again, and its lock must stay."""

        def act(entries: Sequence[JobEntry]) -> int:
            done = action(entries)
            if done == len(entries):
                locks = [
                    (entry.payload[UNIQUE_KEY], entry.jid)
                    for entry in entries
                    if entry.payload is not None and isinstance(entry.payload.get(UNIQUE_KEY), str)
                ]
                if locks:
                    self.store.release_unique(locks)
            return done

        return act

    def _act(
        self, location: Location, jobs: Selection, action: Callable[[Sequence[JobEntry]], int]
    ) -> ActionResult:
        if jobs is not ALL:
            wanted = _jid_list(jobs)
            entries = self.find(location, wanted)
            done = 0
            for start in range(0, len(entries), self.chunk):
                done += action(entries[start : start + self.chunk])
            found = {entry.jid for entry in entries}
            return ActionResult(done, [jid for jid in dict.fromkeys(wanted) if jid not in found])
        # Every job the action handles leaves the location, so the next page starts again at the
        # front. A page where nothing could be done (the jobs moved meanwhile, or the store refused
        # them) is stepped over, so the loop ends even while other processes keep adding jobs.
        done = 0
        offset = 0
        while page := self.jobs(location, offset, self.chunk):
            moved = action(page)
            done += moved
            if moved == 0:
                offset += len(page)
        return ActionResult(done)


_SETS_TEXT = "scheduled, retry and dead jobs"


def _details(entry: JobEntry) -> JobDetails:
    stored = entry.payload.get("error_backtrace") if entry.payload is not None else None
    return JobDetails(entry, decode_backtrace(stored))


def _jid_list(jids: Iterable[str]) -> list[str]:
    if isinstance(jids, str):
        return [jids]
    return [jid for jid in jids if jid]
