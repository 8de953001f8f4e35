"""Unique-job locks in the SQLite store (``Store.push_unique`` / ``Store.release_unique``).

A lock is a row of ``unique_locks``: its key, the jid holding it and when it expires, by this machine's
clock (every process sharing the file reads the same clock). A key is free when it has no row or its
row has expired. Taking the lock and inserting the job run in the caller's one ``BEGIN IMMEDIATE``
transaction, so racing pushes from any thread or process are ordered by the file's write lock and
exactly one of them finds the key free.

Tables touched: ``unique_locks``, ``jobs``, ``queues``. Every function runs inside a write transaction
its caller opened.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from sidequest.job import NewJob
from sidequest.stores.sqlite import moves

# The upsert's WHERE leaves a live lock alone: rowcount is 1 when this push took the key, 0 when a
# live lock of any jid holds it.
TAKE = """
    INSERT INTO unique_locks (key, jid, expires_at) VALUES (?, ?, ?)
    ON CONFLICT (key) DO UPDATE SET jid = excluded.jid, expires_at = excluded.expires_at
    WHERE unique_locks.expires_at <= ?
"""

# Redis forgets an expired lock by itself; here its row stays until the key is pushed again or this
# sweeps it. A lock is left to expire only when its release was missed (a crash between success and
# release, a job deleted by hand, a poison pill killed by the rescuer), so a few rows per unique push
# keep the table the size of the live locks without a maintenance service of its own.
SWEEP_LIMIT = 100
SWEEP = """
    DELETE FROM unique_locks
    WHERE key IN (SELECT key FROM unique_locks WHERE expires_at <= ? LIMIT ?)
"""

# The row goes whatever its expiry (an expired row of this jid is garbage), but only a live one counts
# as released, as in Redis, where the expired key is already gone.
RELEASE = "DELETE FROM unique_locks WHERE key = ? AND jid = ? RETURNING expires_at"

INSERT_ENQUEUED = "INSERT INTO jobs (queue, state, payload, position) VALUES (?, 'enqueued', ?, ?)"
INSERT_SCHEDULED = "INSERT INTO jobs (queue, state, payload, score) VALUES (?, 'scheduled', ?, ?)"


def push_unique(conn: sqlite3.Connection, job: NewJob, raw: str, key: str, now: float, ttl: float) -> bool:
    """Take lock ``key`` for the job's jid until ``now + ttl`` and insert the job (``raw`` is its
    payload, serialized before the transaction). False, with nothing written, when the key is held."""
    conn.execute(SWEEP, (now, SWEEP_LIMIT))
    if conn.execute(TAKE, (key, str(job.payload["jid"]), now + ttl, now)).rowcount != 1:
        return False
    queue = moves.queue_of(job.payload)
    if job.at is None:
        conn.execute(INSERT_ENQUEUED, (queue, raw, moves.back_position(conn, queue)))
        moves.register_queues(conn, [queue])
    else:
        conn.execute(INSERT_SCHEDULED, (queue, raw, float(job.at)))
    return True


def release_unique(conn: sqlite3.Connection, locks: Sequence[tuple[str, str]], now: float) -> int:
    """Delete each ``(key, jid)`` lock ``jid`` holds; returns how many of them were still live."""
    released = 0
    for key, jid in locks:
        row = conn.execute(RELEASE, (key, jid)).fetchone()
        if row is not None and row[0] > now:
            released += 1
    return released
