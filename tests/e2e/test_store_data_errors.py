"""One key of the wrong type concerns only the jobs that touch it: the others are recorded, the process
runs on, and the stuck job is pushed back at TERM like any held job."""

from __future__ import annotations

from pathlib import Path

import redis
from processes import SidequestProcess, runs, wait_for
from sidequest.client import Client
from sidequest.stores import open_store
from testapp.workers import ActionWorker, NoopWorker


def test_a_retry_set_of_the_wrong_type_parks_that_outcome_and_every_other_job_finishes(
    redis_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    store = open_store(redis_url)
    client = Client(store)
    server = redis.Redis.from_url(redis_url)
    server.set("retry", "another application's string")  # Sidekiq's retry set must be a sorted set
    failing = client.enqueue(ActionWorker, ["fail", "stuck"])
    client.enqueue_bulk(NoopWorker, [[n] for n in range(20)])
    proc = SidequestProcess(redis_url, tmp_path, [], record)
    try:
        wait_for(lambda: len(runs(record)) == 21, 30, "every job to run")
        wait_for(lambda: "cannot record the outcome of job" in proc.output(), 10, "the parked outcome logged")
        client.enqueue(NoopWorker, [99])
        wait_for(lambda: runs(record)["99"] == 1, 10, "the process to run on")
    finally:
        code = proc.terminate()
    assert code == 0
    assert set(runs(record).values()) == {1}
    # Held under the lease while parked, then pushed back at TERM, unchanged.
    [entry] = store.list_queue("default")
    assert entry.jid == failing
    output = proc.output()
    assert "retry" in output.split("cannot record the outcome of job", 1)[1].splitlines()[0]  # names the key
    server.close()
    store.close()


def test_a_queue_key_of_the_wrong_type_is_set_aside_and_the_other_queues_are_served(
    redis_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    store = open_store(redis_url)
    server = redis.Redis.from_url(redis_url)
    server.sadd("queues", "spoiled")
    server.set("queue:spoiled", "another application's string")  # a queue must be a list
    Client(store).enqueue_bulk(NoopWorker, [[n] for n in range(20)])
    proc = SidequestProcess(redis_url, tmp_path, ["-q", "spoiled", "-q", "default"], record)
    try:
        wait_for(lambda: len(runs(record)) == 20, 30, "the jobs of the good queue")
    finally:
        code = proc.terminate()
    assert code == 0
    assert set(runs(record).values()) == {1}
    output = proc.output()
    assert "Redis key 'queue:spoiled' holds a string" in output
    assert "that queue is skipped" in output
    assert "store is unreachable" not in output  # one key's data is not an outage
    server.close()
    store.close()
