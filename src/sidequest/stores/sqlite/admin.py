"""The SQLite store's admin side: what the dashboard and the CLI read and do. Every function runs inside
a transaction opened by :class:`sidequest.stores.sqlite.SQLiteStore` (a read snapshot or BEGIN IMMEDIATE).

Tables touched: ``jobs``, ``queues``, ``paused_queues``, ``processes``, ``stats``.

Listed entries carry their row id in ``JobEntry.extra["id"]``. Actions match a row by id, state and the
exact payload text, so an entry that moved since it was listed - or a new row that reused the id of a
deleted one - is skipped instead of acted on.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import fields
from datetime import date, timedelta
from typing import Any

from sidequest.job import (
    Counts,
    JobEntry,
    ProcessInfo,
    QueueInfo,
    SetName,
    WorkInfo,
    timestamp_seconds,
)
from sidequest.stores import payloads
from sidequest.stores.base import clear_target
from sidequest.stores.sqlite import moves

SETS: tuple[SetName, ...] = ("scheduled", "retry", "dead")
PROCESS_FIELDS = frozenset(field.name for field in fields(ProcessInfo))

QUEUE_SIZES = "SELECT queue, count(*) FROM jobs WHERE state = 'enqueued' GROUP BY queue"
NEXT_IN_QUEUE = "SELECT payload FROM jobs WHERE state = 'enqueued' AND queue = ? ORDER BY position LIMIT 1"
SET_SIZES = "SELECT state, count(*) FROM jobs WHERE score IS NOT NULL GROUP BY state"
LIVE_PROCESSES = """
    SELECT count(*), coalesce(sum(json_array_length(busy)), 0) FROM processes WHERE expires_at > ?
"""
LIVE_PROCESS_ROWS = """
    SELECT info, json_array_length(busy), beat, quiet FROM processes
    WHERE expires_at > ?
    ORDER BY identity
"""
QUEUE_PAGE = """
    SELECT id, payload FROM jobs
    WHERE state = 'enqueued' AND queue = ?
    ORDER BY position
    LIMIT ? OFFSET ?
"""
# Sorted sets page by score: soonest due first, except the dead set, latest death first.
SET_PAGE = """
    SELECT id, queue, payload, score FROM jobs
    WHERE state = ? AND score IS NOT NULL
    ORDER BY score {direction}, id {direction}
    LIMIT ? OFFSET ?
"""
STILL_THERE = "id = ? AND state = ? AND payload = ?"


def queues(conn: sqlite3.Connection, now: float) -> list[QueueInfo]:
    """Every registered, paused or non-empty queue with its size, latency and paused flag, by name."""
    sizes: dict[str, int] = dict(conn.execute(QUEUE_SIZES).fetchall())
    names = {row[0] for row in conn.execute("SELECT name FROM queues")} | sizes.keys()
    # A paused queue is listed even once cleared, so people can resume it.
    paused = {row[0] for row in conn.execute("SELECT name FROM paused_queues")}
    names |= paused
    infos = []
    for name in sorted(names):
        latency = 0.0
        if sizes.get(name):
            payload = moves.decode(conn.execute(NEXT_IN_QUEUE, (name,)).fetchone()[0])
            enqueued_at = timestamp_seconds(payload.get("enqueued_at")) if payload else None
            latency = max(now - enqueued_at, 0.0) if enqueued_at is not None else 0.0
        infos.append(QueueInfo(name=name, size=sizes.get(name, 0), latency=latency, paused=name in paused))
    return infos


def pause_queue(conn: sqlite3.Connection, name: str, paused: bool) -> None:
    """Add ``name`` to ``paused_queues`` (claims skip it) or remove it; idempotent."""
    if paused:
        conn.execute("INSERT OR IGNORE INTO paused_queues (name) VALUES (?)", (name,))
    else:
        conn.execute("DELETE FROM paused_queues WHERE name = ?", (name,))


def counts(conn: sqlite3.Connection, now: float) -> Counts:
    """Store-wide totals; ``busy`` sums the busy lists the live processes published."""
    total = conn.execute("SELECT processed, failed FROM stats WHERE day = 'total'").fetchone() or (0, 0)
    in_sets = dict(conn.execute(SET_SIZES).fetchall())
    enqueued = conn.execute("SELECT count(*) FROM jobs WHERE state = 'enqueued'").fetchone()[0]
    processes, busy = conn.execute(LIVE_PROCESSES, (now,)).fetchone()
    return Counts(
        processed=total[0],
        failed=total[1],
        enqueued=enqueued,
        scheduled=in_sets.get("scheduled", 0),
        retry=in_sets.get("retry", 0),
        dead=in_sets.get("dead", 0),
        processes=processes,
        busy=busy,
    )


def history(conn: sqlite3.Connection, days: int, today: date) -> list[tuple[date, int, int]]:
    """Processed and failed for ``days`` UTC days ending at ``today``, newest first, 0 where unknown."""
    wanted = [today - timedelta(days=back) for back in range(max(days, 0))]
    if not wanted:
        return []
    marks = ", ".join("?" * len(wanted))
    rows = conn.execute(
        f"SELECT day, processed, failed FROM stats WHERE day IN ({marks})",
        [day.isoformat() for day in wanted],
    )
    known = {day: (processed, failed) for day, processed, failed in rows}
    return [(day, *known.get(day.isoformat(), (0, 0))) for day in wanted]


def list_queue(conn: sqlite3.Connection, queue: str, offset: int, limit: int) -> list[JobEntry]:
    """A page of ``queue``, the next job to run first."""
    rows = conn.execute(QUEUE_PAGE, (queue, max(limit, 0), max(offset, 0)))
    return [payloads.row_entry("enqueued", queue, job_id, raw, None) for job_id, raw in rows]


def list_set(conn: sqlite3.Connection, name: SetName, offset: int, limit: int) -> list[JobEntry]:
    """A page of the scheduled or retry set (soonest first) or the dead set (latest first)."""
    if name not in SETS:
        raise ValueError(f"unknown set {name!r}; the sets are {', '.join(SETS)}")
    sql = SET_PAGE.format(direction="DESC" if name == "dead" else "ASC")
    rows = conn.execute(sql, (name, max(limit, 0), max(offset, 0)))
    return [payloads.row_entry(name, queue, job_id, raw, score) for job_id, queue, raw, score in rows]


def processes(conn: sqlite3.Connection, now: float) -> list[ProcessInfo]:
    """Processes whose lease has not expired, by identity; ``busy`` is the length of their busy list."""
    found = []
    rows = conn.execute(LIVE_PROCESS_ROWS, (now,))
    for info, busy, beat, quiet in rows:
        known = {key: value for key, value in (moves.decode(info) or {}).items() if key in PROCESS_FIELDS}
        found.append(ProcessInfo(**{**known, "busy": busy, "beat": beat, "quiet": bool(quiet)}))
    return found


def busy(conn: sqlite3.Connection, now: float) -> list[WorkInfo]:
    """The jobs live processes published as running at their last beat."""
    work = []
    rows = conn.execute("SELECT identity, busy FROM processes WHERE expires_at > ? ORDER BY identity", (now,))
    for identity, listed in rows:
        for item in moves.decode_list(listed):
            raw = str(item.get("raw", ""))
            work.append(
                WorkInfo(
                    identity=identity,
                    thread_id=str(item.get("thread_id", "")),
                    queue=str(item.get("queue", "")),
                    payload=payloads.job_or_none(raw),
                    raw=raw,
                    run_at=float(item.get("run_at") or 0.0),
                )
            )
    return work


def delete(conn: sqlite3.Connection, entries: Sequence[JobEntry]) -> int:
    """Delete the entries still where they were listed."""
    params = [_match(entry) for entry in entries if entry.state != "running"]
    return conn.executemany(f"DELETE FROM jobs WHERE {STILL_THERE}", [p for p in params if p]).rowcount


def retry_now(conn: sqlite3.Connection, entries: Sequence[JobEntry], now: float) -> int:
    """Move set entries to the back of their queues (``payloads.retried_now``); malformed ones stay."""
    moved = 0
    queues = set()
    for entry in entries:
        match = _match(entry) if entry.state in SETS else None
        payload = payloads.job_or_none(entry.raw)
        if match is None or payload is None:
            continue  # malformed: it stays where people can see it (the contract's rule)
        row = conn.execute(f"SELECT queue FROM jobs WHERE {STILL_THERE}", match).fetchone()
        if row is None:
            continue
        queue = row[0]
        written = moves.retried_now(payload, entry.state, now)
        if isinstance(written, dict):
            # Readable but not writable: a scheduled or retry row goes to the dead set with the reason,
            # a dead one stays where it is; either way the other entries move on.
            if entry.state != "dead":
                moves.bury(conn, match[0], entry.state, entry.raw, written, "moving it to its queue", now)
            else:
                moves.log.error(
                    "dead job %s (row %d) cannot be written back to its queue (nested too deep?); "
                    "it stays in the dead set",
                    written.get("jid"),
                    match[0],
                )
            continue
        moved += conn.execute(
            "UPDATE jobs SET state = 'enqueued', payload = ?, position = ?, score = NULL WHERE id = ?",
            (written, moves.back_position(conn, queue), match[0]),
        ).rowcount
        queues.add(queue)
    moves.register_queues(conn, queues)
    return moved


def kill_entries(conn: sqlite3.Connection, entries: Sequence[JobEntry], now: float) -> int:
    """Move scheduled and retry entries to the dead set at ``now``, then trim the dead set."""
    params = [
        (now, *match)
        for entry in entries
        if entry.state in ("scheduled", "retry") and (match := _match(entry))
    ]
    moved = conn.executemany(
        f"UPDATE jobs SET state = 'dead', score = ? WHERE {STILL_THERE}", params
    ).rowcount
    if moved:
        moves.trim_dead(conn, now)
    return moved


def clear(conn: sqlite3.Connection, where: str) -> int:
    """Empty ``"queue:NAME"`` (forgetting the name) or the ``"scheduled"``, ``"retry"`` or ``"dead"`` set.

    Running jobs of a cleared queue are left to their owners.
    """
    kind, name = clear_target(where)
    if kind == "queue":
        removed = conn.execute("DELETE FROM jobs WHERE state = 'enqueued' AND queue = ?", (name,)).rowcount
        conn.execute("DELETE FROM queues WHERE name = ?", (name,))
        return removed
    return conn.execute("DELETE FROM jobs WHERE state = ? AND score IS NOT NULL", (name,)).rowcount


def _match(entry: JobEntry) -> tuple[Any, str, str] | None:
    """Parameters for STILL_THERE, or None for an entry that did not come from this store's lists."""
    job_id = entry.extra.get("id")
    return (job_id, entry.state, entry.raw) if isinstance(job_id, int) else None
