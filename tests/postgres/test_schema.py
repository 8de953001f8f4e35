"""The store's schema: its own PostgreSQL schema (``?schema=``), migrations applied at open or printed by
``sidequest migrate --print-sql`` for a team's own migration tool, and the table settings that keep a
queue table healthy shipped with them."""

from __future__ import annotations

import psycopg
from click.testing import CliRunner

from pg_servers import Databases
from sidequest.cli import main
from sidequest.client import Client
from sidequest.stores import open_store
from testapp.workers import NoopWorker


def blank_database(pg_databases: Databases, name: str) -> str:
    pg_databases.server.psql(f"CREATE DATABASE {name}")
    return pg_databases.server.url(name)


def test_the_printed_sql_applied_by_another_tool_gives_a_store_that_works(pg_databases: Databases) -> None:
    url = blank_database(pg_databases, "by_flyway")
    result = CliRunner().invoke(main, ["migrate", "--url", url + "?schema=jobs", "--print-sql"])
    assert result.exit_code == 0, result.output
    assert 'CREATE TABLE "jobs".jobs' in result.output
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(result.output.encode())
        assert conn.execute('SELECT max(version) FROM "jobs".migrations').fetchone() == (3,)
    store = open_store(url + "?schema=jobs")
    Client(store).enqueue(NoopWorker, [1])
    assert store.counts().enqueued == 1
    store.close()


def test_migrate_creates_the_schema_and_two_schemas_are_two_stores(pg_databases: Databases) -> None:
    url = blank_database(pg_databases, "two_schemas")
    result = CliRunner().invoke(main, ["migrate", "--url", url + "?schema=team_a"])
    assert result.exit_code == 0, result.output
    assert "schema team_a is at migration 3" in result.output
    team_a = open_store(url + "?schema=team_a")
    team_b = open_store(url + "?schema=team_b")
    Client(team_a).enqueue(NoopWorker, [1])
    assert (team_a.counts().enqueued, team_b.counts().enqueued) == (1, 0)
    with psycopg.connect(url) as conn:
        options = conn.execute(
            "SELECT reloptions FROM pg_class WHERE oid = 'team_a.jobs'::regclass"
        ).fetchone()
    assert options is not None
    assert "fillfactor=70" in options[0]
    assert "autovacuum_vacuum_scale_factor=0.01" in options[0]
    team_a.close()
    team_b.close()


def test_migrate_refuses_a_store_that_is_not_postgresql(tmp_path: object) -> None:
    result = CliRunner().invoke(main, ["migrate", "--url", "redis://127.0.0.1:1/0", "--print-sql"])
    assert result.exit_code != 0
    assert "for PostgreSQL stores" in result.output
