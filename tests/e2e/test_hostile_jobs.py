"""Real ``sidequest run`` processes given jobs that fight them: each bad job is recorded as its own
failure, every other job runs exactly once, and a TERM afterwards has nothing to push back."""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from processes import SidequestProcess, runs, wait_for
from sidequest.client import Client
from sidequest.stores import open_store
from testapp.hostile_workers import AsyncHostileWorker, ExhaustedHookRaisesWorker, HostileWorker
from testapp.workers import AsyncActionWorker, NoopWorker

HOSTILE = ["-r", "testapp.hostile_workers"]


def test_a_job_whose_error_message_cannot_be_encoded_is_recorded_and_the_50_others_run_once(
    store_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    store = open_store(store_url)
    client = Client(store)
    client.enqueue_bulk(NoopWorker, [[n] for n in range(25)])
    bad = client.enqueue(HostileWorker, ["surrogate", "bad-text"])
    client.enqueue_bulk(NoopWorker, [[n] for n in range(25, 50)])
    proc = SidequestProcess(store_url, tmp_path, HOSTILE, record)
    try:
        wait_for(lambda: len(runs(record)) == 51, 30, "all 51 jobs to run")
        wait_for(lambda: store.counts().retry == 1, 10, "the bad job to be recorded")
        wait_for(lambda: not store.busy() and store.counts().processed == 51, 10, "every outcome recorded")
    finally:
        code = proc.terminate()
    assert code == 0
    [entry] = store.list_set("retry")
    assert entry.jid == bad
    assert entry.payload is not None
    assert entry.payload["error_class"] == "RuntimeError"
    assert entry.payload["error_message"] == "cannot import report-\\udcff.csv"  # escaped, readable
    counted = runs(record)
    assert set(counted.values()) == {1}  # nothing ran twice: every ack got through, before and after
    output = proc.output()
    assert "recorded it with its text escaped" in output
    assert "terminating" not in output and "pushed" not in output  # nothing was left to push back
    assert sum(queue.size for queue in store.queues()) == 0
    store.close()


DEEP_ARGS = "[" * 300 + "1" + "]" * 300
"""orjson reads 1,024 levels but writes 254: a job this deep can be run, but written again only by
copying its text."""


def deep_payload_text(jid: str) -> str:
    text = orjson.dumps(
        {
            "class": HostileWorker.sidequest_name(),
            "queue": "default",
            "args": ["fail", "deep", "NESTED"],
            "jid": jid,
            "retry": True,
            "created_at": time.time(),
            "enqueued_at": time.time(),
        }
    ).decode()
    return text.replace('"NESTED"', DEEP_ARGS)


def run_51_jobs_around(store_url: str, tmp_path: Path, put_deep_job: Callable[[], None]) -> SidequestProcess:
    """25 jobs, the deep one, 25 jobs; returns the process once every outcome is recorded."""
    record = tmp_path / "record.txt"
    store = open_store(store_url)
    client = Client(store)
    client.enqueue_bulk(NoopWorker, [[n] for n in range(25)])
    put_deep_job()
    client.enqueue_bulk(NoopWorker, [[n] for n in range(25, 50)])
    proc = SidequestProcess(store_url, tmp_path, HOSTILE, record)
    try:
        wait_for(lambda: len(runs(record)) == 51, 30, "all 51 jobs to run")
        wait_for(lambda: store.counts().processed == 51 and not store.busy(), 10, "every outcome recorded")
        wait_for(lambda: store.counts().retry + store.counts().dead == 1, 10, "the deep job recorded")
    finally:
        assert proc.terminate() == 0
    assert set(runs(record).values()) == {1}  # nothing ran twice: every ack got through
    assert "terminating" not in proc.output() and "pushed" not in proc.output()  # nothing to push back
    assert sum(queue.size for queue in store.queues()) == 0
    store.close()
    return proc


def test_a_failed_job_nested_too_deep_to_write_goes_to_the_dead_set_with_its_reason_and_others_run_once(
    sqlite_url: str, tmp_path: Path
) -> None:
    # Another writer (an older version, a script) put the row there: sidequest itself cannot write it.
    jid = "d" * 24
    raw = deep_payload_text(jid)

    def put_deep_job() -> None:
        store = open_store(sqlite_url)
        Client(store).push({"class": HostileWorker.sidequest_name(), "args": ["PLACEHOLDER"], "jid": jid})
        store.close()
        with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:
            conn.execute("UPDATE jobs SET payload = ? WHERE payload LIKE '%PLACEHOLDER%'", (raw,))
        conn.close()

    proc = run_51_jobs_around(sqlite_url, tmp_path, put_deep_job)
    store = open_store(sqlite_url)
    [entry] = store.list_set("dead")
    # Its original text, with the reason appended (nothing re-encoded), so a person sees why.
    assert entry.jid == jid and entry.raw.startswith(raw[:-1])
    assert entry.payload is not None and entry.payload["error_class"] == "StoreDataError"
    assert "nested deeper than 254 levels" in entry.payload["error_message"]
    assert store.list_set("retry") == []
    output = proc.output()
    assert f"job {jid}" in output and "moved to the dead set as stored" in output
    store.close()


def test_on_redis_a_failed_job_nested_too_deep_keeps_the_text_of_its_args_in_the_retry_set(
    redis_url: str, tmp_path: Path
) -> None:
    # Redis takes jobs from other clients (Ruby, scripts); the store copies unchanged fields' text.
    import redis

    jid = "e" * 24

    def put_deep_job() -> None:
        server = redis.Redis.from_url(redis_url)
        server.sadd("queues", "default")
        server.lpush("queue:default", deep_payload_text(jid))
        server.close()

    run_51_jobs_around(redis_url, tmp_path, put_deep_job)
    store = open_store(redis_url)
    [entry] = store.list_set("retry")
    assert entry.jid == jid and DEEP_ARGS in entry.raw
    assert entry.payload is not None and entry.payload["error_message"] == "told to fail (fail)"
    store.close()


SYNC_KINDS = {
    "keyboard-interrupt": "KeyboardInterrupt",
    "generator-exit": "GeneratorExit",
    "system-exit": "SystemExit",
    "cancelled": "asyncio.exceptions.CancelledError",
    "unprintable": "testapp.hostile_workers.UnprintableError",
    "nameless": "UnknownError",
    "hook-raise": "testapp.hostile_workers.HookSays",
}
ASYNC_KINDS = {
    "keyboard-interrupt": "KeyboardInterrupt",
    "generator-exit": "GeneratorExit",
    "system-exit": "SystemExit",
    "cancelled": "asyncio.exceptions.CancelledError",
    "unprintable": "testapp.hostile_workers.UnprintableError",
    "child-keyboard-interrupt": "KeyboardInterrupt",
    "hook-raise": "testapp.hostile_workers.HookSays",
}


def test_every_base_exception_a_job_raises_is_that_jobs_failure_and_the_process_runs_on(
    store_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    store = open_store(store_url)
    client = Client(store)
    expected: dict[str, str] = {}
    for kind, error in SYNC_KINDS.items():
        expected[client.enqueue(HostileWorker, [kind, f"sync-{kind}"])] = error
    for kind, error in ASYNC_KINDS.items():
        expected[client.enqueue(AsyncHostileWorker, [kind, f"async-{kind}"])] = error
    expected[client.enqueue(HostileWorker, ["ok", "mw-blocked"])] = "KeyboardInterrupt"
    exhausted = client.enqueue(ExhaustedHookRaisesWorker, ["exhausted"])
    args = [*HOSTILE, "--middleware", "testapp.hostile_workers:explosive_middleware"]
    proc = SidequestProcess(store_url, tmp_path, args, record)
    try:
        wait_for(lambda: store.counts().retry == len(expected), 30, "every failure in the retry set")
        wait_for(lambda: store.counts().dead == 1, 10, "the exhausted job in the dead set")
        # The event loop and the threads still work afterwards.
        client.enqueue(AsyncActionWorker, ["ok", "async-after"])
        client.enqueue(NoopWorker, ["sync-after"])
        wait_for(lambda: runs(record)["async-after"] == 1 and runs(record)["sync-after"] == 1, 10, "new jobs")
    finally:
        code = proc.terminate()
    assert code == 0
    now = time.time()
    entries = {entry.jid: entry for entry in store.list_set("retry", limit=100)}
    assert set(entries) == set(expected)
    for jid, error in expected.items():
        payload = entries[jid].payload
        assert payload is not None, jid
        assert payload["error_class"] == error, payload
        assert payload["retry_count"] == 0
        score = entries[jid].score
        assert score is not None and math.isfinite(score) and score > now + 10  # Sidekiq's backoff
    unprintable = [entries[jid].payload for jid, error in expected.items() if "Unprintable" in error]
    assert all(
        p is not None and p["error_message"] == "!!! ERROR MESSAGE THREW AN ERROR !!!" for p in unprintable
    )
    [dead] = store.list_set("dead")
    assert dead.jid == exhausted
    assert "retries_exhausted raised" in proc.output()
    assert "the event loop stopped on KeyboardInterrupt; restarting it" in proc.output()
    counted = runs(record)
    assert counted["mw-blocked"] == 0  # the middleware raised before perform
    assert all(counted[f"sync-{kind}"] == 1 for kind in SYNC_KINDS)
    assert all(counted[f"async-{kind}"] == 1 for kind in ASYNC_KINDS)
    store.close()
