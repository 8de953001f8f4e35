"""``sidequest run -p N`` when children cannot start, and signals that arrive at any moment."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from processes import SidequestProcess, children_of, runs, wait_for
from sidequest.client import Client
from sidequest.stores import open_store
from testapp.workers import ActionWorker


def test_children_that_cannot_start_make_the_supervisor_give_up_with_their_error(
    sqlite_url: str, tmp_path: Path
) -> None:
    supervisor = SidequestProcess(sqlite_url, tmp_path, ["-p", "2", "-r", "no_such_module.workers"])
    started = time.monotonic()
    code = supervisor.wait(60)
    assert code != 0
    assert time.monotonic() - started < 30
    output = supervisor.output()
    assert "no_such_module" in output  # the child's own error, printed once per attempt
    assert "giving up" in output
    assert output.count("started child process") <= 4  # not restarted forever


def test_term_while_a_child_crash_loops_stops_the_supervisor_at_once(sqlite_url: str, tmp_path: Path) -> None:
    supervisor = SidequestProcess(sqlite_url, tmp_path, ["-p", "2", "-r", "no_such_module.workers"])
    # Land the signal during the pause before a respawn, where the handler once waited for a lock the
    # main thread held: a deadlock that left the supervisor running forever.
    deadline = time.monotonic() + 20
    while "exited with code" not in supervisor.output() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "exited with code" in supervisor.output()
    stopped = time.monotonic()
    supervisor.signal(signal.SIGTERM)
    assert supervisor.wait(10) == 0
    assert time.monotonic() - stopped < 5


def test_hup_restarts_the_children_one_by_one_during_a_drain_and_loses_no_job(
    sqlite_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    store = open_store(sqlite_url)
    Client(store).enqueue_bulk(ActionWorker, [["sleep", n, 0.02] for n in range(600)])
    supervisor = SidequestProcess(sqlite_url, tmp_path, ["-p", "2", "-c", "5"], record)
    try:
        wait_for(lambda: len(store.processes()) == 2, 30, "two children to beat")
        before = set(children_of(supervisor.pid))
        wait_for(lambda: len(runs(record)) >= 50, 30, "the drain to be under way")
        supervisor.signal(signal.SIGHUP)
        wait_for(lambda: not before & set(children_of(supervisor.pid)), 60, "both children replaced")
        assert len(children_of(supervisor.pid)) == 2
        wait_for(lambda: len(runs(record)) == 600, 60, "every job to run")
        assert max(runs(record).values()) == 1
        output = supervisor.output()
        # One at a time: the second stop comes after the first replacement started.
        stops = [line for line in output.splitlines() if "rolling restart: stopping" in line]
        assert len(stops) == 2
    finally:
        assert supervisor.terminate() == 0
    store.close()
