"""Unique-job locks in the PostgreSQL store (``Store.push_unique`` / ``Store.release_unique``).

A lock is a row of ``unique_locks``: its key, the jid holding it and when it expires by the server's
clock. The primary key decides races, never an advisory lock (a session advisory lock is lost or
leaked behind PgBouncer): ``INSERT ... ON CONFLICT DO UPDATE ... WHERE expired`` takes a free or
expired key and leaves a live one alone, and racing pushes wait on the row lock, then see the winner.
The job is inserted by the same statement, only when the lock was taken.
"""

from __future__ import annotations

from sidequest.stores.postgres.schema import NOW

# One statement: on an application's connection (sidequest.transaction) it joins the transaction as
# it is; with autocommit it is atomic by itself. The final SELECT counts the inserted job and sends
# its queue's notification when the job is ready now.
PUSH_UNIQUE = f"""
    WITH locked AS (
        INSERT INTO {{s}}.unique_locks AS held (key, jid, expires_at)
        VALUES (%(key)s, %(jid)s, {NOW} + %(ttl)s)
        ON CONFLICT (key) DO UPDATE SET jid = excluded.jid, expires_at = excluded.expires_at
        WHERE held.expires_at <= {NOW}
        RETURNING 1
    ),
    registered AS (
        INSERT INTO {{s}}.queues (name)
        SELECT %(queue)s FROM locked WHERE %(at)s::float8 IS NULL
        ON CONFLICT DO NOTHING
    ),
    inserted AS (
        INSERT INTO {{s}}.jobs (queue, state, payload, position, score)
        SELECT %(queue)s,
               CASE WHEN %(at)s::float8 IS NULL THEN 'enqueued' ELSE 'scheduled' END,
               %(payload)s,
               CASE WHEN %(at)s::float8 IS NULL THEN nextval('{{s}}.back_positions') END,
               %(at)s::float8
        FROM locked
        RETURNING state
    )
    SELECT count(*) FROM (SELECT state, {{notify}} FROM inserted) AS pushed
"""

NOTIFY_EXPRESSION = "CASE WHEN state = 'enqueued' THEN pg_notify(%(channel)s, %(queue)s) END"

# The row goes whatever its expiry (an expired row of this jid is garbage), but only a live one counts
# as released.
RELEASE = f"""
    DELETE FROM {{s}}.unique_locks AS held
    USING unnest(%(keys)s::text[], %(jids)s::text[]) AS wanted(key, jid)
    WHERE held.key = wanted.key AND held.jid = wanted.jid
    RETURNING held.expires_at > {NOW}
"""

# Expired rows stay until their key is pushed again or this sweeps them (run with rescue, every few
# seconds per process): SKIP LOCKED so sweeps never wait on each other or on a push.
SWEEP = f"""
    DELETE FROM {{s}}.unique_locks WHERE key IN (
        SELECT key FROM {{s}}.unique_locks WHERE expires_at <= {NOW}
        ORDER BY expires_at LIMIT 1000 FOR UPDATE SKIP LOCKED
    )
"""
