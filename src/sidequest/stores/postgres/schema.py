"""The PostgreSQL store's schema: numbered, append-only migrations in a PostgreSQL schema of its own
(``sidequest`` unless the URL says ``?schema=``), applied when a store opens, or printed by
``sidequest migrate --print-sql`` for teams whose migrations run through Alembic, Django or Flyway.

Tables: ``jobs`` (every job in every state; finished jobs are deleted, so it holds only waiting, running
and dead work), ``queues`` (known queue names), ``processes`` (heartbeats and leases), ``signals``,
``stats`` (processed/failed per UTC day and in total), ``unique_locks``, ``cron_ticks``,
``cron_entries``, ``paused_queues``, ``class_metrics`` (per class and minute), ``job_states`` and
``counters`` (job records and the expired counter), ``store_info`` (this
store's id, so ``sidequest.transaction`` can tell that an application connection reaches the same
database and schema) and ``migrations``.

Times are epoch seconds (``double precision``). Leases, lock expiries and signal ages use the server's
clock (``clock_timestamp()``), so processes on machines whose clocks disagree still agree on who is alive.

Never edit a migration that has shipped: a database migrated by an older sidequest would not get the
change. Append a new one instead.
"""

from __future__ import annotations

import psycopg

from sidequest.errors import StoreError

NOW = "extract(epoch FROM clock_timestamp())::float8"
"""The server's clock, in epoch seconds: every lease and expiry is written and compared with it."""

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: the initial schema.
    (
        "CREATE SCHEMA IF NOT EXISTS {s}",
        """
        CREATE TABLE {s}.jobs (
            id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            queue      text    NOT NULL,
            state      text    NOT NULL
                CHECK (state IN ('enqueued', 'scheduled', 'running', 'retry', 'dead')),
            payload    text    NOT NULL,  -- the job's JSON exactly as pushed (or as a failure rewrote it)
            position   bigint,            -- order in the queue while enqueued: the lowest runs next
            score      float8,            -- due time (scheduled, retry) or death time (dead), else NULL
            owner      text,              -- identity of the process holding the job while running
            claims     integer NOT NULL DEFAULT 0,  -- bumped on every claim: (id, claims) names one claim
            claimed_at float8
        ) WITH (
            -- Rows change state in place (claim, retry) and leave on ack: room on the page for
            -- HOT updates, and autovacuum that keeps up with a table whose rows are all short-lived.
            fillfactor = 70,
            autovacuum_vacuum_scale_factor = 0.01,
            autovacuum_vacuum_threshold = 1000,
            autovacuum_analyze_scale_factor = 0.02,
            autovacuum_vacuum_cost_delay = 0,
            autovacuum_vacuum_insert_scale_factor = 0.05
        )
        """,
        # Back of a queue: ascending positions. Front (requeue, rescue): -nextval, below every other.
        "CREATE SEQUENCE {s}.back_positions AS bigint",
        "CREATE SEQUENCE {s}.front_positions AS bigint",
        # Claim and list_queue walk this in order; partial, so scheduled/dead rows cost it nothing.
        "CREATE INDEX jobs_ready ON {s}.jobs (queue, position) WHERE state = 'enqueued'",
        # Promotion (scheduled, retry), the set pages and dead-set trimming, all in (score, id) order,
        # so a LIMIT reads only the rows it returns even when 100,000 jobs fall due at once.
        "CREATE INDEX jobs_by_score ON {s}.jobs (state, score, id) WHERE score IS NOT NULL",
        # Rescue and owned() look for running jobs by owner.
        "CREATE INDEX jobs_running ON {s}.jobs (owner) WHERE state = 'running'",
        "CREATE TABLE {s}.queues (name text PRIMARY KEY)",
        """
        CREATE TABLE {s}.processes (
            identity   text    PRIMARY KEY,
            info       text    NOT NULL,  -- ProcessInfo as a JSON object
            busy       text    NOT NULL,  -- JSON array of {{thread_id, queue, raw, run_at}}
            busy_count integer NOT NULL,
            beat       float8  NOT NULL,
            expires_at float8  NOT NULL,  -- the lease, by the server's clock
            quiet      boolean NOT NULL
        ) WITH (fillfactor = 50)
        """,
        """
        CREATE TABLE {s}.signals (
            id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            identity   text   NOT NULL,
            signal     text   NOT NULL,
            created_at float8 NOT NULL
        )
        """,
        "CREATE INDEX signals_by_identity ON {s}.signals (identity)",
        """
        CREATE TABLE {s}.stats (
            day       text   PRIMARY KEY,  -- 'total' or a UTC date 'YYYY-MM-DD'
            processed bigint NOT NULL DEFAULT 0,
            failed    bigint NOT NULL DEFAULT 0
        ) WITH (fillfactor = 50)
        """,
        """
        CREATE TABLE {s}.unique_locks (
            key        text   PRIMARY KEY,  -- sidequest.unique.lock_key
            jid        text   NOT NULL,     -- the job holding the lock; only it may release it
            expires_at float8 NOT NULL      -- server clock; past it the key is free
        )
        """,
        "CREATE INDEX unique_locks_by_expiry ON {s}.unique_locks (expires_at)",
        """
        CREATE TABLE {s}.cron_ticks (
            entry       text   NOT NULL,
            tick        bigint NOT NULL,  -- epoch second of the tick: (entry, tick) is enqueued once
            jid         text   NOT NULL,
            enqueued_at float8 NOT NULL,
            PRIMARY KEY (entry, tick)
        )
        """,
        """
        CREATE TABLE {s}.cron_entries (
            name        text    PRIMARY KEY,
            last_tick   bigint,
            last_jid    text,
            enqueued_at float8,
            paused      boolean NOT NULL DEFAULT false
        )
        """,
        """
        CREATE TABLE {s}.store_info (
            id text PRIMARY KEY DEFAULT md5(random()::text || clock_timestamp()::text)
        )
        """,
        "INSERT INTO {s}.store_info DEFAULT VALUES",
    ),
    # 2: paused queues and per-class execution metrics (the dashboard's /queues and /metrics).
    (
        # Apart from ``queues``: clearing a queue forgets its name, not that people paused it (as
        # Sidekiq Pro's ``paused`` SET outlives a clear).
        "CREATE TABLE {s}.paused_queues (name text PRIMARY KEY)",
        """
        CREATE TABLE {s}.class_metrics (
            class     text    NOT NULL,
            minute    bigint  NOT NULL,  -- epoch seconds of the UTC minute's start
            processed bigint  NOT NULL DEFAULT 0,  -- failures included, as in Sidekiq
            failed    bigint  NOT NULL DEFAULT 0,
            ms        float8  NOT NULL DEFAULT 0,  -- total execution time of the successful runs
            histogram bigint[] NOT NULL DEFAULT '{{}}',  -- counts in Sidekiq 7's buckets
            PRIMARY KEY (class, minute)
        )
        """,
        "CREATE INDEX class_metrics_by_minute ON {s}.class_metrics (minute)",
    ),
    # 3: rate limiters (sidequest.limiter; see stores/limiter_sql.py).
    (
        """
        CREATE TABLE {s}.limiters (
            kind      text    NOT NULL,  -- 'concurrent', 'bucket', 'window' or 'leaky'
            name      text    NOT NULL,
            size      integer NOT NULL,
            period    float8  NOT NULL,  -- seconds (concurrent: the lock timeout)
            mark      float8  NOT NULL DEFAULT 0,  -- bucket: its interval's start; leaky: level's time
            level     float8  NOT NULL DEFAULT 0,  -- bucket: uses in the interval; leaky: the level
            allowed   bigint  NOT NULL DEFAULT 0,
            refused   bigint  NOT NULL DEFAULT 0,
            last_used float8,
            PRIMARY KEY (kind, name)
        )
        """,
        """
        CREATE TABLE {s}.limiter_uses (
            kind  text   NOT NULL,
            name  text   NOT NULL,
            token text   NOT NULL,
            at    float8 NOT NULL,  -- concurrent: when the holder's lock expires; window: when used
            PRIMARY KEY (kind, name, token)
        )
        """,
        "CREATE INDEX limiter_uses_by_time ON {s}.limiter_uses (kind, name, at)",
    ),
    # 4: job records (iterable jobs' progress, cancelled flags) and named counters (expired jobs).
    (
        """
        CREATE TABLE {s}.job_states (
            jid          text    PRIMARY KEY,
            cursor       text,              -- JSON text of the last handled item's cursor
            executions   integer NOT NULL DEFAULT 0,
            runtime      float8  NOT NULL DEFAULT 0,
            cancelled_at float8,            -- set once by the first cancel
            expires_at   float8  NOT NULL   -- the server's epoch seconds; past it the row is gone
        )
        """,
        "CREATE INDEX job_states_by_expiry ON {s}.job_states (expires_at)",
        "CREATE TABLE {s}.counters (name text PRIMARY KEY, value bigint NOT NULL DEFAULT 0)",
    ),
    # 5: batches (sidequest.batch; the logic is stores/sql_batches.py, shared with SQLite).
    (
        """
        CREATE TABLE {s}.batches (
            bid         text    PRIMARY KEY,
            parent      text,              -- the parent batch's bid; NULL for a top-level batch
            description text    NOT NULL,
            created_at  float8  NOT NULL,
            linger      float8  NOT NULL,  -- seconds kept after success
            expires_at  float8  NOT NULL,  -- when the row may be swept
            callbacks   text    NOT NULL,  -- JSON [[event, jid, queue, template], ...]
            tail        text    NOT NULL,  -- the static end of every status's JSON
            fired       text    NOT NULL,  -- JSON object: event -> time fired
            total       bigint  NOT NULL,  -- members, and of them: never ran, not succeeded, failed
            unrun       bigint  NOT NULL,
            pending     bigint  NOT NULL,
            failures    bigint  NOT NULL
        )
        """,
        "CREATE INDEX batches_by_created ON {s}.batches (created_at)",
        "CREATE INDEX batches_by_expiry ON {s}.batches (expires_at)",
        """
        CREATE TABLE {s}.batch_members (
            bid       text     NOT NULL,
            member    text     NOT NULL,   -- a jid, or b-<bid> for a child batch
            ran       smallint NOT NULL DEFAULT 0,
            succeeded smallint NOT NULL DEFAULT 0,
            failed    smallint NOT NULL DEFAULT 0,
            PRIMARY KEY (bid, member)
        )
        """,
    ),
)

MIGRATIONS_TABLE = """
    CREATE TABLE IF NOT EXISTS {s}.migrations (
        version    integer PRIMARY KEY,
        applied_at timestamptz NOT NULL DEFAULT now()
    )
"""


def quoted(schema: str) -> str:
    """The schema name as an SQL identifier (validated by connection.parse_url: plain lower-case)."""
    return f'"{schema}"'


def migration_sql(schema: str) -> str:
    """Every migration as one SQL script, each recorded in ``migrations``: what
    ``sidequest migrate --print-sql`` prints, for a team's own migration tool."""
    s = quoted(schema)
    lines = [f"-- sidequest PostgreSQL store, schema {schema}", "BEGIN;", f"CREATE SCHEMA IF NOT EXISTS {s};"]
    lines.append(MIGRATIONS_TABLE.format(s=s).strip() + ";")
    for number, statements in enumerate(MIGRATIONS, start=1):
        lines.append(f"-- migration {number}")
        lines.extend(_dedent(statement.format(s=s)) + ";" for statement in statements)
        lines.append(f"INSERT INTO {s}.migrations (version) VALUES ({number}) ON CONFLICT DO NOTHING;")
    lines.append("COMMIT;")
    return "\n".join(lines) + "\n"


def _dedent(statement: str) -> str:
    import textwrap

    return textwrap.dedent(statement).strip()


def migrate(conn: psycopg.Connection[tuple[object, ...]], schema: str) -> None:
    """Apply the migrations the database lacks, in one transaction.

    Safe when several processes open a new database at once: a transaction-level advisory lock
    (released at commit, so it works behind PgBouncer too) lets one of them migrate while the others
    wait, then they find every migration applied.
    """
    s = quoted(schema)
    if _applied(conn, schema) == len(MIGRATIONS):
        return
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"sidequest-migrate-{schema}",))
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {s}")
        conn.execute(MIGRATIONS_TABLE.format(s=s))
        version = _applied(conn, schema)
        if version > len(MIGRATIONS):
            raise StoreError(
                f"schema {schema} was migrated by a newer sidequest (version {version}, this one knows "
                f"{len(MIGRATIONS)}); upgrade sidequest"
            )
        for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in statements:
                conn.execute(statement.format(s=s))
            conn.execute(f"INSERT INTO {s}.migrations (version) VALUES (%s)", (number,))


def _applied(conn: psycopg.Connection[tuple[object, ...]], schema: str) -> int:
    row = conn.execute("SELECT to_regclass(%s)", (f"{quoted(schema)}.migrations",)).fetchone()
    if row is None or row[0] is None:
        return 0
    found = conn.execute(f"SELECT coalesce(max(version), 0) FROM {quoted(schema)}.migrations").fetchone()
    return int(str(found[0])) if found else 0
