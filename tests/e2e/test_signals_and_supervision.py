"""Signals, remote control, time limits and ``-p N`` supervision, on real processes."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from processes import SidequestProcess, children_of, runs, wait_for
from sidequest.client import Client
from sidequest.stores import open_store
from testapp.workers import ActionWorker


def test_ttin_logs_the_stack_of_every_thread(sqlite_url: str, tmp_path: Path) -> None:
    store = open_store(sqlite_url)
    proc = SidequestProcess(sqlite_url, tmp_path)
    try:
        wait_for(lambda: len(store.processes()) == 1, 20, "the process to beat")
        proc.signal(signal.SIGTTIN)
        wait_for(lambda: "thread dump (TTIN)" in proc.output(), 10, "the thread dump")
        wait_for(lambda: "MainThread" in proc.output(), 5, "the main thread's stack")
    finally:
        assert proc.terminate() == 0
    store.close()


def test_a_job_past_the_shutdown_timeout_without_a_time_limit_is_logged(
    sqlite_url: str, tmp_path: Path
) -> None:
    # No time_limit: the job is not stopped, but a job that cannot finish within -t would be cut off at
    # every restart, and the log says so.
    store = open_store(sqlite_url)
    Client(store).enqueue(ActionWorker, ["sleep", "slow", 2.5])
    proc = SidequestProcess(sqlite_url, tmp_path, ["-t", "1"], tmp_path / "record.txt")
    try:
        wait_for(lambda: "over time limit" in proc.output(), 15, "the time-limit warning")
        assert "testapp.workers.ActionWorker" in proc.output()
        wait_for(lambda: runs(tmp_path / "record.txt")["slow"] == 1, 15, "the job to finish")
    finally:
        assert proc.terminate() == 0
    store.close()


def test_remote_quiet_and_stop_through_the_store_reach_the_process(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url)
    proc = SidequestProcess(store_url, tmp_path)
    wait_for(lambda: len(store.processes()) == 1, 20, "the process to beat")
    [info] = store.processes()
    store.signal(info.identity, "TSTP")
    wait_for(lambda: bool(store.processes()) and store.processes()[0].quiet, 10, "the process to be quiet")
    store.signal(info.identity, "TERM")
    assert proc.wait(20) == 0
    assert store.processes() == []
    store.close()


def test_a_supervised_child_that_dies_is_replaced_and_term_stops_them_all(
    sqlite_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    store = open_store(sqlite_url)
    supervisor = SidequestProcess(sqlite_url, tmp_path, ["-p", "2"], record)
    try:
        wait_for(lambda: len(store.processes()) == 2, 30, "two children to beat")
        first = sorted(children_of(supervisor.pid))[0]
        os.kill(first, signal.SIGKILL)
        wait_for(
            lambda: len(children_of(supervisor.pid)) == 2 and first not in children_of(supervisor.pid),
            20,
            "a replacement child",
        )
        Client(store).enqueue(ActionWorker, ["ok", "after-replacement"])
        wait_for(lambda: runs(record)["after-replacement"] == 1, 20, "a job to run")
    finally:
        started = time.monotonic()
        assert supervisor.terminate() == 0
    assert time.monotonic() - started < 25
    assert children_of(supervisor.pid) == []
    store.close()
