"""What a person sees when the PostgreSQL store cannot work: a mistake to fix (wrong password, no such
database, no privilege) is a PermanentStoreError that says what to fix and never shows the password; an
outage (the server down, restarting) is a StoreError the runtime waits out, and the store works again
when the server is back."""

from __future__ import annotations

import psycopg
import pytest

from pg_servers import PASSWORD, Databases, PostgresServer
from sidequest.client import Client
from sidequest.errors import PermanentStoreError, StoreError
from sidequest.stores import open_store
from testapp.workers import NoopWorker


def test_a_wrong_password_is_a_permanent_error_that_never_shows_the_password(pg_databases: Databases) -> None:
    url = pg_databases.server.url("postgres", password="not-the-password")
    with pytest.raises(PermanentStoreError) as raised:
        open_store(url)
    message = str(raised.value)
    assert "password authentication failed" in message
    assert "check the user and password" in message
    assert "not-the-password" not in message
    assert PASSWORD not in message


def test_a_database_that_does_not_exist_is_a_permanent_error_naming_it(pg_databases: Databases) -> None:
    with pytest.raises(PermanentStoreError) as raised:
        open_store(pg_databases.server.url("no_such_database"))
    assert "no_such_database" in str(raised.value)
    assert "does not exist" in str(raised.value)
    assert PASSWORD not in str(raised.value)


def test_a_user_without_privileges_gets_a_permanent_error_saying_what_to_grant(
    pg_databases: Databases,
) -> None:
    url = pg_databases.fresh()
    database = url.rsplit("/", 1)[1]
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("CREATE ROLE limited LOGIN PASSWORD 'limited-pw'")
        admin.execute(f"REVOKE ALL ON DATABASE {database} FROM PUBLIC")
        admin.execute(f"GRANT CONNECT ON DATABASE {database} TO limited")
    try:
        with pytest.raises(PermanentStoreError) as raised:
            open_store(
                pg_databases.server.url(database, user="limited", password="limited-pw") + "?schema=other"
            )
        assert "permission denied" in str(raised.value)
        assert "grant" in str(raised.value)
        assert "limited-pw" not in str(raised.value)
    finally:
        pg_databases.server.psql(f"DROP DATABASE {database}")
        pg_databases.server.psql("DROP ROLE limited")


def test_a_server_that_is_down_is_an_outage_and_stores_work_again_when_it_is_back_even_one_opened_meanwhile(
    own_pg: PostgresServer,
) -> None:
    store = open_store(own_pg.url())
    client = Client(store)
    client.enqueue(NoopWorker, [1])
    own_pg.halt()
    with pytest.raises(StoreError) as raised:
        client.enqueue(NoopWorker, [2])
    assert not isinstance(raised.value, PermanentStoreError)
    # A store opened during the outage (the application came up before its database) waits it out.
    late = open_store(own_pg.url() + "?schema=late")
    with pytest.raises(StoreError) as raised:
        Client(late).enqueue(NoopWorker, [9])
    assert not isinstance(raised.value, PermanentStoreError)
    assert "cannot reach the server yet" in late.startup_warnings()[0]
    own_pg.start()
    for _ in range(3):  # connections the pool held before the outage are found broken and replaced
        try:
            client.enqueue(NoopWorker, [3])
            break
        except StoreError:
            continue
    assert store.counts().enqueued == 2
    Client(late).enqueue(NoopWorker, [10])  # migrated its schema on the first call that got through
    assert late.counts().enqueued == 1
    late.close()
    store.close()


def test_a_bad_url_option_is_a_configuration_error_naming_it(pg_databases: Databases) -> None:
    from sidequest.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="notify"):
        open_store(pg_databases.server.url() + "?notify=maybe")
    with pytest.raises(ConfigurationError, match="schema"):
        open_store(pg_databases.server.url() + "?schema=Robert%27;DROP")
