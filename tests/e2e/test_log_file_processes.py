"""A real ``sidequest run`` with its log in a file: every job's start and done lines reach the file,
the last lines before the process exits too, and a log on a full disk loses no job."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from processes import SRC, TESTS, SidequestProcess, runs, wait_for
from sidequest.client import Client
from sidequest.stores import open_store

JOBS = 500


def test_a_drain_logs_start_then_done_for_every_job_and_the_last_line_before_exit(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    record = tmp_path / "runs.txt"
    jids = Client(open_store(url)).enqueue_bulk("testapp.workers.NoopWorker", [[n] for n in range(JOBS)])
    proc = SidequestProcess(url, tmp_path, [], record)
    try:
        wait_for(lambda: len(runs(record)) == JOBS, 60, "every job")
    finally:
        assert proc.terminate() == 0
    assert set(runs(record).values()) == {1}
    lines = proc.output().splitlines()
    events: dict[str, list[str]] = defaultdict(list)
    for line in lines:
        if "class=testapp.workers.NoopWorker" in line:
            jid, message = line.split(" jid=", 1)[1].split(" ", 1)
            events[jid].append(message.split(":", 1)[0])  # "start", or "done" of "done: 0.000 s"
    assert set(events) == set(jids)
    assert all(found == ["start", "done"] for found in events.values()), "lines missing or swapped"
    # The line logged just before os._exit is the file's last: nothing after it was lost.
    assert lines[-1].endswith("INFO: bye (exit code 0)")


def test_a_process_whose_log_is_on_a_full_disk_still_does_every_job_once_and_stops(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    record = tmp_path / "runs.txt"
    Client(open_store(url)).enqueue_bulk("testapp.workers.NoopWorker", [[n] for n in range(JOBS)])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TESTS), str(SRC)]),
        "SIDEQUEST_TEST_RECORD": str(record),
    }
    command = [sys.executable, "-m", "sidequest", "run", "--url", url, "-r", "testapp.workers"]
    with open("/dev/full", "w") as full:
        proc = subprocess.Popen(command, stdout=full, stderr=full, env=env, cwd=tmp_path)
        try:
            wait_for(lambda: len(runs(record)) == JOBS, 60, "every job, with the log unwritable")
        finally:
            proc.terminate()
            code = proc.wait(40)
    assert code == 0
    assert set(runs(record).values()) == {1}
