"""How the PostgreSQL store reaches its server: the URL's own options, the connection pool, and what a
psycopg error means for the caller (an outage to wait out, or a mistake a person must fix).

URL options sidequest reads (and removes before libpq sees the URL, as libpq refuses unknown ones):

- ``schema=NAME``: the PostgreSQL schema holding sidequest's tables (default ``sidequest``);
- ``notify=off``: never LISTEN, only poll (for a pooler that cannot hold a session, or no NOTIFY at all);
- ``pool=N``: at most N pooled connections per process (default 10), plus one for LISTEN;
- ``prepare=off``: never use server-side prepared statements (PgBouncer before 1.21 in transaction mode);
- ``pgbouncer=on``: both of the above; the store then keeps no session state at all.
- ``poll=SECONDS``: how often an idle claim looks for jobs without a notification (default 1.0, or
  0.1 when notifications are off).

Every other option (``sslmode``, ``connect_timeout``, ...) goes to libpq unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
import psycopg_pool

from sidequest.errors import ConfigurationError, PermanentStoreError, StoreError

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

OWN_OPTIONS = ("schema", "notify", "pool", "prepare", "pgbouncer", "poll")

# SQLSTATEs no retry can fix: authentication (28xxx), no such database (3D000), no such schema
# (3F000), insufficient privilege (42501), no such table or column (42P01, 42703: a schema that
# another tool dropped or changed).
PERMANENT_STATES = ("28000", "28P01", "3D000", "3F000", "42501", "42P01", "42703")

# libpq reports connection-time refusals as text without a SQLSTATE on the exception.
PERMANENT_TEXT = (
    ("password authentication failed", "check the user and password in the store URL"),
    ("no password supplied", "put the password in the store URL (postgresql://user:password@host/db)"),
    ("does not exist", "create it, or fix the name in the store URL"),
    ("no pg_hba.conf entry", "allow this host and user in the server's pg_hba.conf"),
    ("permission denied", "grant the store URL's user the privileges sidequest needs (see docs/postgres.md)"),
    ('role "', "create that role, or fix the user in the store URL"),
)


@dataclass(frozen=True, slots=True)
class Options:
    """What a ``postgresql://`` URL says: libpq's part and sidequest's."""

    conninfo: str
    shown: str
    schema: str
    notify: bool
    pool_size: int
    prepare: bool
    poll: float


def _flag(value: str, name: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "on", "true", "yes"):
        return True
    if lowered in ("0", "off", "false", "no"):
        return False
    raise ConfigurationError(f"store URL option {name}={value!r}: write {name}=on or {name}=off")


def parse_url(url: str) -> Options:
    """Split a store URL into the libpq URL and sidequest's options; raises ConfigurationError for a
    bad option, naming it."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("postgres", "postgresql"):
        raise ConfigurationError(f"not a PostgreSQL store URL: {hide_password(url)!r}")
    kept: list[tuple[str, str]] = []
    own: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key in OWN_OPTIONS:
            own[key] = value
        else:
            kept.append((key, value))
    schema = own.get("schema", "sidequest")
    if not IDENTIFIER.match(schema):
        raise ConfigurationError(
            f"store URL option schema={schema!r}: use a lower-case PostgreSQL name (letters, digits, _)"
        )
    bouncer = _flag(own.get("pgbouncer", "off"), "pgbouncer")
    notify = _flag(own.get("notify", "on"), "notify") and not bouncer
    prepare = _flag(own.get("prepare", "on"), "prepare") and not bouncer
    try:
        pool_size = int(own.get("pool", "10"))
        poll = float(own.get("poll", "1.0" if notify else "0.1"))
    except ValueError as exc:
        raise ConfigurationError(f"store URL option pool= or poll= is not a number: {exc}") from exc
    if pool_size < 1 or not 0.001 <= poll <= 60:
        raise ConfigurationError("store URL options: pool must be >= 1 and poll between 0.001 and 60 seconds")
    conninfo = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(kept), parts.fragment))
    return Options(conninfo, hide_password(url), schema, notify, pool_size, prepare, poll)


def hide_password(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for messages and ``Store.url``)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def connection_kwargs(options: Options) -> dict[str, object]:
    """Settings of every pooled connection: autocommit (each statement its own transaction unless the
    store opens one) and, behind a transaction-mode pooler, no prepared statements."""
    return {"autocommit": True, "prepare_threshold": 5 if options.prepare else None}


def make_pool(options: Options, name: str) -> psycopg_pool.ConnectionPool:
    """A pool that opens connections lazily and waits at most 5 s for one, so an outage surfaces
    as a StoreError the runtime retries instead of a thread blocked for the pool's default 30 s."""
    pool = psycopg_pool.ConnectionPool(
        options.conninfo,
        min_size=1,
        max_size=options.pool_size,
        kwargs=connection_kwargs(options),
        timeout=5.0,
        reconnect_timeout=3600.0 * 24 * 365,  # never give up on an outage: keep trying, with backoff
        open=False,
        name=name,
    )
    pool.open(wait=False)
    return pool


def describe(exc: BaseException, shown: str) -> StoreError:
    """The StoreError (or PermanentStoreError) a psycopg error stands for; the message says what to fix
    and never contains the password (psycopg's messages do not, and ``shown`` hides it)."""
    text = str(exc).strip().replace("\n", " ")
    state = getattr(exc, "sqlstate", None)
    if state in PERMANENT_STATES:
        return PermanentStoreError(f"PostgreSQL store {shown}: {text} ({_advice(text, state)})")
    if isinstance(exc, psycopg.OperationalError) and not isinstance(exc, psycopg.errors.QueryCanceled):
        for needle, advice in PERMANENT_TEXT:
            if needle in text and "server closed" not in text and "shutting down" not in text:
                return PermanentStoreError(f"PostgreSQL store {shown}: {text} ({advice})")
    if isinstance(exc, psycopg_pool.PoolTimeout):
        return StoreError(f"PostgreSQL store {shown}: no connection to the server within 5 s ({text})")
    return StoreError(f"PostgreSQL store {shown}: {text}")


def _advice(text: str, state: str | None) -> str:
    for needle, advice in PERMANENT_TEXT:
        if needle in text:
            return advice
    if state in ("42P01", "42703", "3F000"):
        return "sidequest's tables are missing or changed: run sidequest migrate, or open the store once"
    return "fix the store URL or the server's settings; retrying will not help"


@contextmanager
def translated(shown: str) -> Iterator[None]:
    """Turn psycopg and pool errors raised inside into StoreError / PermanentStoreError."""
    try:
        yield
    except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
        raise describe(exc, shown) from exc
