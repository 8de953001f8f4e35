"""``sidequest run -p N``: N worker processes under one supervisor, to use every core.

The supervisor runs no jobs. It starts N children (each a full ``sidequest run`` with its own lease),
forwards TERM/INT/TSTP/TTIN to them, replaces a child that dies (after a pause if it keeps dying
at once), and on TERM waits for every child's own graceful shutdown before exiting.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
import time
from collections.abc import Sequence

from sidequest.runtime.signals import install

log = logging.getLogger("sidequest")

CRASH_LOOP_SECONDS = 2.0


class Supervisor:
    """Keeps ``count`` children running ``command`` until told to stop."""

    def __init__(self, command: Sequence[str], count: int, timeout: float) -> None:
        self.command = list(command)
        self.count = count
        self.timeout = timeout
        self.children: list[tuple[subprocess.Popen[bytes], float]] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    def _spawn(self) -> subprocess.Popen[bytes]:
        child = subprocess.Popen(self.command)
        log.info("started child process %d", child.pid)
        return child

    def signal(self, name: str) -> None:
        """Forward a signal to every child; TERM/INT also stop the supervisor."""
        if name in ("TERM", "INT"):
            self._stopping.set()
            name = "TERM"
        signum = getattr(signal, f"SIG{name}")
        with self._lock:
            for child, _ in self.children:
                if child.poll() is None:
                    child.send_signal(signum)

    def run(self) -> int:
        """Supervise until TERM/INT; returns 0 once every child has exited."""
        restore = install(self.signal)
        try:
            with self._lock:
                self.children = [(self._spawn(), time.monotonic()) for _ in range(self.count)]
            while not self._stopping.wait(0.2):
                self._replace_dead()
            return self._wait_for_children()
        finally:
            restore()

    def _replace_dead(self) -> None:
        with self._lock:
            for index, (child, started) in enumerate(self.children):
                code = child.poll()
                if code is None or self._stopping.is_set():
                    continue
                log.error("child process %d exited with code %s; starting a replacement", child.pid, code)
                if time.monotonic() - started < CRASH_LOOP_SECONDS:
                    time.sleep(1.0)  # a child that dies at once would otherwise spin here
                self.children[index] = (self._spawn(), time.monotonic())

    def _wait_for_children(self) -> int:
        deadline = time.monotonic() + self.timeout + 5.0
        for child, _ in self.children:
            remaining = max(0.1, deadline - time.monotonic())
            try:
                child.wait(remaining)
            except subprocess.TimeoutExpired:
                log.error("child %d did not stop in time; killing it (its jobs will be rescued)", child.pid)
                child.kill()
                child.wait()
        return 0
