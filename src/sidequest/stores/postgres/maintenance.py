"""The PostgreSQL store's process lifecycle and maintenance: heartbeats and leases, remote signals,
promotion of due jobs, rescue of orphans. Each function runs inside one transaction its caller opened.

Leases are the server's clock (``expires_at`` of ``processes``), so ``rescue_orphans`` ignores the
caller's ``now`` for leases exactly as the Redis store does (its leases are key TTLs): a machine with a
wrong clock can neither rescue live processes' jobs nor keep dead ones' jobs from being rescued.
Promotion compares due times with the caller's ``now``, as due times are the callers' clocks too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import psycopg

from sidequest.stores import payloads as shared_payloads
from sidequest.stores.base import Heartbeat, RescueResult
from sidequest.stores.postgres import metrics, moves, payloads
from sidequest.stores.postgres.schema import NOW
from sidequest.stores.postgres.unique import SWEEP

SIGNAL_TTL = 60.0
"""A remote signal not picked up by a beat within this many seconds is dropped (as in Sidekiq)."""

UPSERT_PROCESS = f"""
    INSERT INTO {{s}}.processes (identity, info, busy, busy_count, beat, expires_at, quiet)
    VALUES (%(identity)s, %(info)s, %(busy)s, %(busy_count)s, {NOW}, {NOW} + %(ttl)s, %(quiet)s)
    ON CONFLICT (identity) DO UPDATE SET
        info = excluded.info, busy = excluded.busy, busy_count = excluded.busy_count, beat = excluded.beat,
        expires_at = excluded.expires_at, quiet = excluded.quiet
    RETURNING beat
"""

ADD_STATS = """
    INSERT INTO {s}.stats (day, processed, failed)
    VALUES ('total', %(processed)s, %(failed)s), (%(day)s, %(processed)s, %(failed)s)
    ON CONFLICT (day) DO UPDATE SET
        processed = stats.processed + excluded.processed, failed = stats.failed + excluded.failed
"""

POP_SIGNALS = f"""
    DELETE FROM {{s}}.signals WHERE identity = %(identity)s
    RETURNING id, signal, created_at > {NOW} - %(ttl)s
"""

DUE = """
    SELECT id, payload, score FROM {s}.jobs
    WHERE state = %(state)s AND score <= %(now)s
    ORDER BY score, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
"""

ENQUEUE_DUE = """
    UPDATE {s}.jobs AS jobs
    SET state = 'enqueued', payload = due.payload, position = due.position, score = NULL
    FROM unnest(%(ids)s::bigint[], %(payloads)s::text[], %(positions)s::bigint[])
        AS due(id, payload, position)
    WHERE jobs.id = due.id AND jobs.state IN ('scheduled', 'retry')
    RETURNING jobs.queue
"""

TO_DEAD = """
    UPDATE {s}.jobs SET state = 'dead', score = %(now)s, position = NULL
    WHERE id = ANY(%(ids)s::bigint[]) AND state IN ('scheduled', 'retry')
"""

# Handed out in ascending order, so the soonest due job of a batch runs first.
BACK_POSITIONS = "SELECT nextval('{s}.back_positions') FROM generate_series(1, %(count)s)"

# A job held by an owner that never beat is an orphan too: a process must beat before it claims.
ORPHANS = f"""
    SELECT id, queue, payload, claims, owner FROM {{s}}.jobs AS jobs
    WHERE state = 'running'
      AND owner IS DISTINCT FROM %(exclude)s
      AND NOT EXISTS (
        SELECT 1 FROM {{s}}.processes AS p WHERE p.identity = jobs.owner AND p.expires_at > {NOW}
      )
    ORDER BY claimed_at, id
    LIMIT 10000
    FOR UPDATE SKIP LOCKED
"""

FORGET_EXPIRED_PROCESSES = f"DELETE FROM {{s}}.processes WHERE expires_at <= {NOW} - 60"


def beat(conn: psycopg.Connection[Any], s: str, heartbeat: Heartbeat) -> list[str]:
    """Upsert the process row with its lease (server clock + ttl), add the stats deltas to the total
    and to today's UTC row, pop the process's signals oldest first."""
    process = heartbeat.process
    busy = [
        {"thread_id": work.thread_id, "queue": work.queue, "raw": work.raw, "run_at": work.run_at}
        for work in heartbeat.busy
    ]
    row = conn.execute(
        UPSERT_PROCESS.format(s=s),
        {
            "identity": process.identity,
            "info": payloads.encode(asdict(process)),
            "busy": payloads.encode(busy),
            "busy_count": len(busy),
            "ttl": float(heartbeat.ttl),
            "quiet": bool(process.quiet),
        },
    ).fetchone()
    now = float(row[0]) if row else datetime.now(UTC).timestamp()
    if heartbeat.processed or heartbeat.failed:
        day = datetime.fromtimestamp(now, UTC).date().isoformat()
        conn.execute(
            ADD_STATS.format(s=s), {"processed": heartbeat.processed, "failed": heartbeat.failed, "day": day}
        )
    metrics.record(conn, s, heartbeat.class_metrics(now), now)
    popped = sorted(conn.execute(POP_SIGNALS.format(s=s), {"identity": process.identity, "ttl": SIGNAL_TTL}))
    return [signal for _id, signal, fresh in popped if fresh]


def unregister(conn: psycopg.Connection[Any], s: str, identity: str) -> None:
    """Delete the process row and its pending signals; its jobs (if any) are left for rescue."""
    conn.execute(f"DELETE FROM {s}.processes WHERE identity = %(identity)s", {"identity": identity})
    conn.execute(f"DELETE FROM {s}.signals WHERE identity = %(identity)s", {"identity": identity})


def signal(conn: psycopg.Connection[Any], s: str, identity: str, name: str) -> None:
    """Queue a signal for a process's next beat; drops every signal older than a minute."""
    conn.execute(f"DELETE FROM {s}.signals WHERE created_at <= {NOW} - %(ttl)s", {"ttl": SIGNAL_TTL})
    conn.execute(
        f"INSERT INTO {s}.signals (identity, signal, created_at) VALUES (%(identity)s, %(signal)s, {NOW})",
        {"identity": identity, "signal": name},
    )


def promote_due(conn: psycopg.Connection[Any], s: str, now: float, limit: int) -> list[str]:
    """Move up to ``limit`` scheduled and retry rows due by ``now`` to the back of their queues, soonest
    due first, with ``enqueued_at`` set to ``now``. Returns the queue of each moved job."""
    due: list[tuple[int, str, float]] = []
    for state in ("scheduled", "retry"):
        due.extend(conn.execute(DUE.format(s=s), {"state": state, "now": now, "limit": limit}))
    due.sort(key=lambda row: (row[2], row[0]))
    due = due[:limit]
    # Text that is not a JSON object cannot take an enqueued_at, nor run: the dead set (the contract's rule).
    malformed = [row[0] for row in due if payloads.decode(row[1]) is None]
    if malformed:
        conn.execute(TO_DEAD.format(s=s), {"ids": malformed, "now": now})
        buried = set(malformed)
        due = [row for row in due if row[0] not in buried]
    if not due:
        return []
    rows = conn.execute(
        ENQUEUE_DUE.format(s=s),
        {
            "ids": [row[0] for row in due],
            "payloads": [payloads.with_enqueued_at(row[1], now) for row in due],
            "positions": [row[0] for row in conn.execute(BACK_POSITIONS.format(s=s), {"count": len(due)})],
        },
    ).fetchall()
    queues = sorted({row[0] for row in rows})
    conn.execute(moves.REGISTER_QUEUES.format(s=s), {"names": queues})
    return [row[0] for row in rows]


def end_lease(conn: psycopg.Connection[Any], s: str, identity: str) -> None:
    """Forget a process proven dead: its lease is over, its running rows are orphans."""
    conn.execute(f"DELETE FROM {s}.processes WHERE identity = %(identity)s", {"identity": identity})


def to_front(
    conn: psycopg.Connection[Any],
    s: str,
    owner_of: list[str],
    held: Sequence[tuple[int, int, str | None]],
) -> list[str]:
    """Put held rows ``(id, claims, new payload or None)`` at the front of their queues, the first of
    the list running next; ``owner_of[i]`` is the owner each must still be held by. Returns the queue
    of each moved job."""
    if not held:
        return []
    positions = [row[0] for row in conn.execute(moves.FRONT_POSITIONS.format(s=s), {"count": len(held)})]
    positions.reverse()  # the lowest (latest handed out) goes to the first job
    rows = conn.execute(
        moves.TO_FRONT.format(s=s),
        {
            "owners": list(owner_of),
            "states": ["running"] * len(held),
            "ids": [row[0] for row in held],
            "claims": [row[1] for row in held],
            "positions": positions,
            "payloads": [row[2] for row in held],
        },
    ).fetchall()
    return [row[0] for row in rows]


def rescue_orphans(
    conn: psycopg.Connection[Any], s: str, now: float, max_orphaned: int, exclude: str | None
) -> tuple[RescueResult, list[str]]:
    """Give back the running rows of owners with no live lease: to the front of their queue with
    ``orphan_count`` + 1, or to the dead set once that count passes ``max_orphaned``. Returns what was
    done and the queues that got jobs back. Also forgets long-expired process rows and sweeps expired
    unique locks."""
    orphans = conn.execute(ORPHANS.format(s=s), {"exclude": exclude}).fetchall()
    killed = 0
    owners: list[str] = []
    back: list[tuple[int, int, str | None]] = []
    for job_id, queue, raw, claims, owner in orphans:
        payload = payloads.decode(raw)
        count = shared_payloads.orphan_count(payload) + 1
        if payload is not None and count > max_orphaned and shared_payloads.dropped_when_dead(payload):
            drop = {"ids": [job_id], "claims": [claims], "owners": [owner], "states": ["running"]}
            killed += conn.execute(moves.DROP_HELD.format(s=s), drop).rowcount  # dropped, not kept
            continue
        if payload is not None and count > max_orphaned:
            dead = shared_payloads.orphaned_dead(payload, count, now, max_orphaned)
            params = {
                "queue": payloads.queue_of(dead, queue),
                "payload": payloads.encode(dead),
                "at": now,
                "id": job_id,
                "claims": claims,
                "owner": owner,
            }
            killed += conn.execute(moves.TO_DEAD.format(s=s), params).rowcount
            continue
        if payload is not None:
            payload["orphan_count"] = count
            raw = payloads.encode(payload)
        # A malformed payload cannot carry a count; it goes back as it is and the runtime kills it.
        owners.append(owner)
        back.append((job_id, claims, raw))
    queues = to_front(conn, s, owners, back)
    if queues:
        conn.execute(moves.REGISTER_QUEUES.format(s=s), {"names": sorted(set(queues))})
    if killed:
        trim_dead(conn, s, now)
    conn.execute(FORGET_EXPIRED_PROCESSES.format(s=s))
    conn.execute(SWEEP.format(s=s))
    return RescueResult(requeued=len(queues), killed=killed), queues


def trim_dead(conn: psycopg.Connection[Any], s: str, now: float) -> None:
    """Keep the dead set to Sidekiq's limits: nothing older than 180 days, at most the newest 10,000."""
    conn.execute(moves.TRIM_DEAD_BY_AGE.format(s=s), {"before": now - moves.DEAD_TIMEOUT_SECONDS})
    conn.execute(moves.TRIM_DEAD_BY_COUNT.format(s=s), {"keep": moves.DEAD_MAX_JOBS})
