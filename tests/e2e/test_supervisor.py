"""``sidequest run -p N`` when children cannot start, and signals that arrive at any moment."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from processes import SidequestProcess


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
