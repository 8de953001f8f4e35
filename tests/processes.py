"""Real ``sidequest run`` processes for end-to-end tests: start, signal, kill -9, wait."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

TESTS = Path(__file__).resolve().parent
SRC = TESTS.parent / "src"


FAST_TIMINGS = [
    "--heartbeat-interval",
    "0.5",
    "--lease-ttl",
    "2",
    "--rescue-interval",
    "0.5",
    "--scheduler-interval",
    "0.2",
]
"""Quick timings for a test's ``sidequest run`` (a dead process's jobs come back within seconds)."""


class SidequestProcess:
    """One ``sidequest run`` subprocess with its log in a file.

    Every one started is remembered until it has been waited for, so the suite can kill what a test
    left running (:func:`kill_leftovers`): a leftover process would keep taking jobs from a later
    test's store (a new server may get the same free port).
    """

    running: ClassVar[set[subprocess.Popen[bytes]]] = set()

    def __init__(
        self,
        url: str,
        workdir: Path,
        args: Sequence[str] = (),
        record: Path | None = None,
        env: dict[str, str] | None = None,
        name: str = "proc",
    ) -> None:
        self.log_path = workdir / f"{name}-{time.monotonic_ns()}.log"
        environment = dict(os.environ)
        environment["PYTHONPATH"] = os.pathsep.join([str(TESTS), str(SRC), environment.get("PYTHONPATH", "")])
        if record is not None:
            environment["SIDEQUEST_TEST_RECORD"] = str(record)
        environment.update(env or {})
        command = [
            sys.executable,
            "-m",
            "sidequest",
            "run",
            "--url",
            url,
            "-r",
            "testapp.workers",
            *FAST_TIMINGS,
            *args,
        ]
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in wait()
        self.process = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT, env=environment, cwd=workdir
        )
        SidequestProcess.running.add(self.process)

    @property
    def pid(self) -> int:
        return self.process.pid

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def kill9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.wait(10)

    def terminate(self, timeout: float = 40) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def wait(self, timeout: float) -> int:
        try:
            code = self.process.wait(timeout)
        finally:
            self._log.close()
        SidequestProcess.running.discard(self.process)
        return code

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_for(condition: Callable[[], bool], timeout: float, what: str, poll: float = 0.05) -> None:
    """Poll ``condition`` until it holds; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def runs(record: Path) -> Counter[str]:
    """How many times each key was performed, from the record file."""
    if not record.exists():
        return Counter()
    return Counter(line.split(" ", 1)[1] for line in record.read_text().splitlines() if " " in line)


def children_of(pid: int) -> list[int]:
    """Child pids of ``pid``, read from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def kill_leftovers() -> list[int]:
    """Kill -9 (with every child) each ``sidequest run`` a test started and did not wait for; returns
    their pids."""
    left = [process for process in SidequestProcess.running if process.poll() is None]
    for process in left:
        for pid in [*children_of(process.pid), process.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(10)
    SidequestProcess.running.clear()
    return [process.pid for process in left]
