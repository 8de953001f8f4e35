"""The SQL that moves jobs between states in the PostgreSQL store. ``{s}`` is the quoted schema name;
``%(name)s`` parameters work with psycopg 3 and psycopg2 alike, because ``sidequest.transaction`` runs
the push statements on an application's own connection, which may be either.

Every write that a client makes (push, push_unique) is ONE statement: on an application's connection it
joins the application's transaction as it is, with no savepoint and no second round trip, and with
autocommit it is atomic by itself. NOTIFY is part of that statement (one per distinct queue, never per
job and never from a trigger), so it is delivered at commit or never.
"""

from __future__ import annotations

from sidequest.stores.postgres.schema import NOW

DEAD_MAX_JOBS = 10_000
DEAD_TIMEOUT_SECONDS = 180 * 24 * 3600.0

# The rows come from three parameters (queues and due times as JSON arrays, payloads as their texts
# joined by newlines), so 1 or 100,000 jobs cost one statement: adapting a Python list of 1,000 strings
# into a text[] cost the client 16 ms per 1,000 jobs (measured). The payloads are split, not parsed as
# one JSON array: orjson never writes a raw newline (it escapes control characters), each text is
# stored exactly as written, and the split costs the server ~12% less than parsing every payload.
# A data-modifying CTE runs whether or not the outer query reads it, so the final SELECT can be the
# notification. The queues made ready come as a fourth, short array (the client knows them): found
# with DISTINCT over the rows, they cost the server two sorts of the whole batch, a quarter of its
# time for 1,000 jobs of one queue.
PUSH = """
    WITH input AS MATERIALIZED (
        SELECT queue, payload, at::float8 AS at
        FROM ROWS FROM (
            json_array_elements_text(%(queues)s::json),
            unnest(string_to_array(%(payloads)s, E'\n')),
            json_array_elements_text(%(ats)s::json)
        ) AS t(queue, payload, at)
    ),
    ready AS MATERIALIZED (
        SELECT queue FROM json_array_elements_text(%(ready)s::json) AS r(queue)
    ),
    registered AS (
        INSERT INTO {s}.queues (name)
        SELECT queue FROM ready
        ON CONFLICT DO NOTHING
    ),
    inserted AS (
        INSERT INTO {s}.jobs (queue, state, payload, position, score)
        SELECT queue,
               CASE WHEN at IS NULL THEN 'enqueued' ELSE 'scheduled' END,
               payload,
               CASE WHEN at IS NULL THEN nextval('{s}.back_positions') END,
               at
        FROM input
    )
    SELECT {notify} FROM ready
"""

NOTIFY_EXPRESSION = "pg_notify(%(channel)s, ready.queue)"
NO_NOTIFY_EXPRESSION = "ready.queue"

# Claims and acks commit asynchronously (``synchronous_commit`` off for their own transaction only,
# set inside the statement, so no session state is left behind a pooler): the server answers before
# the WAL reaches the disk. Delivery is at least once either way. A server crash can forget the last
# ~0.6 s of them: a forgotten claim puts the job back in its queue while this process runs it (it may
# run twice), a forgotten ack leaves a finished row running under this process, which the fetcher's
# reconcile after the outage (or the rescuer, once the process is gone) requeues. Pushes and every
# other move stay durable: a forgotten push would lose a job.
ASYNC_COMMIT = "(SELECT set_config('synchronous_commit', 'off', true)) = 'off'"

# FOR UPDATE SKIP LOCKED in a subquery: two claimers never wait for each other, and a row another
# claimer took meanwhile is re-checked (state) and skipped. One statement, so autocommit makes it a
# transaction of its own: nothing is held between claims.
CLAIM = f"""
    UPDATE {{s}}.jobs AS jobs
    SET state = 'running', owner = %(owner)s, claimed_at = {NOW}, claims = jobs.claims + 1
    FROM (
        SELECT id FROM {{s}}.jobs
        WHERE state = 'enqueued' AND queue = %(queue)s
          AND NOT EXISTS (SELECT 1 FROM {{s}}.paused_queues AS p WHERE p.name = %(queue)s)
        ORDER BY position
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    ) AS picked
    WHERE jobs.id = picked.id AND {ASYNC_COMMIT}
    RETURNING jobs.id, jobs.claims, jobs.position, jobs.payload
"""

ANY_READY = "SELECT 1 FROM {s}.jobs WHERE state = 'enqueued' AND queue = ANY(%(queues)s::text[]) LIMIT 1"

OWNED = """
    SELECT id, claims, queue, payload FROM {s}.jobs
    WHERE owner = %(owner)s AND state = 'running'
    ORDER BY id
"""

# Matches a job only while the claim that handed it out still holds it: same row, same claim, same
# owner, still running. Every finishing statement uses it.
# Owner and state come from the ``held`` rows, not constants: with a constant the planner may walk the
# jobs_running index, whose entries for acked rows stay (dead) until vacuum, so every ack of a long
# drain would read them all (measured: 190 ms per ack after 20,000 jobs). Joined this way, each row is
# found by its primary key. Only running rows have an owner, and ``held.state`` is always 'running'.
HELD = (
    "jobs.id = held.id AND jobs.claims = held.claims AND jobs.owner = held.owner AND jobs.state = held.state"
)

DROP_HELD = f"""
    DELETE FROM {{s}}.jobs AS jobs
    USING unnest(%(ids)s::bigint[], %(claims)s::integer[], %(owners)s::text[], %(states)s::text[])
        AS held(id, claims, owner, state)
    WHERE {HELD}
"""
"""Delete held rows, durably (the rescuer dropping a job that asked not to be kept when dead)."""

ACK = f"{DROP_HELD} AND {ASYNC_COMMIT}"
"""Delete finished rows (the acker's batch), committed asynchronously."""

# The acks of the last batch and the next claim in one statement (see ``ack_rides``): two
# data-modifying CTEs over disjoint rows (finished rows are running, claimed ones enqueued), one
# transaction, one round trip. The last row carries the count of rows deleted (its id is NULL).
ACK_AND_CLAIM = f"""
    WITH acked AS ({ACK} RETURNING 1),
    claimed AS ({CLAIM})
    SELECT id, claims, position, payload FROM claimed
    UNION ALL
    SELECT NULL, count(*)::integer, NULL, NULL FROM acked
"""

TO_RETRY = f"""
    UPDATE {{s}}.jobs AS jobs
    SET state = 'retry', queue = %(queue)s, payload = %(payload)s, score = %(at)s,
        owner = NULL, claimed_at = NULL, position = NULL
    FROM (
        SELECT %(id)s::bigint AS id, %(claims)s::integer AS claims, %(owner)s::text AS owner,
               'running' AS state
    ) AS held
    WHERE {HELD}
"""

TO_DEAD = f"""
    UPDATE {{s}}.jobs AS jobs
    SET state = 'dead', queue = %(queue)s, payload = coalesce(%(payload)s, jobs.payload), score = %(at)s,
        owner = NULL, claimed_at = NULL, position = NULL
    FROM (
        SELECT %(id)s::bigint AS id, %(claims)s::integer AS claims, %(owner)s::text AS owner,
               'running' AS state
    ) AS held
    WHERE {HELD}
"""

# Positions for jobs going to the front, handed out lowest last: the caller gives the first job of a
# batch the lowest one, so the batch runs next in the order given.
FRONT_POSITIONS = "SELECT -nextval('{s}.front_positions') FROM generate_series(1, %(count)s)"

# A NULL payload keeps the stored one (requeue); rescue passes the payload with its orphan_count.
TO_FRONT = f"""
    UPDATE {{s}}.jobs AS jobs
    SET state = 'enqueued', payload = coalesce(held.payload, jobs.payload), position = held.position,
        owner = NULL, claimed_at = NULL
    FROM unnest(
        %(ids)s::bigint[], %(claims)s::integer[], %(owners)s::text[], %(states)s::text[],
        %(positions)s::bigint[], %(payloads)s::text[]
    ) AS held(id, claims, owner, state, position, payload)
    WHERE {HELD}
    RETURNING jobs.queue
"""

REGISTER_QUEUES = "INSERT INTO {s}.queues (name) SELECT unnest(%(names)s::text[]) ON CONFLICT DO NOTHING"

NOTIFY = "SELECT pg_notify(%(channel)s, name) FROM unnest(%(names)s::text[]) AS name"

TRIM_DEAD_BY_AGE = "DELETE FROM {s}.jobs WHERE state = 'dead' AND score IS NOT NULL AND score < %(before)s"

# Walks the dead end of jobs_by_score past the newest DEAD_MAX_JOBS entries; the rest go.
TRIM_DEAD_BY_COUNT = """
    DELETE FROM {s}.jobs WHERE id IN (
        SELECT id FROM {s}.jobs
        WHERE state = 'dead' AND score IS NOT NULL
        ORDER BY score DESC, id DESC
        OFFSET %(keep)s
    )
"""

BACK_POSITION = "nextval('{s}.back_positions')"
