"""Crashes during a Redis drain: sidequest processes killed with -9, and Redis itself restarted.

Sidekiq's free version loses the jobs a killed process had popped; here every one must run.
"""

from __future__ import annotations

from pathlib import Path

from processes import SidequestProcess, runs, wait_for
from servers import RedisServer
from sidequest.client import Client
from sidequest.stores import open_store
from testapp.workers import NoopWorker

JOBS = 50_000


def test_kill_9_five_times_during_a_50000_job_drain_loses_nothing(
    own_redis: RedisServer, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    store = open_store(own_redis.url)
    Client(store).enqueue_bulk(NoopWorker, [[n] for n in range(JOBS)])
    args = ["-c", "10", "--log-level", "WARNING"]
    for kill in range(1, 6):
        proc = SidequestProcess(own_redis.url, tmp_path, args, record, name=f"victim{kill}")
        floor = len(runs(record))
        wait_for(lambda floor=floor: len(runs(record)) >= floor + 2_000, 60, f"progress before kill {kill}")
        proc.kill9()
    survivor = SidequestProcess(own_redis.url, tmp_path, args, record, name="survivor")
    try:
        wait_for(lambda: len(runs(record)) == JOBS, 120, "every job to run", poll=0.25)
        wait_for(lambda: store.counts().enqueued == 0 and store.counts().busy == 0, 30, "the store to settle")
    finally:
        assert survivor.terminate() == 0
    counted = runs(record)
    assert set(counted) == {str(n) for n in range(JOBS)}
    # At least once: only jobs in flight at each kill may have run twice.
    assert sum(counted.values()) - JOBS < 5 * 1_000
    store.close()


def test_redis_restarted_mid_drain_the_processes_recover_and_lose_nothing(
    own_redis: RedisServer, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    store = open_store(own_redis.url)
    Client(store).enqueue_bulk(NoopWorker, [[n] for n in range(20_000)])
    procs = [SidequestProcess(own_redis.url, tmp_path, ["-c", "10"], record, name=f"p{i}") for i in range(2)]
    try:
        wait_for(lambda: len(runs(record)) >= 3_000, 60, "the drain to start")
        own_redis.restart(down_for=1.5)
        wait_for(lambda: len(runs(record)) == 20_000, 120, "every job to run after the restart", poll=0.25)
    finally:
        for proc in procs:
            assert proc.terminate() == 0
    assert set(runs(record)) == {str(n) for n in range(20_000)}
    output = "".join(proc.output() for proc in procs)
    assert "unreachable" in output
    assert "came back" in output or "is back" in output or "recovered" in output
    store.close()
