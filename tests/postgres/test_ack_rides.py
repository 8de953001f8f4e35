"""A busy process's acks ride on its next claim (one statement for both), an idle one's go alone, and
claims and acks commit asynchronously without leaving that setting on the pooled connection."""

from __future__ import annotations

import threading
import time

import psycopg

from pg_servers import PostgresServer
from sidequest.client import Client
from sidequest.stores import open_store
from sidequest.stores.ack_rides import RIDE_WAIT
from sidequest.stores.postgres import PostgresStore, moves
from testapp.workers import NoopWorker

OWNER = "host:1:ride"


def waiting(store: PostgresStore) -> int:
    with psycopg.connect(store.options.conninfo, autocommit=True) as conn:
        row = conn.execute(f"SELECT count(*) FROM {store.s}.jobs").fetchone()
    return int(row[0]) if row else 0


def store_with_jobs(url: str, count: int) -> PostgresStore:
    """A store of ``url`` with ``count`` no-op jobs waiting in ``default``."""
    store = open_store(url)
    assert isinstance(store, PostgresStore)
    Client(store).enqueue_bulk(NoopWorker, [[n] for n in range(count)])
    return store


def wait_for_rider(store: PostgresStore) -> None:
    """Until the acker's batch waits for a claim (at most 2 s)."""
    deadline = time.monotonic() + 2
    while not store._rides._waiting and time.monotonic() < deadline:
        time.sleep(0.0005)


def test_an_ack_made_while_claims_keep_coming_rides_on_the_next_claim(postgres_url: str) -> None:
    store = store_with_jobs(postgres_url, 30)
    first = store.claim(["default"], 10, OWNER, 0.0)
    assert len(first) == 10  # claims are flowing: the next ack waits for the next claim
    acked: list[int] = []
    acker = threading.Thread(target=lambda: acked.append(store.ack(OWNER, first)))
    acker.start()
    time.sleep(RIDE_WAIT / 5)
    riders = store._rides.board()  # what the next claim would take: the waiting ack
    assert [len(rider.ids) for rider in riders] == [10]
    store._rides.arrive(riders, None)  # that claim failed: the acker sends its batch alone
    acker.join(5)
    assert acked == [10]
    assert waiting(store) == 20

    second = store.claim(["default"], 10, OWNER, 0.0)
    acker = threading.Thread(target=lambda: acked.append(store.ack(OWNER, second)))
    acker.start()
    wait_for_rider(store)
    third = store.claim(["default"], 10, OWNER, 0.0)  # carries the ack in its own statement
    acker.join(5)
    assert len(third) == 10
    assert acked == [10, 10]
    assert waiting(store) == 10  # the second batch deleted, the third claimed
    assert {job.token for job in third}.isdisjoint({job.token for job in second})
    store.close()


def test_an_ack_with_no_claim_coming_goes_alone_within_the_ride_wait(postgres_url: str) -> None:
    store = store_with_jobs(postgres_url, 5)
    jobs = store.claim(["default"], 10, OWNER, 0.0)
    assert len(jobs) == 5
    started = time.monotonic()
    assert store.ack(OWNER, jobs) == 5  # no claim follows: sent alone after the wait
    assert time.monotonic() - started < RIDE_WAIT + 1.0
    assert store.claim(["default"], 10, OWNER, 0.0) == []  # nothing left: claims stop flowing
    Client(store).enqueue(NoopWorker, [1])
    job = store.claim(["default"], 10, OWNER, 0.0)
    assert store.claim(["default"], 10, OWNER, 0.0) == []  # the queue is idle now: acks never wait
    started = time.monotonic()
    assert store.ack(OWNER, job) == 1
    assert time.monotonic() - started < RIDE_WAIT
    assert waiting(store) == 0
    store.close()


def test_a_ride_reports_only_the_rows_the_store_still_held(postgres_url: str) -> None:
    store = store_with_jobs(postgres_url, 4)
    jobs = store.claim(["default"], 2, OWNER, 0.0)
    # The first job was rescued meanwhile (another claim holds it now): the ack may delete only one.
    with psycopg.connect(store.options.conninfo, autocommit=True) as conn:
        conn.execute(f"UPDATE {store.s}.jobs SET claims = claims + 1 WHERE id = %s", (jobs[0].token[0],))
    acked: list[int] = []
    acker = threading.Thread(target=lambda: acked.append(store.ack(OWNER, jobs)))
    acker.start()
    wait_for_rider(store)
    assert len(store.claim(["default"], 2, OWNER, 0.0)) == 2
    acker.join(5)
    assert acked == [1]  # the acker frees no unique lock of a batch the store did not confirm whole
    store.close()


def test_claims_and_acks_commit_asynchronously_and_leave_the_connection_as_it_was(
    own_pg: PostgresServer,
) -> None:
    store = open_store(own_pg.url())  # a server with synchronous commits, as PostgreSQL ships
    assert isinstance(store, PostgresStore)
    Client(store).enqueue(NoopWorker, [1])
    with psycopg.connect(store.options.conninfo) as conn:  # one transaction, to look inside it
        params = {"owner": OWNER, "queue": "default", "limit": 1}
        rows = conn.execute(moves.CLAIM.format(s=store.s), params).fetchall()
        assert len(rows) == 1
        assert conn.execute("SHOW synchronous_commit").fetchone() == ("off",)
        conn.rollback()
        assert conn.execute("SHOW synchronous_commit").fetchone() == ("on",)
        held = {"ids": [rows[0][0]], "claims": [rows[0][1]], "owners": [OWNER], "states": ["running"]}
        conn.execute(moves.ACK.format(s=store.s), held)
        assert conn.execute("SHOW synchronous_commit").fetchone() == ("off",)
        conn.rollback()
    # The store's own pooled connections keep the server's setting between statements.
    jobs = store.claim(["default"], 1, OWNER, 0.0)
    assert store.ack(OWNER, jobs) == 1
    with store._conn() as pooled:
        assert pooled.execute("SHOW synchronous_commit").fetchone() == ("on",)
    store.close()
