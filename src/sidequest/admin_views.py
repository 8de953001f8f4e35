"""Reads the dashboard needs that are built from :class:`sidequest.admin.Admin` alone: one job found
wherever it is, a capped filter over a set, failures grouped by class and error.

Nothing here touches a store primitive. Each read that walks a location pages through it with
``Admin.jobs`` and stops at a cap, so a set of 100,000 jobs costs a bounded number of store calls and
the page says honestly how far it looked ("scanned the first 10,000 of 100,000").
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sidequest.admin import SETS, Admin, Location
from sidequest.job import JobEntry, SetName, WorkInfo, timestamp_seconds
from sidequest.retry import decode_backtrace

SCAN_CAP = 10_000
"""How many jobs a filter or a grouping reads at most from one location before it stops."""


def walk(admin: Admin, where: str | Location, cap: int = SCAN_CAP) -> Iterator[JobEntry]:
    """The jobs of a location in its order, a page at a time, at most ``cap`` of them."""
    offset = 0
    page_size = min(admin.chunk, cap)
    while offset < cap:
        page = admin.jobs(where, offset, min(page_size, cap - offset))
        yield from page
        if len(page) < min(page_size, cap - offset):
            return
        offset += len(page)


@dataclass(frozen=True, slots=True)
class JobFilter:
    """What a person typed in a set's filter form; an empty field matches everything."""

    worker: str = ""
    queue: str = ""
    error_class: str = ""
    jid: str = ""
    args: str = ""

    @property
    def active(self) -> bool:
        """True when at least one field is set."""
        return any((self.worker, self.queue, self.error_class, self.jid, self.args))

    def matches(self, entry: JobEntry) -> bool:
        """True when ``entry`` passes every field: class, queue, error class and jid exactly
        (case-insensitive), args as a substring of the stored JSON text."""
        payload = entry.payload or {}
        checks = (
            (self.worker, entry.display_class),
            (self.queue, entry.queue),
            (self.error_class, str(payload.get("error_class", ""))),
            (self.jid, entry.jid),
        )
        if any(wanted and wanted.lower() != value.lower() for wanted, value in checks):
            return False
        return not self.args or self.args in _args_text(entry)

    def as_query(self) -> dict[str, str]:
        """The set fields as URL query parameters (for links that keep the filter)."""
        fields = {
            "class": self.worker,
            "queue": self.queue,
            "error_class": self.error_class,
            "jid": self.jid,
            "args": self.args,
        }
        return {key: value for key, value in fields.items() if value}


def _args_text(entry: JobEntry) -> str:
    """The args as stored, so a substring search needs no re-encoding per job."""
    payload = entry.payload
    if payload is None:
        return entry.raw
    args = payload.get("args")
    return entry.raw if args is None else str(args) + " " + entry.raw


@dataclass(frozen=True, slots=True)
class FilterResult:
    """The first ``limit`` matches of a filter, how many jobs it read, and whether it stopped early."""

    matches: list[JobEntry]
    scanned: int
    capped: bool
    """True when the scan stopped at the cap (or at ``limit`` matches) before the end of the set."""


def filter_jobs(
    admin: Admin, where: str | Location, job_filter: JobFilter, limit: int, cap: int = SCAN_CAP
) -> FilterResult:
    """The first ``limit`` jobs of a location that match ``job_filter``, reading at most ``cap``."""
    matches: list[JobEntry] = []
    scanned = 0
    for entry in walk(admin, where, cap):
        scanned += 1
        if job_filter.matches(entry):
            matches.append(entry)
            if len(matches) >= limit:
                return FilterResult(matches, scanned, True)
    return FilterResult(matches, scanned, scanned >= cap)


@dataclass(frozen=True, slots=True)
class FoundJob:
    """A job found by jid: where it is, and either its entry or (while it runs) its work record."""

    location: str
    entry: JobEntry | None = None
    work: WorkInfo | None = None

    @property
    def payload(self) -> dict[str, Any]:
        """The payload ({} for a malformed one)."""
        if self.entry is not None:
            return self.entry.payload or {}
        return (self.work.payload if self.work is not None else None) or {}

    @property
    def backtrace(self) -> list[str]:
        """The error backtrace lines, decoded from Sidekiq's compressed form."""
        return decode_backtrace(self.payload.get("error_backtrace"))


def find_job(admin: Admin, jid: str, hint: str = "") -> FoundJob | None:
    """The job ``jid`` wherever it is: running, scheduled, retry, dead or waiting in a queue.

    ``hint`` (a location such as ``"dead"``) is searched first: the set pages link with it, so the
    common case reads one set only. Each set is paged through up to its end; None when it is nowhere
    (it finished, or was deleted meanwhile).
    """
    for work in admin.busy():
        if work.payload is not None and work.payload.get("jid") == jid:
            return FoundJob("running", work=work)
    places: list[str] = [*SETS, *(f"queue:{queue.name}" for queue in admin.queues())]
    if hint in places:
        places.remove(hint)
        places.insert(0, hint)
    for place in places:
        found = admin.find(place, [jid])
        if found:
            return FoundJob(place, entry=found[0])
    return None


@dataclass(slots=True)
class ErrorGroup:
    """Failed jobs of one set sharing a class and an error class."""

    where: SetName
    worker: str
    error_class: str
    count: int = 0
    latest_message: str = ""
    latest_at: float = 0.0
    jids: list[str] = field(default_factory=list)


def failed_time(payload: dict[str, Any]) -> float:
    """When a job last failed (``retried_at``, else ``failed_at``), epoch seconds; 0 when unknown."""
    return timestamp_seconds(payload.get("retried_at")) or timestamp_seconds(payload.get("failed_at")) or 0.0


def error_groups(
    admin: Admin, cap: int = SCAN_CAP, since: float | None = None
) -> tuple[list[ErrorGroup], dict[str, bool]]:
    """The retry and dead sets grouped by (class, error class), largest group first, and for each
    set whether the scan stopped at ``cap``. With ``since``, only jobs that last failed at or after
    it (epoch seconds) count."""
    groups: dict[tuple[str, str, str], ErrorGroup] = {}
    capped: dict[str, bool] = {}
    where: SetName
    for where in ("retry", "dead"):
        scanned = 0
        for entry in walk(admin, where, cap):
            scanned += 1
            payload = entry.payload or {}
            when = failed_time(payload)
            if since is not None and when < since:
                continue
            error = str(payload.get("error_class", "") or "(none)")
            key = (where, entry.display_class, error)
            group = groups.get(key)
            if group is None:
                group = groups[key] = ErrorGroup(where, entry.display_class, error)
            group.count += 1
            group.jids.append(entry.jid)
            if when >= group.latest_at:
                group.latest_at = when
                group.latest_message = str(payload.get("error_message", ""))
        capped[where] = scanned >= cap
    return sorted(groups.values(), key=lambda g: (-g.count, g.where, g.worker, g.error_class)), capped


def group_jids(
    admin: Admin,
    where: SetName,
    worker: str,
    error_class: str,
    since: float | None = None,
    cap: int = SCAN_CAP,
) -> list[str]:
    """The jids of one error group (as :func:`error_groups` names it, in the same window), for a
    group action."""
    groups, _ = error_groups(admin, cap, since)
    for group in groups:
        if (group.where, group.worker, group.error_class) == (where, worker, error_class):
            return group.jids
    return []
