"""Unique jobs at the client, on every store: a job with ``unique_for`` is enqueued once while an
identical one (same class, queue and arguments) is pending; duplicates return None, from any number of
threads and processes. What happens when the job runs is in ``tests/runtime/test_unique_launcher.py``."""

from __future__ import annotations

import hashlib
import textwrap
import threading
import time
from typing import Any

import orjson

import sidequest
import sidequest.testing
from racing import race
from sidequest.client import Client
from sidequest.stores.base import Store

NAME = "tests.unique.ReportWorker"
"""Jobs name their worker by string here: enqueueing never imports it."""

UNIQUE = {"unique_for": 60}


class ReportWorker(sidequest.Worker):
    sidequest_options = {"unique_for": 60, "queue": "reports"}

    def perform(self, account: int, options: dict[str, Any] | None = None) -> None:
        pass


def test_a_second_identical_enqueue_is_skipped_and_returns_none(store: Store) -> None:
    client = Client(store)
    first = client.enqueue(ReportWorker, [7])
    assert first is not None
    assert client.enqueue(ReportWorker, [7]) is None
    assert client.push({"class": ReportWorker, "args": [7]}) is None
    [entry] = store.list_queue("reports")
    assert entry.jid == first


def test_jobs_differing_in_arguments_queue_or_class_are_not_duplicates(store: Store) -> None:
    client = Client(store)
    pushed = [
        client.enqueue(NAME, [1], options=UNIQUE),
        client.enqueue(NAME, [2], options=UNIQUE),
        client.enqueue(NAME, [1], options={**UNIQUE, "queue": "other"}),
        client.enqueue(NAME + "2", [1], options=UNIQUE),
    ]
    assert None not in pushed
    assert store.counts().enqueued == 4


def test_dict_arguments_in_another_key_order_are_the_same_job(store: Store) -> None:
    client = Client(store)
    assert client.enqueue(ReportWorker, [7, {"from": 1, "to": 2}]) is not None
    assert client.enqueue(ReportWorker, [7, {"to": 2, "from": 1}]) is None


def test_jobs_without_unique_for_are_never_skipped(store: Store) -> None:
    client = Client(store)
    assert None not in [client.enqueue(NAME, [1]) for _ in range(3)]
    assert None not in [client.enqueue(ReportWorker, [1], options={"unique_for": None}) for _ in range(3)]
    assert store.counts().enqueued == 6


def test_the_payload_names_its_lock_by_a_sha256_of_class_queue_and_args(store: Store) -> None:
    jid = Client(store).enqueue(ReportWorker, [7, {"b": 1, "a": 2}])
    [entry] = store.list_queue("reports")
    assert entry.jid == jid and entry.payload is not None
    canonical = orjson.dumps([ReportWorker.sidequest_name(), "reports", [7, {"a": 2, "b": 1}]])
    assert entry.payload["unique_key"] == hashlib.sha256(canonical).hexdigest()
    assert entry.payload["unique_for"] == 60


def test_the_lock_ends_after_unique_for_seconds(store: Store) -> None:
    client = Client(store)
    options = {"unique_for": 0.5}
    assert client.enqueue(NAME, [1], options=options) is not None
    assert client.enqueue(NAME, [1], options=options) is None
    time.sleep(0.6)
    assert client.enqueue(NAME, [1], options=options) is not None
    assert store.counts().enqueued == 2


def test_a_scheduled_unique_job_holds_its_lock_until_unique_for_after_its_due_time(store: Store) -> None:
    client = Client(store)
    options = {"unique_for": 0.3}
    due = time.time() + 0.5
    assert client.enqueue(NAME, [1], options=options, at=due) is not None
    time.sleep(0.4)  # past unique_for, still before the job is due: the lock lasts 0.8 s in all
    assert client.enqueue(NAME, [1], options=options) is None
    assert client.enqueue(NAME, [1], options=options, at=due + 60) is None
    assert [entry.score for entry in store.list_set("scheduled")] == [due]
    assert store.queues() == []


def test_bulk_enqueue_reports_none_for_each_duplicate_and_keeps_queue_order(store: Store) -> None:
    client = Client(store)
    pushed = client.enqueue_bulk(NAME, [[1], [2], [1], [3], [2]], options=UNIQUE)
    assert [jid is None for jid in pushed] == [False, False, True, False, True]
    queued = [entry.payload["args"] for entry in store.list_queue("default") if entry.payload]
    assert queued == [[1], [2], [3]]
    assert client.push_bulk({"class": NAME, "args": [[3], [4]], **UNIQUE})[0] is None


def test_racing_enqueues_from_many_threads_make_exactly_one_job(store: Store) -> None:
    client = Client(store)
    start = threading.Barrier(8)
    results: list[str | None] = []

    def enqueue() -> None:
        start.wait()
        results.extend(client.enqueue(NAME, ["race"], options=UNIQUE) for _ in range(10))

    threads = [threading.Thread(target=enqueue) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 80
    assert len([jid for jid in results if jid is not None]) == 1
    assert store.counts().enqueued == 1


# One enqueuer in its own process: four threads, ten enqueues each, printing each jid or "-".
ENQUEUER = textwrap.dedent(
    """
    import sys, threading
    from sidequest.client import Client

    client = Client(sys.argv[1])
    results = []
    def enqueue():
        for _ in range(10):
            results.append(client.enqueue(sys.argv[2], ["race"], options={"unique_for": 60}))
    threads = [threading.Thread(target=enqueue) for _ in range(4)]
    print("ready", flush=True)
    sys.stdin.readline()  # start together
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(" ".join(jid or "-" for jid in results), flush=True)
    client.close()
    """
)


def test_racing_enqueues_from_many_processes_make_exactly_one_job(store: Store, store_url: str) -> None:
    results = [jid for out in race(ENQUEUER, [[store_url, NAME]] * 4) for jid in out]
    assert len(results) == 160
    assert len([jid for jid in results if jid != "-"]) == 1
    assert store.counts().enqueued == 1


def test_testing_clients_do_not_enforce_uniqueness() -> None:
    ran: list[int] = []

    class CountingReportWorker(sidequest.Worker):
        sidequest_options = {"unique_for": 60}

        def perform(self, account: int) -> None:
            ran.append(account)

    with sidequest.testing.fake() as jobs:
        assert None not in [CountingReportWorker.perform_async(1) for _ in range(2)]
        assert len(jobs.for_worker(CountingReportWorker)) == 2
        assert all("unique_key" in job.payload for job in jobs)
        jobs.drain()
    with sidequest.testing.inline():
        assert None not in [CountingReportWorker.perform_async(2) for _ in range(2)]
    assert ran == [1, 1, 2, 2]
