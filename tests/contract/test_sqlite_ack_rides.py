"""SQLite: while claims keep coming, the acker's batch is deleted in the next claim's own write
transaction (one turn at the file's write lock for both); otherwise, or when that transaction fails,
the acker sends it alone (``stores/ack_rides.py``)."""

from __future__ import annotations

import sqlite3
import threading
import time

from sidequest.client import Client
from sidequest.job import Claimed
from sidequest.stores.ack_rides import RIDE_WAIT
from sidequest.stores.sqlite import SQLiteStore
from testapp.workers import NoopWorker

OWNER = "host:1:ride"


def rows(url: str) -> int:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        return int(conn.execute("SELECT count(*) FROM jobs").fetchone()[0])


def store_with_jobs(url: str, count: int, queue: str = "default") -> SQLiteStore:
    store = SQLiteStore(url)
    Client(store).enqueue_bulk(NoopWorker, [[n] for n in range(count)], options={"queue": queue})
    return store


def ack_in_a_thread(store: SQLiteStore, jobs: list[Claimed], acked: list[int]) -> threading.Thread:
    acker = threading.Thread(target=lambda: acked.append(store.ack(OWNER, jobs)))
    acker.start()
    deadline = time.monotonic() + 2
    while not store._rides._waiting and time.monotonic() < deadline:  # until it waits for a claim
        time.sleep(0.0005)
    return acker


def test_an_ack_made_while_claims_keep_coming_is_deleted_by_the_next_claims_transaction(
    sqlite_url: str,
) -> None:
    store = store_with_jobs(sqlite_url, 30)
    first = store.claim(["default"], 10, OWNER, 0.0)
    assert len(first) == 10  # claims are flowing: the next ack waits for the next claim
    acked: list[int] = []
    acker = ack_in_a_thread(store, first, acked)
    assert rows(sqlite_url) == 30  # not deleted yet: it waits for the claim
    second = store.claim(["default"], 10, OWNER, 0.0)
    acker.join(5)
    assert len(second) == 10
    assert acked == [10]
    assert rows(sqlite_url) == 20  # the first batch gone, the second claimed
    store.close()


def test_an_ack_whose_claim_transaction_rolled_back_is_sent_alone(sqlite_url: str) -> None:
    store = store_with_jobs(sqlite_url, 10)
    Client(store).enqueue(NoopWorker, [0], options={"queue": "boom"})
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:  # a claim from "boom" fails
        conn.execute(
            "CREATE TRIGGER boom BEFORE UPDATE ON jobs WHEN NEW.queue = 'boom' AND NEW.state = 'running'"
            " BEGIN SELECT RAISE(ABORT, 'boom'); END"
        )
    jobs = store.claim(["default"], 10, OWNER, 0.0)
    acked: list[int] = []
    acker = ack_in_a_thread(store, jobs, acked)
    try:
        store.claim(["boom"], 1, OWNER, 0.0)  # deletes the ack's rows, then fails: all rolled back
    except Exception as exc:
        assert "boom" in str(exc)
    else:
        raise AssertionError("the claim from 'boom' should have failed")
    acker.join(5)
    assert acked == [10]  # sent alone after the failed ride
    assert rows(sqlite_url) == 1  # only the job of "boom" is left
    store.close()


def test_an_ack_goes_at_once_when_no_claim_is_coming(sqlite_url: str) -> None:
    store = store_with_jobs(sqlite_url, 5)
    jobs = store.claim(["default"], 10, OWNER, 0.0)
    assert store.claim(["default"], 10, OWNER, 0.0) == []  # the queue is empty: claims stopped
    started = time.monotonic()
    assert store.ack(OWNER, jobs) == 5
    assert time.monotonic() - started < RIDE_WAIT
    assert rows(sqlite_url) == 0
    store.close()


def test_a_ride_reports_only_the_rows_the_store_still_held(sqlite_url: str) -> None:
    store = store_with_jobs(sqlite_url, 4)
    jobs = store.claim(["default"], 2, OWNER, 0.0)
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:  # the first was rescued meanwhile
        conn.execute("UPDATE jobs SET claims = claims + 1 WHERE id = ?", (jobs[0].token[0],))
    acked: list[int] = []
    acker = ack_in_a_thread(store, jobs, acked)
    assert len(store.claim(["default"], 2, OWNER, 0.0)) == 2
    acker.join(5)
    assert acked == [1]  # the acker frees no unique lock of a batch the store did not confirm whole
    store.close()
