"""The PostgreSQL store's admin side: what the dashboard and the CLI read and do. Every function runs
inside a transaction opened by :class:`sidequest.stores.postgres.store.PostgresStore` (reads see one
snapshot: ``REPEATABLE READ, READ ONLY``).

Listed entries carry their row id in ``JobEntry.extra["id"]``. Actions match a row by id, state and the
exact payload text, so an entry that moved since it was listed is skipped instead of acted on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import date, timedelta
from typing import Any

import psycopg

from sidequest.job import (
    Counts,
    JobEntry,
    ProcessInfo,
    QueueInfo,
    SetName,
    WorkInfo,
    timestamp_seconds,
)
from sidequest.stores.base import clear_target
from sidequest.stores.postgres import payloads
from sidequest.stores.postgres.maintenance import trim_dead
from sidequest.stores.postgres.schema import NOW

SETS: tuple[SetName, ...] = ("scheduled", "retry", "dead")
PROCESS_FIELDS = frozenset(field.name for field in fields(ProcessInfo))

QUEUE_SIZES = "SELECT queue, count(*) FROM {s}.jobs WHERE state = 'enqueued' GROUP BY queue"
NEXT_IN_QUEUE = """
    SELECT payload FROM {s}.jobs WHERE state = 'enqueued' AND queue = %(queue)s ORDER BY position LIMIT 1
"""
SET_SIZES = "SELECT state, count(*) FROM {s}.jobs WHERE score IS NOT NULL GROUP BY state"
LIVE_PROCESSES = f"""
    SELECT count(*), coalesce(sum(busy_count), 0) FROM {{s}}.processes WHERE expires_at > {NOW}
"""
LIVE_PROCESS_ROWS = f"""
    SELECT info, busy_count, beat, quiet FROM {{s}}.processes WHERE expires_at > {NOW} ORDER BY identity
"""
LIVE_BUSY = f"SELECT identity, busy FROM {{s}}.processes WHERE expires_at > {NOW} ORDER BY identity"
QUEUE_PAGE = """
    SELECT id, payload FROM {s}.jobs
    WHERE state = 'enqueued' AND queue = %(queue)s
    ORDER BY position
    LIMIT %(limit)s OFFSET %(offset)s
"""
# Sorted sets page by score: soonest due first, except the dead set, latest death first.
SET_PAGE = """
    SELECT id, queue, payload, score FROM {s}.jobs
    WHERE state = %(state)s AND score IS NOT NULL
    ORDER BY score {direction}, id {direction}
    LIMIT %(limit)s OFFSET %(offset)s
"""
MATCHES = "jobs.id = listed.id AND jobs.state = listed.state AND jobs.payload = listed.payload"
LISTED = "unnest(%(ids)s::bigint[], %(states)s::text[], %(payloads)s::text[]) AS listed(id, state, payload)"


def queues(conn: psycopg.Connection[Any], s: str, now: float) -> list[QueueInfo]:
    """Every registered, paused or non-empty queue with its size, latency and paused flag, by name."""
    sizes: dict[str, int] = {name: count for name, count in conn.execute(QUEUE_SIZES.format(s=s))}
    names = {row[0] for row in conn.execute(f"SELECT name FROM {s}.queues")} | sizes.keys()
    # A paused queue is listed even once cleared, so people can resume it.
    paused = {row[0] for row in conn.execute(f"SELECT name FROM {s}.paused_queues")}
    names |= paused
    infos = []
    for name in sorted(names):
        latency = 0.0
        if sizes.get(name):
            row = conn.execute(NEXT_IN_QUEUE.format(s=s), {"queue": name}).fetchone()
            payload = payloads.decode(row[0]) if row else None
            enqueued_at = timestamp_seconds(payload.get("enqueued_at")) if payload else None
            latency = max(now - enqueued_at, 0.0) if enqueued_at is not None else 0.0
        infos.append(QueueInfo(name=name, size=sizes.get(name, 0), latency=latency, paused=name in paused))
    return infos


def pause_queue(conn: psycopg.Connection[Any], s: str, name: str, paused: bool) -> None:
    """Add ``name`` to ``paused_queues`` (claims skip it) or remove it; idempotent."""
    if paused:
        conn.execute(
            f"INSERT INTO {s}.paused_queues (name) VALUES (%(name)s) ON CONFLICT DO NOTHING", {"name": name}
        )
    else:
        conn.execute(f"DELETE FROM {s}.paused_queues WHERE name = %(name)s", {"name": name})


def counts(conn: psycopg.Connection[Any], s: str) -> Counts:
    """Store-wide totals; ``busy`` sums the busy lists the live processes published."""
    total = conn.execute(f"SELECT processed, failed FROM {s}.stats WHERE day = 'total'").fetchone() or (0, 0)
    in_sets: dict[str, int] = {state: count for state, count in conn.execute(SET_SIZES.format(s=s))}
    enqueued_row = conn.execute(f"SELECT count(*) FROM {s}.jobs WHERE state = 'enqueued'").fetchone()
    live = conn.execute(LIVE_PROCESSES.format(s=s)).fetchone() or (0, 0)
    return Counts(
        processed=int(total[0]),
        failed=int(total[1]),
        enqueued=int(enqueued_row[0]) if enqueued_row else 0,
        scheduled=in_sets.get("scheduled", 0),
        retry=in_sets.get("retry", 0),
        dead=in_sets.get("dead", 0),
        processes=int(live[0]),
        busy=int(live[1]),
    )


def history(conn: psycopg.Connection[Any], s: str, days: int, today: date) -> list[tuple[date, int, int]]:
    """Processed and failed for ``days`` UTC days ending at ``today``, newest first, 0 where unknown."""
    wanted = [today - timedelta(days=back) for back in range(max(days, 0))]
    if not wanted:
        return []
    rows = conn.execute(
        f"SELECT day, processed, failed FROM {s}.stats WHERE day = ANY(%(days)s)",
        {"days": [day.isoformat() for day in wanted]},
    )
    known = {day: (int(processed), int(failed)) for day, processed, failed in rows}
    return [(day, *known.get(day.isoformat(), (0, 0))) for day in wanted]


def list_queue(conn: psycopg.Connection[Any], s: str, queue: str, offset: int, limit: int) -> list[JobEntry]:
    """A page of ``queue``, the next job to run first."""
    rows = conn.execute(
        QUEUE_PAGE.format(s=s), {"queue": queue, "limit": max(limit, 0), "offset": max(offset, 0)}
    )
    return [payloads.row_entry("enqueued", queue, job_id, raw, None) for job_id, raw in rows]


def list_set(conn: psycopg.Connection[Any], s: str, name: SetName, offset: int, limit: int) -> list[JobEntry]:
    """A page of the scheduled or retry set (soonest first) or the dead set (latest first)."""
    if name not in SETS:
        raise ValueError(f"unknown set {name!r}; the sets are {', '.join(SETS)}")
    sql = SET_PAGE.format(s=s, direction="DESC" if name == "dead" else "ASC")
    rows = conn.execute(sql, {"state": name, "limit": max(limit, 0), "offset": max(offset, 0)})
    return [payloads.row_entry(name, queue, job_id, raw, score) for job_id, queue, raw, score in rows]


def processes(conn: psycopg.Connection[Any], s: str) -> list[ProcessInfo]:
    """Processes whose lease has not expired, by identity; ``busy`` is the length of their busy list."""
    found = []
    for info, busy, beat, quiet in conn.execute(LIVE_PROCESS_ROWS.format(s=s)):
        known = {key: value for key, value in (payloads.decode(info) or {}).items() if key in PROCESS_FIELDS}
        found.append(ProcessInfo(**{**known, "busy": busy, "beat": beat, "quiet": bool(quiet)}))
    return found


def busy(conn: psycopg.Connection[Any], s: str) -> list[WorkInfo]:
    """The jobs live processes published as running at their last beat."""
    work = []
    for identity, listed in conn.execute(LIVE_BUSY.format(s=s)):
        for item in payloads.decode_list(listed):
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


def delete(conn: psycopg.Connection[Any], s: str, entries: Sequence[JobEntry]) -> int:
    """Delete the entries still where they were listed."""
    listed = _listed([entry for entry in entries if entry.state != "running"])
    if listed is None:
        return 0
    return conn.execute(f"DELETE FROM {s}.jobs AS jobs USING {LISTED} WHERE {MATCHES}", listed).rowcount


def retry_now(conn: psycopg.Connection[Any], s: str, entries: Sequence[JobEntry], now: float) -> list[str]:
    """Move set entries to the back of their queues, ``retry_count`` one down, ``enqueued_at`` now.
    Returns the queue of each moved job."""
    # A malformed entry stays where people can see it (the contract's rule).
    wanted = [
        (entry, payload)
        for entry in entries
        if entry.state in SETS and isinstance(entry.extra.get("id"), int)
        if (payload := payloads.job_or_none(entry.raw)) is not None
    ]
    listed = _listed([entry for entry, _ in wanted])
    if listed is None:
        return []
    count = len(listed["ids"])
    listed["new"] = [payloads.retried_now(payload, entry.state, now) for entry, payload in wanted]
    listed["positions"] = [
        row[0]
        for row in conn.execute(
            f"SELECT nextval('{s}.back_positions') FROM generate_series(1, %(n)s)", {"n": count}
        )
    ]
    rows = conn.execute(
        f"""
        UPDATE {s}.jobs AS jobs
        SET state = 'enqueued', payload = listed.new, position = listed.position, score = NULL
        FROM unnest(%(ids)s::bigint[], %(states)s::text[], %(payloads)s::text[], %(new)s::text[],
                    %(positions)s::bigint[]) AS listed(id, state, payload, new, position)
        WHERE {MATCHES}
        RETURNING jobs.queue
        """,
        listed,
    ).fetchall()
    queues = sorted({row[0] for row in rows})
    conn.execute(
        f"INSERT INTO {s}.queues (name) SELECT unnest(%(names)s::text[]) ON CONFLICT DO NOTHING",
        {"names": queues},
    )
    return [row[0] for row in rows]


def kill_entries(conn: psycopg.Connection[Any], s: str, entries: Sequence[JobEntry], now: float) -> int:
    """Move scheduled and retry entries to the dead set at ``now``, then trim the dead set."""
    listed = _listed([entry for entry in entries if entry.state in ("scheduled", "retry")])
    if listed is None:
        return 0
    listed["now"] = now
    moved = conn.execute(
        f"UPDATE {s}.jobs AS jobs SET state = 'dead', score = %(now)s FROM {LISTED} WHERE {MATCHES}", listed
    ).rowcount
    if moved:
        trim_dead(conn, s, now)
    return moved


def clear(conn: psycopg.Connection[Any], s: str, where: str) -> int:
    """Empty ``"queue:NAME"`` (forgetting the name) or the ``"scheduled"``, ``"retry"`` or ``"dead"`` set.
    Running jobs of a cleared queue are left to their owners."""
    kind, name = clear_target(where)
    if kind == "queue":
        removed = conn.execute(
            f"DELETE FROM {s}.jobs WHERE state = 'enqueued' AND queue = %(name)s", {"name": name}
        ).rowcount
        conn.execute(f"DELETE FROM {s}.queues WHERE name = %(name)s", {"name": name})
        return removed
    return conn.execute(
        f"DELETE FROM {s}.jobs WHERE state = %(state)s AND score IS NOT NULL", {"state": name}
    ).rowcount


def _listed(entries: Sequence[JobEntry]) -> dict[str, Any] | None:
    """Array parameters for LISTED, for entries that came from this store's lists; None when none did."""
    mine = [entry for entry in entries if isinstance(entry.extra.get("id"), int)]
    if not mine:
        return None
    return {
        "ids": [entry.extra["id"] for entry in mine],
        "states": [entry.state for entry in mine],
        "payloads": [entry.raw for entry in mine],
    }
