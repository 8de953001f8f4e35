"""``with sidequest.transaction(conn):`` -- the order and its confirmation email commit or roll back
together, whichever way the application holds its connection: psycopg 3, SQLAlchemy (Connection and
Session), Django, and on the SQLite store a sqlite3 connection. Rolled back: no job, no order, and no
process was woken. Committed: the job is there, the NOTIFY arrived, and a real process performs it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

import sidequest
from pg_servers import Databases
from processes import SidequestProcess, runs, wait_for
from sidequest.client import Client
from sidequest.defaults import DEFAULT
from sidequest.errors import ConfigurationError
from sidequest.stores import open_store
from sidequest.stores.base import Store
from testapp.workers import ActionWorker


class Rollback(Exception):
    """Raised inside a transaction to roll it back."""


@pytest.fixture
def store(postgres_url: str) -> Iterator[Store]:
    opened = open_store(postgres_url)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL)")
    yield opened
    opened.close()


@pytest.fixture
def client(store: Store) -> Iterator[Client]:
    """The default client for the test (what ``perform_async`` uses), on the store under test."""
    made = Client(store)
    previous = DEFAULT.configure(made)
    yield made
    DEFAULT.configure(previous)


@pytest.fixture
def listener(postgres_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A connection LISTENing where idle sidequest processes listen."""
    conn = psycopg.connect(postgres_url, autocommit=True)
    conn.execute('LISTEN "sidequest_sidequest"')
    yield conn
    conn.close()


def woken(listener: psycopg.Connection[tuple[object, ...]]) -> list[str]:
    return [note.payload for note in listener.notifies(timeout=0.5)]


def orders(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [row[0] for row in conn.execute("SELECT item FROM orders ORDER BY id")]


def test_psycopg_a_rolled_back_order_leaves_no_job_and_wakes_no_process(
    postgres_url: str, store: Store, client: Client, listener: psycopg.Connection[tuple[object, ...]]
) -> None:
    with psycopg.connect(postgres_url) as conn, pytest.raises(Rollback), conn.transaction():
        conn.execute("INSERT INTO orders (item) VALUES ('book')")
        with sidequest.transaction(conn):
            ActionWorker.perform_async("ok", "mail-for-book")
            ActionWorker.perform_bulk([["ok", "a"], ["ok", "b"]])
        raise Rollback
    assert orders(postgres_url) == []
    assert store.counts().enqueued == 0
    assert woken(listener) == []


def test_psycopg_a_committed_order_has_its_job_performed_by_a_process(
    postgres_url: str,
    store: Store,
    client: Client,
    listener: psycopg.Connection[tuple[object, ...]],
    tmp_path: Path,
) -> None:
    with psycopg.connect(postgres_url) as conn, conn.transaction():
        conn.execute("INSERT INTO orders (item) VALUES ('book')")
        with sidequest.transaction(conn):
            ActionWorker.perform_async("ok", "mail-for-book")
            ActionWorker.perform_in(3600, "ok", "reminder")
        # Not committed yet: another connection sees no job, no process was woken.
        assert store.counts().enqueued == 0
        assert woken(listener) == []
    assert woken(listener) == ["default"]
    assert (store.counts().enqueued, store.counts().scheduled) == (1, 1)
    record = tmp_path / "record.txt"
    proc = SidequestProcess(postgres_url, tmp_path, ["-c", "2"], record)
    try:
        wait_for(lambda: runs(record)["mail-for-book"] == 1, 30, "the committed job to run")
    finally:
        assert proc.terminate() == 0
    assert orders(postgres_url) == ["book"]


def test_sqlalchemy_connection_and_session_commit_and_roll_back_with_their_jobs(
    postgres_url: str, store: Store, client: Client
) -> None:
    import sqlalchemy
    from sqlalchemy.orm import Session

    engine = sqlalchemy.create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    insert = sqlalchemy.text("INSERT INTO orders (item) VALUES (:item)")
    with pytest.raises(Rollback), engine.begin() as conn:
        conn.execute(insert, {"item": "lost-connection"})
        with sidequest.transaction(conn):
            ActionWorker.perform_async("ok", "lost")
        raise Rollback
    with engine.begin() as conn:
        conn.execute(insert, {"item": "kept-connection"})
        with sidequest.transaction(conn):
            ActionWorker.perform_async("ok", "kept-connection")
    with Session(engine) as session:
        with pytest.raises(Rollback), session.begin():
            session.execute(insert, {"item": "lost-session"})
            with sidequest.transaction(session):
                ActionWorker.perform_async("ok", "lost")
            raise Rollback
        with session.begin():
            session.execute(insert, {"item": "kept-session"})
            with sidequest.transaction(session):
                ActionWorker.perform_async("ok", "kept-session")
    engine.dispose()
    assert orders(postgres_url) == ["kept-connection", "kept-session"]
    assert sorted(entry.payload["args"][1] for entry in store.list_queue("default") if entry.payload) == [
        "kept-connection",
        "kept-session",
    ]


def test_django_atomic_blocks_commit_and_roll_back_with_their_jobs(
    postgres_url: str, store: Store, client: Client
) -> None:
    import django
    from django.conf import settings

    if settings.configured:
        pytest.fail("Django settings were configured by another test; this test configures them itself")
    database = postgres_url.rsplit("/", 1)[1]
    from pg_servers import PASSWORD

    port = postgres_url.split(":")[3].split("/")[0]
    settings.configure(
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": database,
                "USER": "postgres",
                "PASSWORD": PASSWORD,
                "HOST": "127.0.0.1",
                "PORT": port,
            }
        },
        USE_TZ=True,
    )
    django.setup()
    from django.db import connection
    from django.db import transaction as django_transaction

    with pytest.raises(Rollback), django_transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO orders (item) VALUES ('lost')")
        with sidequest.transaction(connection):
            ActionWorker.perform_async("ok", "lost")
        raise Rollback
    with django_transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO orders (item) VALUES ('kept')")
        with sidequest.transaction(connection):
            ActionWorker.perform_async("ok", "kept")
            assert ActionWorker.set(unique_for=60).perform_async("ok", "once") is not None
            assert ActionWorker.set(unique_for=60).perform_async("ok", "once") is None
    connection.close()
    assert orders(postgres_url) == ["kept"]
    assert sorted(entry.payload["args"][1] for entry in store.list_queue("default") if entry.payload) == [
        "kept",
        "once",
    ]


def test_sqlite_a_sqlite3_connection_to_the_store_file_commits_and_rolls_back_with_its_jobs(
    tmp_path: Path,
) -> None:
    path = tmp_path / "app.db"
    store = open_store(f"sqlite:///{path}")
    client = Client(store)
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE orders (item TEXT)")
    conn.commit()
    conn.execute("INSERT INTO orders VALUES ('lost')")
    with sidequest.transaction(conn, client=client):
        client.enqueue(ActionWorker, ["ok", "lost"])
    conn.rollback()
    with conn:
        conn.execute("INSERT INTO orders VALUES ('kept')")
        with sidequest.transaction(conn, client=client):
            client.enqueue(ActionWorker, ["ok", "kept"])
            client.enqueue(ActionWorker, ["ok", "later"], at=9e9)
    assert [row[0] for row in conn.execute("SELECT item FROM orders")] == ["kept"]
    assert [entry.payload["args"][1] for entry in store.list_queue("default") if entry.payload] == ["kept"]
    assert store.counts().scheduled == 1
    other = sqlite3.connect(tmp_path / "other.db")
    with (
        pytest.raises(ConfigurationError, match="not the store's file"),
        sidequest.transaction(other, client=client),
    ):
        pass
    conn.close()
    other.close()
    store.close()


def test_a_connection_to_another_database_is_refused_at_the_with(
    pg_databases: Databases, store: Store, client: Client
) -> None:
    elsewhere = pg_databases.fresh()  # a database of its own, with a sidequest store of its own
    plain = pg_databases.server.url("postgres")  # no sidequest schema at all
    with psycopg.connect(elsewhere) as conn:
        with pytest.raises(ConfigurationError, match="another sidequest store"), sidequest.transaction(conn):
            pass
        # The check never broke the application's transaction.
        assert conn.execute("SELECT 1").fetchone() == (1,)
    with (
        psycopg.connect(plain) as conn,
        pytest.raises(ConfigurationError, match="does not exist"),
        sidequest.transaction(conn),
    ):
        pass


def test_an_unsupported_object_or_store_is_refused_at_the_with(
    postgres_url: str, store: Store, client: Client, tmp_path: Path
) -> None:
    with (
        pytest.raises(ConfigurationError, match="psycopg 3 connection, a SQLAlchemy Connection"),
        sidequest.transaction(object()),
    ):
        pass
    sqlite_client = Client(open_store(f"sqlite:///{tmp_path / 'jobs.db'}"))
    with psycopg.connect(postgres_url) as conn:
        with (
            pytest.raises(ConfigurationError, match=r"sqlite3\.Connection"),
            sidequest.transaction(conn, client=sqlite_client),
        ):
            pass
        with (
            sidequest.transaction(conn),
            pytest.raises(ConfigurationError, match="could not commit with the transaction"),
        ):
            sqlite_client.enqueue(ActionWorker, ["ok", 1])
    sqlite_client.close()


def test_psycopg2_the_driver_under_older_django_and_sqlalchemy_commits_and_rolls_back_with_its_jobs(
    postgres_url: str, store: Store, client: Client, listener: psycopg.Connection[tuple[object, ...]]
) -> None:
    import psycopg2  # in the dev extra (psycopg2-binary): never skipped

    conn = psycopg2.connect(postgres_url)
    try:
        with conn.cursor() as cursor:
            cursor.execute("INSERT INTO orders (item) VALUES ('lost')")
        with sidequest.transaction(conn):
            ActionWorker.perform_bulk([["ok", "lost-1"], ["ok", "lost-2"]])
            ActionWorker.perform_in(60, "ok", "lost-later")
        conn.rollback()
        assert woken(listener) == []
        with conn.cursor() as cursor:
            cursor.execute("INSERT INTO orders (item) VALUES ('kept')")
        with sidequest.transaction(conn):
            ActionWorker.perform_async("ok", "kept")
            assert ActionWorker.set(unique_for=60).perform_async("ok", "once") is not None
            assert ActionWorker.set(unique_for=60).perform_async("ok", "once") is None
        conn.commit()
    finally:
        conn.close()
    assert woken(listener) == ["default"]
    assert orders(postgres_url) == ["kept"]
    assert sorted(entry.payload["args"][1] for entry in store.list_queue("default") if entry.payload) == [
        "kept",
        "once",
    ]
    assert store.counts().scheduled == 0
