"""Fixtures shared by the whole suite: real stores, started by the suite itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pg_servers import Databases, PostgresServer
from processes import kill_leftovers
from ruby_sidekiq import RubySidekiq, require_ruby_sidekiq
from servers import RedisServer, require_binary
from sidequest.stores import open_store
from sidequest.stores.base import Store

STORE_KINDS = ["sqlite", "redis", "postgres"]


@pytest.fixture(autouse=True)
def no_process_outlives_its_test() -> Iterator[None]:
    """Kill what a test left running (a failed assertion before its terminate()): a leftover process
    would take jobs from a later test's store."""
    yield
    leftovers = kill_leftovers()
    if leftovers:
        print(f"killed sidequest processes a test left running: {leftovers}")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real redis-server for the session (tests that kill it use their own)."""
    binary = require_binary("redis-server", "redis-server")
    server = RedisServer(tmp_path_factory.mktemp("redis"), binary)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own (AOF, fsync always), which it may kill and restart."""
    server = RedisServer(tmp_path / "redis", require_binary("redis-server", "redis-server"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def ruby(redis_url: str, tmp_path: Path) -> Iterator[RubySidekiq]:
    """Ruby Sidekiq 6.4.1 on the same flushed database as ``redis_url``."""
    require_ruby_sidekiq()
    yield RubySidekiq(redis_url, tmp_path)


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[Databases]:
    """One real PostgreSQL for the session (per xdist worker), started by the suite on a free port;
    tests that restart a server use their own (``tests/postgres/``)."""
    server = PostgresServer()
    server.start()
    yield Databases(server)
    server.stop()


@pytest.fixture
def postgres_url(pg_databases: Databases) -> Iterator[str]:
    """URL of a fresh database (a copy of a migrated template) on the session's PostgreSQL, dropped
    after the test (each copy takes several MB of the temp dir)."""
    url = pg_databases.fresh()
    yield url
    pg_databases.drop(url)


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """URL of a flushed database on the session's redis-server."""
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


def make_store_url(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A URL for a fresh, empty store of ``kind``."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'jobs.db'}"
    if kind == "redis":
        return str(request.getfixturevalue("redis_url"))
    if kind == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    raise ValueError(kind)


@pytest.fixture(params=STORE_KINDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of a fresh, empty store, once per store kind."""
    return make_store_url(request.param, tmp_path, request)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A fresh, empty store, once per store kind."""
    opened = open_store(store_url)
    yield opened
    opened.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a fresh SQLite store file."""
    return f"sqlite:///{tmp_path / 'jobs.db'}"
