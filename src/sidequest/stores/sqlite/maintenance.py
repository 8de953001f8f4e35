"""The SQLite store's process lifecycle and maintenance: heartbeats and leases, remote signals,
promotion of due jobs, rescue of orphans. Every function runs inside a BEGIN IMMEDIATE transaction
opened by :class:`sidequest.stores.sqlite.SQLiteStore`, so a promotion or a rescue run by every process
at once still moves each job exactly once (the write lock orders them).

Tables touched: ``processes``, ``signals``, ``stats``, ``jobs``, ``queues``.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import asdict
from datetime import UTC, datetime

from sidequest.stores import payloads
from sidequest.stores.base import Heartbeat, RescueResult
from sidequest.stores.sqlite import metrics, moves

SIGNAL_TTL = 60.0
"""A remote signal not picked up by a beat within this many seconds is dropped (as in Sidekiq)."""

UPSERT_PROCESS = """
    INSERT INTO processes (identity, info, busy, beat, expires_at, quiet)
    VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (identity) DO UPDATE SET
        info = excluded.info, busy = excluded.busy, beat = excluded.beat,
        expires_at = excluded.expires_at, quiet = excluded.quiet
"""

ADD_STATS = """
    INSERT INTO stats (day, processed, failed) VALUES (?, ?, ?)
    ON CONFLICT (day) DO UPDATE SET
        processed = processed + excluded.processed, failed = failed + excluded.failed
"""

POP_SIGNALS = "DELETE FROM signals WHERE identity = ? RETURNING id, signal, created_at"

DUE = """
    SELECT id, queue, payload, score FROM jobs
    WHERE state = ? AND score <= ?
    ORDER BY score, id
    LIMIT ?
"""

ENQUEUE_DUE = """
    UPDATE jobs SET state = 'enqueued', payload = ?, position = ?, score = NULL
    WHERE id = ? AND state IN ('scheduled', 'retry')
"""

# A job held by an owner that never beat is an orphan too: a process must beat before it claims.
ORPHANS = """
    SELECT id, queue, payload, claims, owner FROM jobs
    WHERE state = 'running'
      AND owner NOT IN (SELECT identity FROM processes WHERE expires_at > ?)
      AND owner IS NOT ?
    ORDER BY claimed_at, id
"""

RESCUING = "rescuing it from a process that stopped"

# A poison pill that says "dead": false is dropped, not kept (the contract's rule for every store).
DROP_HELD = f"DELETE FROM jobs WHERE {moves.HELD}"

FORGET_EXPIRED_PROCESSES = "DELETE FROM processes WHERE expires_at <= ?"


def beat(conn: sqlite3.Connection, heartbeat: Heartbeat, now: float) -> list[str]:
    """Upsert the process row with its lease (``now + ttl``), add the stats deltas to the total and to
    the UTC day of ``now``, and pop the process's signals, oldest first."""
    process = heartbeat.process
    busy = [
        {"thread_id": work.thread_id, "queue": work.queue, "raw": work.raw, "run_at": work.run_at}
        for work in heartbeat.busy
    ]
    row = (
        process.identity,
        moves.encode(asdict(process)),
        moves.encode(busy),
        now,
        now + heartbeat.ttl,
        int(process.quiet),
    )
    conn.execute(UPSERT_PROCESS, row)
    if heartbeat.processed or heartbeat.failed:
        day = datetime.fromtimestamp(now, UTC).date().isoformat()
        deltas = [(key, heartbeat.processed, heartbeat.failed) for key in ("total", day)]
        conn.executemany(ADD_STATS, deltas)
    metrics.record(conn, heartbeat.class_metrics(now), now)
    popped = sorted(conn.execute(POP_SIGNALS, (process.identity,)).fetchall())
    return [signal for _id, signal, created_at in popped if created_at > now - SIGNAL_TTL]


def unregister(conn: sqlite3.Connection, identity: str) -> None:
    """Delete the process row and its pending signals; its jobs (if any) are left for rescue."""
    conn.execute("DELETE FROM processes WHERE identity = ?", (identity,))
    conn.execute("DELETE FROM signals WHERE identity = ?", (identity,))


def signal(conn: sqlite3.Connection, identity: str, name: str, now: float) -> None:
    """Queue a signal for a process's next beat; drops every signal older than a minute."""
    conn.execute("DELETE FROM signals WHERE created_at <= ?", (now - SIGNAL_TTL,))
    conn.execute("INSERT INTO signals (identity, signal, created_at) VALUES (?, ?, ?)", (identity, name, now))


def promote_due(conn: sqlite3.Connection, now: float, limit: int) -> int:
    """Move up to ``limit`` scheduled and retry rows due by ``now`` to the back of their queues, soonest
    due first, with ``enqueued_at`` set to ``now``. Returns how many moved.

    Row by row: text that is not a JSON object, and a payload that cannot be written back
    (``moves.bury``), go to the dead set as stored and the other rows move on; they count as not moved.
    """
    due = [
        (*row, state) for state in ("scheduled", "retry") for row in conn.execute(DUE, (state, now, limit))
    ]
    due.sort(key=lambda row: (row[3], row[0]))
    by_queue: dict[str, list[tuple[int, str]]] = {}
    buried = 0
    for job_id, queue, raw, _score, state in due[:limit]:
        if moves.decode(raw) is None:
            # Not a JSON object: nothing can set its enqueued_at or run it (the contract's rule).
            buried += conn.execute(moves.BURY, (raw, float(now), job_id, state)).rowcount
            continue
        written = moves.with_enqueued_at(raw, now)
        if isinstance(written, dict):
            buried += moves.bury(conn, job_id, state, raw, written, "promoting it to its queue", now)
            continue
        by_queue.setdefault(queue, []).append((job_id, written))
    moved = 0
    for queue, rows in by_queue.items():
        first = moves.back_position(conn, queue)
        params = [(written, first + i, job_id) for i, (job_id, written) in enumerate(rows)]
        moved += conn.executemany(ENQUEUE_DUE, params).rowcount
    moves.register_queues(conn, by_queue)
    if buried:
        moves.trim_dead(conn, now)
    return moved


def end_lease(conn: sqlite3.Connection, identity: str) -> None:
    """Forget a process proven dead: its lease is over, its running rows are orphans."""
    conn.execute("DELETE FROM processes WHERE identity = ?", (identity,))


def rescue_orphans(
    conn: sqlite3.Connection, now: float, max_orphaned: int, exclude: str | None = None
) -> RescueResult:
    """Give back the running rows of owners with no unexpired process row: to the front of their queue
    with ``orphan_count`` + 1, or to the dead set once that count passes ``max_orphaned``.

    Also forgets expired process rows: their jobs are rescued by now, and a process that was only slow
    (a long GC pause, a suspended laptop) writes its row again at its next beat.
    """
    requeued = killed = 0
    # Leases are judged by the store's clock, never by ``now`` (the contract's rule): on an embedded
    # store that is this process's clock as the pass runs, as it was for the beat that wrote them.
    clock = time.time()
    orphans = conn.execute(ORPHANS, (clock, exclude)).fetchall()
    # Last first, so the jobs claimed first end up at the very front. Row by row: a payload that
    # cannot be written back goes to the dead set as stored, and the other orphans are rescued.
    for job_id, queue, raw, claims, owner in reversed(orphans):
        payload = moves.decode(raw)
        if payload is None:
            # A malformed payload cannot carry a count; it goes back as it is and the runtime kills it.
            requeued += conn.execute(moves.TO_FRONT, (None, job_id, claims, owner)).rowcount
            continue
        count = payloads.orphan_count(payload) + 1
        if count > max_orphaned and payloads.dropped_when_dead(payload):
            killed += conn.execute(DROP_HELD, (job_id, claims, owner)).rowcount
            continue
        if count > max_orphaned:
            dead = payloads.orphaned_dead(payload, count, now, max_orphaned)
            written = moves.try_encode(dead)
            if written is None:
                killed += moves.bury(conn, job_id, "running", raw, payload, RESCUING, now)
                continue
            conn.execute(moves.TO_DEAD, (moves.queue_of(dead, queue), written, now, job_id, claims, owner))
            killed += 1
            continue
        written = moves.try_encode({**payload, "orphan_count": count})
        if written is None:
            killed += moves.bury(conn, job_id, "running", raw, payload, RESCUING, now)
            continue
        requeued += conn.execute(moves.TO_FRONT, (written, job_id, claims, owner)).rowcount
    if orphans:
        moves.register_queues(conn, {row[1] for row in orphans})
    if killed:
        moves.trim_dead(conn, now)
    conn.execute(FORGET_EXPIRED_PROCESSES, (clock,))
    return RescueResult(requeued=requeued, killed=killed)
