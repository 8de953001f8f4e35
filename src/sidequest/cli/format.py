"""Plain-text rendering for the CLI: aligned tables, durations and times, and JSON for scripts.

No dependency beyond the standard library: a table is a list of rows of strings, numbers right-aligned.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sidequest.admin import DayStats, JobDetails, Location, Overview
from sidequest.job import JobEntry, ProcessInfo, QueueInfo, WorkInfo, display_class, timestamp_seconds

ARGS_WIDTH = 40
ERROR_WIDTH = 50


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns aligned on the widest cell; a column whose cells are all numbers is right-aligned."""
    cells = [[_cell(value) for value in row] for row in rows]
    numeric = [
        bool(rows) and all(isinstance(row[i], (int, float)) and not isinstance(row[i], bool) for row in rows)
        for i in range(len(headers))
    ]
    widths = [max([len(header), *(len(row[i]) for row in cells)]) for i, header in enumerate(headers)]
    lines = []
    for row in [list(headers), *cells]:
        parts = [
            value.rjust(width) if right else value.ljust(width)
            for value, width, right in zip(row, widths, numeric, strict=True)
        ]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return number(value)
    return "" if value is None else str(value)


def number(value: int) -> str:
    """An integer with thousands separators: ``12,345``."""
    return f"{value:,}"


def duration(seconds: float) -> str:
    """A short, readable length of time: ``0s``, ``4.2s``, ``38s``, ``3m 12s``, ``2h 05m``, ``3d 4h``."""
    seconds = max(0.0, seconds)
    if seconds < 10:
        return "0s" if seconds < 0.05 else f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def relative(when: float | None, now: float) -> str:
    """``3m 12s ago`` or ``in 4m 00s`` for an epoch second; ``-`` when unknown."""
    if when is None:
        return "-"
    delta = when - now
    if abs(delta) < 1:
        return "now"
    return f"in {duration(delta)}" if delta > 0 else f"{duration(-delta)} ago"


def clip(text: str, width: int) -> str:
    """``text`` on one line, cut to ``width`` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def compact_json(value: Any) -> str:
    """JSON on one line, as a person reads job arguments (a non-finite float shows as null)."""
    return json.dumps(
        jsonable(value), separators=(",", ":"), ensure_ascii=False, default=str, allow_nan=False
    )


def to_json(value: Any) -> str:
    """Indented JSON of dataclasses, lists, dicts and dates, for ``--json``. A non-finite float (a
    NaN score or timestamp another program stored) becomes null: ``NaN`` is not JSON, and a script
    reading the output with a strict parser would fail on it."""
    return json.dumps(jsonable(value), indent=2, ensure_ascii=False, default=str, allow_nan=False)


def jsonable(value: Any) -> Any:
    """Plain JSON values for a result of the admin API. A job shows its payload, and its raw stored
    text only when that is not valid JSON."""
    if isinstance(value, JobEntry):
        entry: dict[str, Any] = {
            "jid": value.jid,
            "class": value.display_class,
            "state": value.state,
            "queue": value.queue,
            "score": value.score,
            "payload": value.payload,
        }
        if value.owner is not None:
            entry["owner"] = value.owner
        if value.payload is None:
            entry["raw"] = value.raw
        return entry
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if data.get("payload") is not None:
            data.pop("raw", None)  # the same job twice; kept only when the payload is not valid JSON
        return data
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def failure(payload: dict[str, Any] | None) -> str:
    """``ErrorClass: message`` from a job's failure fields, clipped; empty when it never failed."""
    if not payload or "error_class" not in payload:
        return ""
    message = str(payload.get("error_message", ""))
    return clip(
        f"{payload['error_class']}: {message}" if message else str(payload["error_class"]), ERROR_WIDTH
    )


def job_args(payload: dict[str, Any] | None) -> str:
    """A job's arguments on one clipped line."""
    if payload is None:
        return "(malformed payload)"
    return clip(compact_json(payload.get("args", [])), ARGS_WIDTH)


# -- views of the admin API's answers ----------------------------------------------------------------


def overview(view: Overview, now: float) -> str:
    """``sidequest stats``: totals, then queues, then processes."""
    counts = view.counts
    totals = table(
        ["PROCESSED", "FAILED", "ENQUEUED", "SCHEDULED", "RETRY", "DEAD", "PROCESSES", "BUSY", "EXPIRED"],
        [
            [
                counts.processed,
                counts.failed,
                counts.enqueued,
                counts.scheduled,
                counts.retry,
                counts.dead,
                counts.processes,
                counts.busy,
                view.expired,
            ]
        ],
    )
    return "\n\n".join([totals, queues(view.queues), processes(view.processes, [], now)])


def queues(listed: Sequence[QueueInfo]) -> str:
    """Queues with size and latency."""
    if not listed:
        return "no queues"
    rows = [
        [queue.name + (" (paused)" if queue.paused else ""), queue.size, duration(queue.latency)]
        for queue in listed
    ]
    return table(["QUEUE", "SIZE", "LATENCY"], rows)


def processes(live: Sequence[ProcessInfo], busy: Sequence[WorkInfo], now: float) -> str:
    """Live processes, then (when given) the jobs they run."""
    if not live:
        return "no live processes"
    rows = [
        [
            process.identity + (f" [{process.tag}]" if process.tag else ""),
            ",".join(process.queues),
            f"{process.busy}/{process.concurrency}"
            + (f" ({process.process_pool} children)" if process.process_pool else ""),
            relative(process.started_at, now),
            relative(process.beat, now) if process.beat else "-",
            "quiet" if process.quiet else "running",
        ]
        for process in live
    ]
    text = table(["PROCESS", "QUEUES", "BUSY", "STARTED", "BEAT", "STATE"], rows)
    if not busy:
        return text
    work = [
        [
            item.identity,
            item.thread_id,
            str(item.payload.get("jid", "")) if item.payload else "",
            item.queue,
            display_class(item.payload) if item.payload else "(malformed)",
            job_args(item.payload),
            relative(item.run_at, now),
        ]
        for item in busy
    ]
    return text + "\n\n" + table(["PROCESS", "THREAD", "JID", "QUEUE", "CLASS", "ARGS", "STARTED"], work)


def history(days: Sequence[DayStats]) -> str:
    """Processed and failed per day."""
    return table(["DAY", "PROCESSED", "FAILED"], [[d.day.isoformat(), d.processed, d.failed] for d in days])


def jobs(where: Location, entries: Sequence[JobEntry], offset: int, total: int, now: float) -> str:
    """A page of jobs, with the columns that matter for the location, and where the page sits."""
    if not entries:
        return f"no jobs in {where}" if offset == 0 else f"no jobs in {where} past {offset} (of {total})"
    headers = ["JID", "CLASS", "ARGS"]
    if where.kind != "queue":
        headers.append("QUEUE")
    headers += {
        "queue": ["ENQUEUED"],
        "scheduled": ["DUE"],
        "retry": ["RETRY COUNT", "NEXT RETRY", "ERROR"],
        "dead": ["DIED", "ERROR"],
    }[where.kind]
    rows = []
    for entry in entries:
        payload = entry.payload or {}
        row: list[Any] = [entry.jid or "-", entry.display_class, job_args(entry.payload)]
        if where.kind == "queue":
            row.append(relative(timestamp_seconds(payload.get("enqueued_at")), now))
        else:
            row.append(entry.queue)
            if where.kind == "scheduled":
                row.append(relative(entry.score, now))
            elif where.kind == "retry":
                row += [payload.get("retry_count", "-"), relative(entry.score, now), failure(entry.payload)]
            else:
                row += [relative(entry.score, now), failure(entry.payload)]
        rows.append(row)
    last = offset + len(entries)
    footer = f"{offset + 1}-{last} of {number(total)} in {where}"
    if last < total:
        footer += f" (next page: --offset {last})"
    return table(headers, rows) + "\n\n" + footer


TIMESTAMP_FIELDS = ("created_at", "enqueued_at", "failed_at", "retried_at")
"""The payload fields that hold a time, shown by ``jobs show`` in ISO 8601."""


def iso_time(seconds: float | None) -> str | None:
    """``2026-11-28T09:30:00.123+00:00`` for epoch seconds; None when unknown or not a real time."""
    if seconds is None or not math.isfinite(seconds):
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")
    except (OverflowError, OSError, ValueError):
        return None


def job_times(details: JobDetails) -> dict[str, str | None]:
    """Every time known about a job, ISO 8601: the payload's timestamps, and what its score means
    where it is (due for scheduled and retry jobs, died for dead ones, started for running ones)."""
    payload = details.entry.payload or {}
    times = {name: iso_time(timestamp_seconds(payload[name])) for name in TIMESTAMP_FIELDS if name in payload}
    score_name = {"scheduled": "due_at", "retry": "next_retry_at", "dead": "died_at", "running": "run_at"}
    if details.entry.state in score_name and details.entry.score is not None:
        times[score_name[details.entry.state]] = iso_time(details.entry.score)
    return times


def job_details_json(details: JobDetails) -> dict[str, Any]:
    """``jobs show --json``: where the job is, its failure, backtrace, times and payload."""
    entry = details.entry
    payload = entry.payload or {}
    data: dict[str, Any] = {
        "jid": entry.jid,
        "class": entry.display_class,
        "state": entry.state,
        "location": details.location,
        "queue": entry.queue,
        "retry_count": payload.get("retry_count"),
        "error_class": payload.get("error_class"),
        "error_message": payload.get("error_message"),
        "backtrace": details.backtrace,
        "times": job_times(details),
        "payload": entry.payload,
    }
    if entry.owner is not None:
        data["owner"] = entry.owner
    if entry.payload is None:
        data["raw"] = entry.raw
    return data


def job_details(details: JobDetails, now: float) -> str:
    """``jobs show``: one job, field by field, then its backtrace and its payload, pretty-printed."""
    entry = details.entry
    payload = entry.payload or {}
    where = details.location + (f" (in {entry.owner})" if entry.owner else "")
    rows: list[tuple[str, str]] = [
        ("jid", entry.jid or "-"),
        ("class", entry.display_class),
        ("where", where),
        ("queue", entry.queue),
        ("retry count", str(payload.get("retry_count", "-"))),
    ]
    if "error_class" in payload:
        message = str(payload.get("error_message", ""))
        error = str(payload["error_class"])
        rows.append(("error", f"{error}: {message}" if message else error))
    for name, stamp in job_times(details).items():
        seconds = datetime.fromisoformat(stamp).timestamp() if stamp else None
        rows.append((name, f"{stamp} ({relative(seconds, now)})" if stamp else "-"))
    width = max(len(name) for name, _ in rows)
    lines = [f"{name.ljust(width)}  {value}" for name, value in rows]
    if details.backtrace:
        lines += ["", "backtrace:", *(f"  {line}" for line in details.backtrace)]
    elif "error_class" in payload:
        lines += ["", "backtrace: none stored (set the worker's 'backtrace' option to keep one)"]
    body = json.dumps(jsonable(entry.payload), indent=2, ensure_ascii=False, default=str, allow_nan=False)
    lines += ["", "payload:" if entry.payload is not None else "raw (not valid JSON):"]
    lines.append(body if entry.payload is not None else entry.raw)
    return "\n".join(lines)
