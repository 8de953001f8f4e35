"""The SQLite store's file: where a URL puts it, how a connection is set up, and the schema as
numbered, append-only migrations.

Tables: ``jobs`` (every job in every state), ``queues`` (known queue names), ``processes`` (heartbeats
and leases), ``signals`` (remote TSTP/TERM/TTIN waiting for a beat), ``stats`` (processed/failed per UTC
day and in total), ``unique_locks`` (unique jobs' locks), ``cron_ticks`` and ``cron_entries`` (periodic
jobs), ``paused_queues`` and ``class_metrics`` (per class and minute), ``limiters`` and
``limiter_uses`` (rate limiters), ``job_states`` and ``counters`` (job records and the expired
counter). ``PRAGMA user_version`` records
how many migrations a file has had.

Never edit a migration that has shipped: a file migrated by an older sidequest would not get the change.
Append a new one instead.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time

from sidequest.errors import ConfigurationError, PermanentStoreError, StoreError

BUSY_TIMEOUT_SECONDS = 10.0
"""How long a write waits for another process's write transaction before it fails with SQLITE_BUSY."""

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: the initial schema.
    (
        """
        CREATE TABLE jobs (
            id         INTEGER PRIMARY KEY,
            queue      TEXT    NOT NULL,
            -- 'enqueued', 'scheduled', 'running', 'retry' or 'dead'. No CHECK constraint: it would
            -- double the cost of an insert (measured), and only this package writes the column.
            state      TEXT    NOT NULL,
            payload    TEXT    NOT NULL,  -- the job's JSON exactly as pushed (or as a failure rewrote it)
            position   INTEGER,           -- order in the queue while enqueued: the lowest runs next
            score      REAL,              -- due time (scheduled, retry) or death time (dead), else NULL
            owner      TEXT,              -- identity of the process that holds the job while running
            claims     INTEGER NOT NULL DEFAULT 0,  -- bumped on every claim: (id, claims) names one claim
            claimed_at REAL
        )
        """,
        # Claim and list_queue walk this in order; partial, so scheduled/dead rows cost it nothing.
        "CREATE INDEX jobs_ready ON jobs (queue, position) WHERE state = 'enqueued'",
        # Promotion (scheduled, retry), the sorted-set pages and dead-set trimming.
        "CREATE INDEX jobs_by_score ON jobs (state, score) WHERE score IS NOT NULL",
        # Rescue looks for running jobs whose owner stopped beating.
        "CREATE INDEX jobs_running ON jobs (owner) WHERE state = 'running'",
        "CREATE TABLE queues (name TEXT PRIMARY KEY) WITHOUT ROWID",
        """
        CREATE TABLE processes (
            identity   TEXT    PRIMARY KEY,
            info       TEXT    NOT NULL,  -- ProcessInfo as a JSON object
            busy       TEXT    NOT NULL,  -- JSON array of {thread_id, queue, raw, run_at}
            beat       REAL    NOT NULL,
            expires_at REAL    NOT NULL,  -- the lease: jobs of this owner are safe until then
            quiet      INTEGER NOT NULL
        ) WITHOUT ROWID
        """,
        """
        CREATE TABLE signals (
            id         INTEGER PRIMARY KEY,
            identity   TEXT NOT NULL,
            signal     TEXT NOT NULL,
            created_at REAL NOT NULL
        )
        """,
        "CREATE INDEX signals_by_identity ON signals (identity)",
        """
        CREATE TABLE stats (
            day       TEXT    PRIMARY KEY,  -- 'total' or a UTC date 'YYYY-MM-DD'
            processed INTEGER NOT NULL DEFAULT 0,
            failed    INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID
        """,
    ),
    # 2: unique jobs' locks (sqlite_unique.py).
    (
        """
        CREATE TABLE unique_locks (
            key        TEXT PRIMARY KEY,  -- sidequest.unique.lock_key: class, queue and args digested
            jid        TEXT NOT NULL,     -- the job holding the lock; only it may release it
            expires_at REAL NOT NULL      -- this machine's epoch seconds; past it the key is free
        ) WITHOUT ROWID
        """,
        # push_unique sweeps expired rows from the old end.
        "CREATE INDEX unique_locks_by_expiry ON unique_locks (expires_at)",
    ),
    # 3: periodic (cron) jobs (sqlite_cron.py).
    (
        """
        CREATE TABLE cron_ticks (
            entry       TEXT    NOT NULL,
            tick        INTEGER NOT NULL,  -- epoch second of the tick: (entry, tick) is enqueued once
            jid         TEXT    NOT NULL,
            enqueued_at REAL    NOT NULL,
            PRIMARY KEY (entry, tick)
        ) WITHOUT ROWID
        """,
        """
        CREATE TABLE cron_entries (
            name        TEXT    PRIMARY KEY,
            last_tick   INTEGER,           -- the latest tick enqueued, with its jid and push time
            last_jid    TEXT,
            enqueued_at REAL,
            paused      INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID
        """,
    ),
    # 4: paused queues and per-class execution metrics (the dashboard's /queues and /metrics).
    (
        # Apart from ``queues``: clearing a queue forgets its name, not that people paused it (as
        # Sidekiq Pro's ``paused`` SET outlives a clear).
        "CREATE TABLE paused_queues (name TEXT PRIMARY KEY) WITHOUT ROWID",
        """
        CREATE TABLE class_metrics (
            class     TEXT    NOT NULL,
            minute    INTEGER NOT NULL,  -- epoch seconds of the UTC minute's start
            processed INTEGER NOT NULL DEFAULT 0,  -- failures included, as in Sidekiq
            failed    INTEGER NOT NULL DEFAULT 0,
            ms        REAL    NOT NULL DEFAULT 0,  -- total execution time of the successful runs
            histogram TEXT    NOT NULL DEFAULT '[]',  -- JSON array of counts in Sidekiq 7's buckets
            PRIMARY KEY (class, minute)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX class_metrics_by_minute ON class_metrics (minute)",
    ),
    # 5: rate limiters (sidequest.limiter; see stores/limiter_sql.py).
    (
        """
        CREATE TABLE limiters (
            kind      TEXT    NOT NULL,  -- 'concurrent', 'bucket', 'window' or 'leaky'
            name      TEXT    NOT NULL,
            size      INTEGER NOT NULL,
            period    REAL    NOT NULL,  -- seconds (concurrent: the lock timeout)
            mark      REAL    NOT NULL DEFAULT 0,  -- bucket: its interval's start; leaky: level's time
            level     REAL    NOT NULL DEFAULT 0,  -- bucket: uses in the interval; leaky: the level
            allowed   INTEGER NOT NULL DEFAULT 0,
            refused   INTEGER NOT NULL DEFAULT 0,
            last_used REAL,
            PRIMARY KEY (kind, name)
        ) WITHOUT ROWID
        """,
        """
        CREATE TABLE limiter_uses (
            kind  TEXT NOT NULL,
            name  TEXT NOT NULL,
            token TEXT NOT NULL,
            at    REAL NOT NULL,  -- concurrent: when the holder's lock expires; window: when used
            PRIMARY KEY (kind, name, token)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX limiter_uses_by_time ON limiter_uses (kind, name, at)",
    ),
    # 6: job records (iterable jobs' progress, cancelled flags) and named counters (expired jobs).
    (
        """
        CREATE TABLE job_states (
            jid          TEXT PRIMARY KEY,
            cursor       TEXT,              -- JSON text of the last handled item's cursor
            executions   INTEGER NOT NULL DEFAULT 0,
            runtime      REAL    NOT NULL DEFAULT 0,
            cancelled_at REAL,              -- set once by the first cancel
            expires_at   REAL    NOT NULL   -- this machine's epoch seconds; past it the row is gone
        ) WITHOUT ROWID
        """,
        "CREATE INDEX job_states_by_expiry ON job_states (expires_at)",
        "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID",
    ),
    # 7: batches (sidequest.batch; the logic is stores/sql_batches.py).
    (
        """
        CREATE TABLE batches (
            bid         TEXT PRIMARY KEY,
            parent      TEXT,              -- the parent batch's bid; NULL for a top-level batch
            description TEXT NOT NULL,
            created_at  REAL NOT NULL,
            linger      REAL NOT NULL,     -- seconds kept after success
            expires_at  REAL NOT NULL,     -- when the row may be swept
            callbacks   TEXT NOT NULL,     -- JSON [[event, jid, queue, template], ...]
            tail        TEXT NOT NULL,     -- the static end of every status's JSON
            fired       TEXT NOT NULL,     -- JSON {event: time fired}
            total       INTEGER NOT NULL,  -- members, and of them: never ran, not succeeded, failed
            unrun       INTEGER NOT NULL,
            pending     INTEGER NOT NULL,
            failures    INTEGER NOT NULL
        ) WITHOUT ROWID
        """,
        "CREATE INDEX batches_by_created ON batches (created_at)",
        "CREATE INDEX batches_by_expiry ON batches (expires_at)",
        """
        CREATE TABLE batch_members (
            bid       TEXT    NOT NULL,
            member    TEXT    NOT NULL,    -- a jid, or b-<bid> for a child batch
            ran       INTEGER NOT NULL DEFAULT 0,
            succeeded INTEGER NOT NULL DEFAULT 0,
            failed    INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (bid, member)
        ) WITHOUT ROWID
        """,
    ),
)


def database_path(url: str) -> str:
    """The file a ``sqlite:///relative.db`` or ``sqlite:////abs/path.db`` URL names, made absolute."""
    prefix = "sqlite:///"
    if not url.lower().startswith(prefix):
        raise ConfigurationError(
            f"not a SQLite store URL: {url!r}; write sqlite:///relative/path.db or sqlite:////absolute/path.db"
        )
    path = url[len(prefix) :]
    if not path or path == ":memory:" or path.startswith("file:"):
        raise ConfigurationError(
            f"the SQLite store needs a file that several processes can share, not {url!r}; "
            "write sqlite:///jobs.db"
        )
    path = os.path.abspath(path)
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        raise ConfigurationError(
            f"cannot create the SQLite store {path}: directory {directory} does not exist"
        )
    return path


def connect(path: str) -> sqlite3.Connection:
    """Open one connection with the settings every connection needs.

    ``isolation_level=None`` turns off the sqlite3 module's implicit transactions: the store issues
    ``BEGIN IMMEDIATE`` itself, so a write transaction takes the write lock up front and can never fail
    half way with SQLITE_BUSY when it upgrades from a read. ``check_same_thread=False`` only lets
    :meth:`close` close connections from another thread; each thread otherwise uses its own.
    """
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False)
    # Text that is not UTF-8 (written by another tool) would fail the whole statement reading it - a
    # claim, a promotion, a rescue - on every try, blocking every other row with it. Read with the
    # bad bytes replaced, the row reaches the code that copes with one bad payload.
    conn.text_factory = _lenient_text
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
    # NORMAL in WAL mode: a power cut may lose the last commits, never corrupt the file.
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def _lenient_text(data: bytes) -> str:
    return str(data, "utf-8", "replace")


# Primary result codes that no retry can change: the file is not a database, is damaged, cannot be
# opened at all (a directory, a missing permission) or cannot be written. A busy or locked file is an
# outage (another process holds it) and stays a plain StoreError.
PERMANENT_CODES = {
    sqlite3.SQLITE_NOTADB: "is not a SQLite database; point the URL at a sidequest database file, or move "
    "this file away so that sidequest creates a new one",
    sqlite3.SQLITE_CORRUPT: "is a damaged database; restore it from a backup, or move it away so that "
    "sidequest creates a new one",
    sqlite3.SQLITE_CANTOPEN: "cannot be opened; check that it is a file (not a directory) and that this "
    "user may read and write it and create files in its directory",
    sqlite3.SQLITE_READONLY: "is read-only for this process; sidequest writes the file and creates "
    "-wal and -shm files beside it: let this user write the file and its directory",
    sqlite3.SQLITE_PERM: "may not be accessed by this process; fix its permissions",
    sqlite3.SQLITE_AUTH: "refused access to this process",
}


def open_error(path: str, exc: sqlite3.Error) -> StoreError:
    """The error to raise when opening ``path`` failed with ``exc``: a :class:`PermanentStoreError`
    naming the file and what to do, for conditions no retry changes; else a plain StoreError."""
    code = getattr(exc, "sqlite_errorcode", None)
    advice = PERMANENT_CODES.get(code & 0xFF) if isinstance(code, int) else None
    if os.path.isdir(path):
        advice = (
            f"is a directory, not a database file; name a file inside it, e.g. sqlite:///{path}/sidequest.db"
        )
    if advice is None:
        return StoreError(f"cannot open the SQLite store {path}: {exc}")
    return PermanentStoreError(f"the SQLite store {path} {advice} (SQLite: {exc})")


def migrate(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL and apply the migrations it lacks.

    Safe when several processes open a new file at once: the version is read again inside
    ``BEGIN IMMEDIATE``, so only the first process to get the write lock migrates.
    """
    mode = _switch_to_wal(conn)
    if mode != "wal":
        raise StoreError(
            f"SQLite refused WAL mode (journal_mode is {mode!r}); is the file on a network share?"
        )
    if _version(conn) == len(MIGRATIONS):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _version(conn)
        if version > len(MIGRATIONS):
            raise StoreError(
                f"this database was written by a newer sidequest (schema version {version}, this one knows "
                f"{len(MIGRATIONS)}); upgrade sidequest"
            )
        for statements in MIGRATIONS[version:]:
            for statement in statements:
                conn.execute(statement)
        # PRAGMA takes no parameters; the value is our own integer.
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _switch_to_wal(conn: sqlite3.Connection) -> str:
    """Put the file in WAL mode (stored in the file, so later opens find it there) and return the mode.

    WAL lets readers (the dashboard, claim's cheap "anything there?" check) run beside a writer. Leaving
    rollback-journal mode needs an exclusive lock, and SQLite answers SQLITE_BUSY at once, without its
    busy handler, while another process opening the same new file holds any lock; so retry here, with
    a little jitter, until the busy timeout.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower()
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
            time.sleep(random.uniform(0.002, 0.02))


def _version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])
