"""Fixtures of the PostgreSQL scenarios: a server of a test's own (which it may stop or crash and
restart) and a pgbouncer in transaction mode in front of the session's server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pg_servers import Databases, PgBouncer, PostgresServer


@pytest.fixture
def own_pg() -> Iterator[PostgresServer]:
    """A PostgreSQL of this test's own, with synchronous commits (a crash loses nothing committed)."""
    server = PostgresServer(durable=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def bouncer(pg_databases: Databases) -> Iterator[PgBouncer]:
    """pgbouncer (transaction pooling) in front of a fresh database on the session's server."""
    url = pg_databases.fresh()
    database = url.rsplit("/", 1)[1]
    proxy = PgBouncer(pg_databases.server, database)
    proxy.start()
    yield proxy
    proxy.stop()
    pg_databases.drop(url)
