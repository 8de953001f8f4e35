"""Time limits that stop jobs, process isolation, and processes recycled by memory or job count, on real
``sidequest run`` processes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from processes import SidequestProcess, children_of, runs, wait_for
from sidequest.client import Client
from sidequest.stores import open_store
from sidequest.stores.base import Store
from testapp.limit_workers import (
    AsyncWaitWorker,
    BlockedWorker,
    ChildWorker,
    IntervalWorker,
    LeakWorker,
    SpinWorker,
)

LIMITS = ["-r", "testapp.limit_workers"]


def lines(record: Path) -> list[str]:
    return record.read_text().splitlines() if record.exists() else []


def most_at_once(record: Path) -> int:
    """The most IntervalWorker jobs that ran at the same moment, from their recorded intervals."""
    events: list[tuple[float, int]] = []
    for line in lines(record):
        parts = line.split()
        if len(parts) == 5 and parts[1] == "interval":
            events += [(float(parts[3]), 1), (float(parts[4]), -1)]
    running = most = 0
    for _, step in sorted(events, key=lambda event: (event[0], event[1])):
        running += step
        most = max(most, running)
    return most


def retried_with_timeout(store: Store, jid: str) -> bool:
    return any(
        entry.jid == jid and (entry.payload or {}).get("error_class") == "sidequest.errors.JobTimeoutError"
        for entry in store.list_set("retry", 0, 100)
    )


@pytest.mark.parametrize("worker", [SpinWorker, AsyncWaitWorker], ids=["pure-python", "async"])
def test_a_job_past_its_time_limit_fails_with_job_timeout_error_and_retries_while_others_run(
    store_url: str, tmp_path: Path, worker: type[SpinWorker] | type[AsyncWaitWorker]
) -> None:
    record = tmp_path / "record.txt"
    store = open_store(store_url)
    client = Client(store)
    proc = SidequestProcess(store_url, tmp_path, [*LIMITS, "-c", "4"], record)
    try:
        wait_for(lambda: len(store.processes()) == 1, 30, "the process to beat")
        jid = client.enqueue(worker, ["long", 60])
        assert jid is not None
        wait_for(lambda: runs(record)["long:start"] == 1, 20, "the long job to start")
        started = time.monotonic()
        wait_for(
            lambda: retried_with_timeout(store, jid), 10, "the job in the retry set with JobTimeoutError"
        )
        assert time.monotonic() - started < 4.5  # a 2 s limit, checked every 0.25 s
        assert runs(record)["long:end"] == 0
        # The process runs on at full concurrency: four one-second jobs at once.
        client.enqueue_bulk(IntervalWorker, [[n, 1.0] for n in range(8)])
        wait_for(lambda: len([line for line in lines(record) if " interval " in line]) == 8, 30, "8 jobs")
        assert most_at_once(record) == 4
    finally:
        assert proc.terminate() == 0
    assert "fail: sidequest.errors.JobTimeoutError" in proc.output()
    store.close()


def test_a_thread_blocked_in_c_past_its_limit_gives_its_slot_to_a_new_thread(
    sqlite_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    store = open_store(sqlite_url)
    client = Client(store)
    proc = SidequestProcess(sqlite_url, tmp_path, [*LIMITS, "-c", "4"], record)
    try:
        wait_for(lambda: len(store.processes()) == 1, 30, "the process to beat")
        jid = client.enqueue(BlockedWorker, ["stuck", 60])
        assert jid is not None
        wait_for(lambda: runs(record)["stuck:start"] == 1, 20, "the blocked job to start")
        started = time.monotonic()
        # 2 s limit + 2 s grace: then it is failed, and a new thread takes its slot.
        wait_for(lambda: retried_with_timeout(store, jid), 15, "the stuck job failed with JobTimeoutError")
        assert time.monotonic() - started < 6.5
        client.enqueue_bulk(IntervalWorker, [[n, 1.0] for n in range(8)])
        wait_for(lambda: len([line for line in lines(record) if " interval " in line]) == 8, 30, "8 jobs")
        assert most_at_once(record) == 4  # the stuck thread still sleeps, and four jobs ran at once
    finally:
        assert proc.terminate() == 0
    output = proc.output()
    assert "its slot goes to a new thread" in output
    assert "died" not in output  # the watchdog does not take the abandoned thread for a dead one
    store.close()


def test_isolated_jobs_are_killed_at_their_limit_and_a_crashing_child_fails_only_its_own_job(
    sqlite_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    store = open_store(sqlite_url)
    client = Client(store)
    proc = SidequestProcess(sqlite_url, tmp_path, [*LIMITS, "-c", "4", "--process-pool", "2"], record)
    try:
        wait_for(lambda: len(store.processes()) == 1, 30, "the process to beat")
        sleeper = client.enqueue(ChildWorker, ["sleep", "sleeper", 60])
        assert sleeper is not None
        started = time.monotonic()
        wait_for(lambda: retried_with_timeout(store, sleeper), 15, "the sleeping child killed at 2 s")
        assert time.monotonic() - started < 5
        crashers = [client.enqueue(ChildWorker, [action, action]) for action in ("segfault", "kill9")]
        client.enqueue_bulk(ChildWorker, [["ok", f"ok-{n}"] for n in range(10)])
        wait_for(lambda: all(runs(record)[f"ok-{n}"] == 1 for n in range(10)), 30, "the other jobs")

        def crashed_ones() -> set[str]:
            return {
                entry.jid
                for entry in store.list_set("retry", 0, 100)
                if (entry.payload or {}).get("error_class") == "sidequest.errors.ChildProcessDiedError"
            }

        wait_for(lambda: set(crashers) <= crashed_ones(), 15, "both crashed jobs in the retry set")
    finally:
        assert proc.terminate() == 0
    store.close()


def test_cpu_bound_isolated_jobs_run_on_both_cores(sqlite_url: str, tmp_path: Path) -> None:
    record = tmp_path / "record.txt"
    store = open_store(sqlite_url)
    Client(store).enqueue_bulk(ChildWorker, [["burn", f"cpu-{n}", 0.2] for n in range(20)])
    proc = SidequestProcess(sqlite_url, tmp_path, [*LIMITS, "-c", "4", "--process-pool", "2"], record)
    try:
        wait_for(lambda: len(lines(record)) == 20, 60, "every CPU-bound job")
    finally:
        assert proc.terminate() == 0
    pids = {line.rsplit("pid=", 1)[1] for line in lines(record)}
    assert len(pids) == 2  # both children did work, each on a core of its own
    assert str(proc.pid) not in pids
    store.close()


def test_a_leaking_process_is_recycled_by_max_memory_and_every_job_runs_once(
    sqlite_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    store = open_store(sqlite_url)
    Client(store).enqueue_bulk(LeakWorker, [[n] for n in range(60)])
    supervisor = SidequestProcess(
        sqlite_url, tmp_path, [*LIMITS, "-p", "2", "-c", "2", "--max-memory", "150"], record
    )
    try:
        wait_for(lambda: len(runs(record)) == 60, 90, "every job")
        assert set(runs(record).values()) == {1}
    finally:
        assert supervisor.terminate() == 0
    output = supervisor.output()
    assert "recycling: its memory reached" in output
    assert "starting a replacement" in output
    store.close()


def test_max_jobs_recycles_the_process_after_that_many_jobs(sqlite_url: str, tmp_path: Path) -> None:
    record = tmp_path / "record.txt"
    store = open_store(sqlite_url)
    Client(store).enqueue_bulk(IntervalWorker, [[n, 0.05] for n in range(300)])
    proc = SidequestProcess(sqlite_url, tmp_path, [*LIMITS, "-c", "2", "--max-jobs", "10"], record)
    assert proc.wait(60) == 0  # alone, without -p: it exits cleanly for the platform to restart
    assert "recycling: it performed" in proc.output()
    done = len(lines(record))
    assert 10 <= done < 300  # checked twice a second, so a few more than 10 may run
    assert sum(queue.size for queue in store.queues()) == 300 - done  # the rest wait, none lost
    store.close()


def test_term_lets_isolated_jobs_finish_within_t_then_requeues_the_rest_and_leaves_no_child(
    sqlite_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    store = open_store(sqlite_url)
    client = Client(store)
    proc = SidequestProcess(sqlite_url, tmp_path, [*LIMITS, "-t", "2", "--process-pool", "2"], record)
    wait_for(lambda: len(store.processes()) == 1, 30, "the process to beat")
    children = children_of(proc.pid)  # the pool's forkserver (its children are the pool)
    pool = [grandchild for child in children for grandchild in children_of(child)]
    assert len(pool) == 2
    client.enqueue(ChildWorker, ["sleep", "quick", 1.0], options={"time_limit": 60})
    client.enqueue(ChildWorker, ["sleep", "slow", 30.0], options={"time_limit": 60})
    wait_for(lambda: len(store.busy()) == 2, 20, "both jobs running in children")
    started = time.monotonic()
    assert proc.terminate() == 0
    assert time.monotonic() - started < 2 + 5
    assert runs(record)["quick"] == 1  # finished within -t
    assert runs(record)["slow"] == 0
    [queue] = [info for info in store.queues() if info.name == "default"]
    assert queue.size == 1  # the slow one is back at the front of its queue
    wait_for(lambda: not any(os.path.exists(f"/proc/{pid}") for pid in [*children, *pool]), 10, "no child")
    store.close()
