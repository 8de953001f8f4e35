"""A process ends on time and says why: a frozen store, a thread that died, a store that refuses it."""

from __future__ import annotations

import signal
import sqlite3
from collections.abc import Callable
from pathlib import Path

import redis
from processes import SidequestProcess, runs, wait_for
from servers import RedisServer
from sidequest.client import Client
from sidequest.stores import open_store
from testapp.workers import ActionWorker


def term_with_the_store_frozen(
    url: str, tmp_path: Path, freeze: Callable[[], None], thaw: Callable[[], None]
) -> None:
    """5 jobs running with -t 3; the store freezes; TERM: the process must end within 3 + 5 s, non-zero,
    and once the store thaws another process runs every job (requeued, or rescued from the lease)."""
    record = tmp_path / "record.txt"
    store = open_store(url)
    client = Client(store)
    keys = [f"held-{n}" for n in range(5)]
    for key in keys:
        client.enqueue(ActionWorker, ["block", key, 60])
    args = ["-t", "3", "-c", "5"]
    stuck = SidequestProcess(url, tmp_path, args, record, env={"SIDEQUEST_TEST_BLOCK": "1"}, name="stuck")
    # And one whose fetcher waits in a claim on an empty queue: that claim must not hold up its stop.
    idle = SidequestProcess(url, tmp_path, [*args, "-q", "nothing-here"], name="idle")
    wait_for(lambda: store.counts().busy == 5 and len(store.processes()) == 2, 20, "the 5 jobs to run")
    freeze()
    try:
        stuck.signal(signal.SIGTERM)
        idle.signal(signal.SIGTERM)
        code = stuck.wait(3 + 5)  # raises TimeoutExpired past -t + 5 s
        idle_code = idle.wait(3 + 5)  # TERMed at the same moment
    finally:
        thaw()
    assert code != 0  # jobs could not be pushed back
    assert "shutdown ran out of time" in stuck.output()
    assert idle_code == 0, idle.output()  # it held no job: nothing is at risk
    survivor = SidequestProcess(url, tmp_path, [], record, name="survivor")
    try:
        wait_for(lambda: all(runs(record)[key] == 1 for key in keys), 30, "every held job to run")
    finally:
        assert survivor.terminate() == 0
    assert set(runs(record)) == set(keys)
    store.close()


def test_term_with_redis_frozen_ends_within_the_timeout_plus_5_s_non_zero_and_loses_no_job(
    own_redis: RedisServer, tmp_path: Path
) -> None:
    process = own_redis.process
    assert process is not None
    term_with_the_store_frozen(
        own_redis.url,
        tmp_path,
        lambda: process.send_signal(signal.SIGSTOP),
        lambda: process.send_signal(signal.SIGCONT),
    )


def test_term_with_the_sqlite_file_locked_ends_within_the_timeout_plus_5_s_non_zero_and_loses_no_job(
    sqlite_url: str, tmp_path: Path
) -> None:
    # Another program holding the write lock: every write waits SQLite's busy timeout (10 s).
    locker = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)

    def freeze() -> None:
        locker.execute("BEGIN IMMEDIATE")

    def thaw() -> None:
        locker.execute("ROLLBACK")
        locker.close()

    term_with_the_store_frozen(sqlite_url, tmp_path, freeze, thaw)


def test_a_thread_that_dies_ends_the_process_non_zero_with_a_critical_line_naming_it(
    store_url: str, tmp_path: Path
) -> None:
    store = open_store(store_url)
    Client(store).enqueue(ActionWorker, ["block", "held", 60])
    args = [
        *("-r", "testapp.thread_killer", "--client-middleware", "testapp.thread_killer:kill_the_thread"),
        *("-t", "1"),
    ]
    proc = SidequestProcess(store_url, tmp_path, args, env={"SIDEQUEST_TEST_BLOCK": "1"}, name="dying")
    code = proc.wait(30)
    output = proc.output()
    assert code == 1, output
    assert "CRITICAL: thread sidequest-cron died" in output
    # A staged stop: the job it held went back to its queue, and the process left the process list.
    assert store.counts().enqueued == 1 and store.counts().busy == 0
    assert store.processes() == []
    store.close()


def test_a_redis_password_changed_under_a_running_process_ends_it_non_zero_with_the_error(
    own_redis: RedisServer, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    store = open_store(own_redis.url)
    Client(store).enqueue(ActionWorker, ["ok", "before"])
    proc = SidequestProcess(own_redis.url, tmp_path, [], record)
    try:
        wait_for(lambda: runs(record)["before"] == 1, 20, "the first job")
        admin = redis.Redis.from_url(own_redis.url)
        admin.config_set("requirepass", "changed-under-it")
        admin.execute_command("CLIENT", "KILL", "TYPE", "normal")  # existing connections stay logged in
        admin.close()
        code = proc.wait(20)
    finally:
        if proc.process.poll() is None:
            proc.kill9()
    output = proc.output()
    assert code == 1
    assert "ERROR: stopping: the store refused this process" in output
    assert output.count("stopping: the store refused this process") == 1  # one clear line, no retry loop
    store.close()
