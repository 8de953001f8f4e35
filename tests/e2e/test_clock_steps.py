"""The wall clock of real ``sidequest run`` processes steps (NTP, a resumed VM) while they hold running
jobs on SQLite, whose leases are wall-clock times: no job is rescued from a live process and none runs
twice; a process killed with -9 after the step still has its jobs rescued.

The clocks are stepped with libfaketime (the Debian package ``faketime``): every process reads its
offset from one file (``FAKETIME_TIMESTAMP_FILE``, re-read at every call with ``FAKETIME_NO_CACHE``),
so the test steps the clock of the whole "machine" at once, as NTP would. The monotonic clock stays
real, as it does when the wall clock is stepped.
"""

from __future__ import annotations

import glob
import sqlite3
import time
from pathlib import Path

import pytest

from processes import SidequestProcess, runs, wait_for
from servers import in_ci
from sidequest.client import Client
from sidequest.stores.sqlite import SQLiteStore
from testapp.clock_workers import HoldWorker

HOLD = 12.0  # seconds each job runs: long enough that the step and the kill land while they run
# Beats rarer than rescue passes (every 0.5 s): after a forward step, every lease looks expired for up
# to a second before its owner renews it, and a rescuer that ignored the step would see it so.
LEASE = ["--heartbeat-interval", "1", "--lease-ttl", "3"]


def faketime_library() -> str:
    """The path of libfaketime; skips the test locally, fails it in CI, when it is missing."""
    patterns = ["/usr/lib/*/faketime/libfaketime.so.1", "/usr/lib/faketime/libfaketime.so.1"]
    found = sorted(path for pattern in patterns for path in glob.glob(pattern))
    if not found:
        message = "libfaketime not found: install the Debian package faketime (.ci/run does)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return found[0]


def rows_left(store: SQLiteStore) -> int:
    """Jobs in any state (the admin counts would judge running ones by this test's unstepped clock)."""
    with sqlite3.connect(store.path) as conn:
        return int(conn.execute("SELECT count(*) FROM jobs").fetchone()[0])


@pytest.mark.parametrize("step", ["+120", "-120"], ids=["forward", "back"])
def test_a_clock_step_under_running_jobs_rescues_nothing_live_and_a_kill_after_it_is_rescued(
    sqlite_url: str, tmp_path: Path, step: str
) -> None:
    clock = tmp_path / "clock-offset"
    clock.write_text("+0\n")
    env = {
        "LD_PRELOAD": faketime_library(),
        "FAKETIME_TIMESTAMP_FILE": str(clock),
        "FAKETIME_NO_CACHE": "1",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    }
    record = tmp_path / "record.txt"
    store = SQLiteStore(sqlite_url)
    Client(store).enqueue_bulk(HoldWorker, [[n, HOLD] for n in range(10)])
    args = ["-r", "testapp.clock_workers", "-c", "5", "--prefetch", "0", *LEASE]
    first = SidequestProcess(sqlite_url, tmp_path, args, record, env=env, name="first")
    second: SidequestProcess | None = None
    try:
        wait_for(lambda: store.counts().enqueued == 5, 30, "the first process to hold 5 jobs")
        second = SidequestProcess(sqlite_url, tmp_path, args, record, env=env, name="second")
        wait_for(lambda: store.counts().enqueued == 0, 30, "the second process to hold the other 5")

        clock.write_text(f"{step}\n")  # every process's wall clock jumps at once
        wait_for(lambda: "the wall clock stepped" in second.output(), 10, "the second process to notice")
        # Past the hold (3 heartbeats of 1 s) and several more rescue passes, every job still running.
        time.sleep(4.0)
        assert runs(record) == {}, "a job finished early or ran twice"

        first.kill9()
        wait_for(lambda: len(runs(record)) == 10, 60, "every job to run, the killed process's in the second")
        # Every row gone (acked): a copy a rescue had wrongly made would have run by now.
        wait_for(lambda: rows_left(store) == 0, 60, "the store to hold no job")
        assert set(runs(record).values()) == {1}
    finally:
        if first.process.poll() is None:
            first.kill9()
        if second is not None and second.process.poll() is None:
            second.kill9()  # not TERM: time.sleep fails under libfaketime, and the shutdown path uses it
    second_output = second.output() if second is not None else ""
    assert "died on this machine" in second_output
    assert "rescued jobs of dead processes: 5 back in their queues" in second_output
    store.close()
