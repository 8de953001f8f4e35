"""The batched log writer behind ``setup_logging``: every line, in order per thread, nothing lost at
exit, and a log that cannot be written never stops a job thread."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import subprocess
import sys
import threading
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import pytest

from processes import SRC
from sidequest.runtime.logs import flush_logging, job_log_context, setup_logging

THREADS = 10
TEXT_LINE = r"\S+Z pid=\d+ tid=(\w+) INFO: class=app\.workers\.Worker jid=(\w+) (.*)"
LINES = 2000


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put the loggers ``setup_logging`` changes back as they were, and stop its writer thread."""
    loggers = [logging.getLogger("sidequest"), logging.getLogger()]
    saved = [(lg, list(lg.handlers), lg.level, lg.propagate) for lg in loggers]
    yield
    for lg, handlers, level, propagate in saved:
        for handler in [h for h in lg.handlers if h not in handlers]:
            lg.removeHandler(handler)
            handler.close()
        for handler in handlers:
            if handler not in lg.handlers:
                lg.addHandler(handler)
        lg.setLevel(level)
        lg.propagate = propagate
    logging.captureWarnings(False)


def log_from_threads(count: int = THREADS, lines: int = LINES) -> list[threading.Thread]:
    """``count`` job threads at once, each logging ``lines`` numbered lines inside its own job."""
    log = logging.getLogger("sidequest.runtime.executor")
    app = logging.getLogger("app.workers")
    start = threading.Barrier(count)

    def job(index: int) -> None:
        start.wait()
        with job_log_context("app.workers.Worker", f"jid{index}"):
            for n in range(lines):
                # sidequest's own lines and the application's, alternating, as in a real job
                (log if n % 2 else app).info("line %d of thread %d", n, index)

    threads = [threading.Thread(target=job, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    return threads


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_ten_threads_logging_at_once_have_every_line_written_in_their_order(
    fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restore_logging: None
) -> None:
    path = tmp_path / "stderr.log"
    with path.open("w") as stream:
        monkeypatch.setattr(sys, "stderr", stream)
        setup_logging(fmt)
        for thread in log_from_threads():
            thread.join(timeout=120)
            assert not thread.is_alive()
        flush_logging()
    seen: dict[str, list[int]] = defaultdict(list)
    tids: dict[str, set[str]] = defaultdict(set)
    for line in path.read_text().splitlines():
        if fmt == "json":
            data = json.loads(line)
            message, jid, tid = data["msg"], data["jid"], data["tid"]
        else:
            found = re.fullmatch(
                r"\S+Z pid=\d+ tid=(\w+) INFO: class=app\.workers\.Worker jid=(\w+) (.*)", line
            )
            assert found, line
            tid, jid, message = found.groups()
        number, thread = re.fullmatch(r"line (\d+) of thread (\d+)", message).groups()  # type: ignore[union-attr]
        assert jid == f"jid{thread}"
        seen[thread].append(int(number))
        tids[thread].add(tid)
    assert sorted(seen) == [str(index) for index in range(THREADS)]
    for thread, numbers in seen.items():
        assert numbers == list(range(LINES)), f"thread {thread}: lines missing or out of order"
    assert all(len(found) == 1 for found in tids.values())
    assert len({tid for found in tids.values() for tid in found}) == THREADS


def test_the_lines_logged_just_before_os_exit_are_in_the_file(tmp_path: Path) -> None:
    script = (
        "import logging, os\n"
        "from sidequest.runtime.logs import flush_logging, setup_logging\n"
        "setup_logging('text')\n"
        "log = logging.getLogger('sidequest.cli')\n"
        "for n in range(5000):\n"
        "    log.info('line %d', n)\n"
        "log.info('the last line')\n"
        "flush_logging()\n"
        "os._exit(3)\n"
    )
    path = tmp_path / "stderr.log"
    with path.open("w") as stream:
        done = subprocess.run(
            [sys.executable, "-c", script],
            stderr=stream,
            env={**os.environ, "PYTHONPATH": str(SRC)},
            timeout=60,
        )
    assert done.returncode == 3
    lines = path.read_text().splitlines()
    assert [line.rsplit(" ", 1)[1] for line in lines[:-1]] == [str(n) for n in range(5000)]
    assert lines[-1].endswith("INFO: the last line")


def test_the_lines_logged_before_a_normal_exit_are_in_the_file(tmp_path: Path) -> None:
    script = (
        "import logging\n"
        "from sidequest.runtime.logs import setup_logging\n"
        "setup_logging('json')\n"
        "logging.getLogger('app').warning('goodbye')\n"
    )
    path = tmp_path / "stderr.log"
    with path.open("w") as stream:
        subprocess.run(
            [sys.executable, "-c", script],
            stderr=stream,
            env={**os.environ, "PYTHONPATH": str(SRC)},
            timeout=60,
            check=True,
        )
    assert json.loads(path.read_text())["msg"] == "goodbye"


def test_a_log_on_a_full_disk_never_blocks_the_job_threads_and_is_said_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    full: TextIO = open("/dev/full", "w")  # noqa: SIM115 - closed below, after the handler is gone
    try:
        monkeypatch.setattr(sys, "stderr", full)
        setup_logging("text")
        for thread in log_from_threads(lines=500):
            thread.join(timeout=120)
            assert not thread.is_alive(), "a job thread is stuck on the full log"
        flush_logging()  # never raises either
        flush_logging()
        complaints = [
            line for line in capfd.readouterr().err.splitlines() if "cannot write log lines" in line
        ]
        assert len(complaints) == 1, complaints
        assert "No space left on device" in complaints[0]
        assert "/dev/full" in complaints[0]

        # Once the log can be written again, its lines come back, after a line saying how many were lost.
        path = tmp_path / "stderr.log"
        with path.open("w") as stream:
            monkeypatch.setattr(sys, "stderr", stream)
            logging.getLogger("sidequest.cli").info("writable again")
            flush_logging()
        lost, back = path.read_text().splitlines()
        assert re.fullmatch(r"sidequest: \d+ log lines were lost while the log could not be written", lost)
        assert int(lost.split()[1]) == THREADS * 500
        assert back.endswith("INFO: writable again")
    finally:
        monkeypatch.setattr(sys, "stderr", sys.__stderr__)
        with contextlib.suppress(OSError):  # its buffer still holds what it could not write
            full.close()


def test_a_forked_child_writes_its_own_lines_once_and_not_the_parents_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restore_logging: None
) -> None:
    path = tmp_path / "stderr.log"
    with path.open("w") as stream:
        monkeypatch.setattr(sys, "stderr", stream)
        setup_logging("text")
        log = logging.getLogger("sidequest.cli")
        log.info("parent before the fork")
        pid = os.fork()
        if pid == 0:  # the child: log, flush, and leave without running pytest's exit code
            try:
                log.info("child")
                flush_logging()
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        log.info("parent after the fork")
        flush_logging()
    messages = sorted(line.split("INFO: ", 1)[1] for line in path.read_text().splitlines())
    assert messages == ["child", "parent after the fork", "parent before the fork"]
