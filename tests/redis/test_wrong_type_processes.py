"""Scenarios with real ``sidequest run`` processes: another application broke a key the process writes
(``SET dead x``, ``SET queue:bad x``). The job that needs that key is not lost, the process keeps
running every other job, and the log names the key."""

from __future__ import annotations

import time
from pathlib import Path

from redis.client import Redis

from processes import SidequestProcess, runs, wait_for
from sidequest.client import Client
from sidequest.stores.redis import RedisStore
from testapp.workers import ActionWorker


def in_flight(raw: Redis, jid: str) -> bool:
    """True when some process's in-flight list holds the job ``jid``."""
    return any(jid in text for key in raw.scan_iter("queue:sq|*") for text in raw.lrange(key, 0, -1))


def test_a_job_that_dies_while_dead_is_a_string_is_kept_and_the_process_runs_the_others(
    redis_url: str, tmp_path: Path
) -> None:
    raw = Redis.from_url(redis_url, decode_responses=True)
    store = RedisStore(redis_url)
    client = Client(store)
    record = tmp_path / "record.txt"
    raw.set("dead", "x")
    doomed = client.push({"class": ActionWorker, "args": ["fail", "doomed"], "retry": 0})
    assert doomed is not None
    client.enqueue_bulk(ActionWorker, [["ok", n] for n in range(20)])
    proc = SidequestProcess(redis_url, tmp_path, ["-c", "4"], record)
    try:
        wait_for(lambda: {"doomed", *map(str, range(20))} <= set(runs(record)), 60, "every job to run")
        # The death cannot be recorded: the job stays in the in-flight list, not in "no key at all".
        wait_for(lambda: in_flight(raw, doomed), 10, "the dying job to be held in flight")
        assert raw.get("dead") == "x"
        client.enqueue_bulk(ActionWorker, [["ok", n] for n in range(20, 30)])
        wait_for(lambda: set(map(str, range(20, 30))) <= set(runs(record)), 60, "later jobs to run")
        assert proc.process.poll() is None, "the process must keep running"
        raw.delete("dead")
        # Once the key is fixed the death is recorded (the outcome is kept, not dropped), or at least
        # the job is still held, to be rescued.
        try:
            wait_for(lambda: raw.zcard("dead") == 1, 20, "the death to be recorded")
            [dead] = raw.zrange("dead", 0, -1)
            assert doomed in dead and not in_flight(raw, doomed)
        except AssertionError:
            assert in_flight(raw, doomed)
    finally:
        proc.terminate()
    output = proc.output()
    assert "Redis key 'dead' holds a string" in output
    assert runs(record)["doomed"] == 1 and sum(runs(record).values()) == 31
    store.close()
    raw.close()


def test_a_queue_whose_key_is_a_string_does_not_stop_the_other_queues_of_a_process(
    redis_url: str, tmp_path: Path
) -> None:
    raw = Redis.from_url(redis_url, decode_responses=True)
    store = RedisStore(redis_url)
    record = tmp_path / "record.txt"
    raw.set("queue:bad", "x")
    raw.sadd("queues", "bad")
    Client(store).enqueue_bulk(ActionWorker, [["ok", n] for n in range(30)])
    proc = SidequestProcess(redis_url, tmp_path, ["-c", "4", "-q", "bad", "-q", "default"], record)
    try:
        wait_for(lambda: set(map(str, range(30))) <= set(runs(record)), 60, "default's jobs to run")
        assert proc.process.poll() is None
    finally:
        assert proc.terminate() == 0
    output = proc.output()
    assert "Redis key 'queue:bad' holds a string" in output
    # Logged once a minute per key, not at every claim (several a second).
    assert output.count("Redis key 'queue:bad' holds a string") <= 2
    assert raw.get("queue:bad") == "x"
    store.close()
    raw.close()


def test_a_stats_key_of_the_wrong_type_never_lets_a_live_process_lose_its_jobs(
    redis_url: str, tmp_path: Path
) -> None:
    # The holder's beats cannot count what it processed (stat:processed is a list): the beat still
    # renews its lease, so the second process's rescuer never takes the long jobs it is running (they
    # would run twice). The second process counts nothing, so its own beats go through.
    raw = Redis.from_url(redis_url, decode_responses=True)
    store = RedisStore(redis_url)
    record = tmp_path / "record.txt"
    raw.rpush("stat:processed", "another application's list")
    client = Client(store)
    client.enqueue_bulk(ActionWorker, [["ok", f"short-{n}"] for n in range(5)])
    holder = SidequestProcess(redis_url, tmp_path, ["-c", "4"], record, name="holder")
    rescuer: SidequestProcess | None = None
    try:
        wait_for(lambda: all(runs(record)[f"short-{n}"] == 1 for n in range(5)), 30, "the short jobs")
        client.enqueue_bulk(ActionWorker, [["sleep", f"long-{n}", 6.0] for n in range(3)])
        wait_for(lambda: len(store.busy()) == 3, 20, "the three long jobs to run")
        rescuer = SidequestProcess(redis_url, tmp_path, ["-c", "3", "-q", "other"], record, name="rescuer")
        wait_for(lambda: all(runs(record)[f"long-{n}"] >= 1 for n in range(3)), 30, "the long jobs")
        time.sleep(1.0)
        assert all(runs(record)[f"long-{n}"] == 1 for n in range(3))  # none rescued from the live holder
        assert "Redis key 'stat:processed' holds a list" in holder.output()
        assert "rescued" not in rescuer.output()
    finally:
        raw.delete("stat:processed")
        codes = [holder.terminate(), rescuer.terminate() if rescuer is not None else 0]
    assert codes == [0, 0]
    store.close()
