"""``sidequest run -p N``: N worker processes under one supervisor, to use every core.

The supervisor runs no jobs. It starts N children (each a full ``sidequest run`` with its own lease),
forwards TERM/INT/TSTP/TTIN to them, replaces a child that dies (or exits to be recycled, as
``--max-memory`` and ``--max-jobs`` make it), and on TERM waits for every child's own graceful shutdown
before exiting. HUP restarts the children one at a time (a rolling restart after a deploy, as Sidekiq
Enterprise does it): each is stopped gracefully, so its running jobs finish or go back to their queues,
and replaced by a child running the new code before the next one stops, so the others keep working.

Two failure modes shape the code:

* A signal handler runs on the main thread between two bytecodes, possibly while the main thread holds a
  lock: a handler that takes that lock deadlocks the supervisor for good. So the handler only records the
  signal (``SimpleQueue.put`` is reentrant) and the main loop acts on it.
* A child that cannot start (a bad ``-r``, a bad URL, a wrong password) would be restarted forever, each
  time printing its error once more. After :data:`START_FAILURES` failed exits in a row within
  :data:`START_WINDOW` seconds of starting, the supervisor stops every child and exits with that child's
  exit code: the child's own ``Error:`` line, printed just above, says what to fix. A child that exits 0
  (recycled by ``--max-memory`` or ``--max-jobs``, or stopped remotely) is replaced however soon.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import subprocess
import time
from collections import deque
from collections.abc import Sequence

from sidequest.observability.serving import PROCESS_INDEX_ENV
from sidequest.runtime.signals import HANDLED, install

log = logging.getLogger("sidequest")

START_WINDOW = 10.0
"""Seconds: a child that exits sooner than this after its start failed to start."""

START_FAILURES = 3
"""Children failing to start in a row (with no child surviving its start meanwhile) before giving up."""

RESPAWN_PAUSE = 1.0
"""Seconds to wait before replacing a child that failed to start, so a crash loop does not spin."""


class Supervisor:
    """Keeps ``count`` children running ``command`` until told to stop."""

    def __init__(self, command: Sequence[str], count: int, timeout: float) -> None:
        self.command = list(command)
        self.count = count
        self.timeout = timeout
        self.children: list[tuple[subprocess.Popen[bytes], float]] = []
        self._signals: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._start_failures = 0
        self._to_restart: deque[int] = deque()
        self._restarting: int | None = None

    def _spawn(self, index: int) -> tuple[subprocess.Popen[bytes], float]:
        # The index tells child i to serve --metrics-port/--health-port on PORT+i; a replacement gets
        # the index, so the port, of the child it replaces.
        child = subprocess.Popen(self.command, env={**os.environ, PROCESS_INDEX_ENV: str(index)})
        log.info("started child process %d", child.pid)
        return child, time.monotonic()

    def signal(self, name: str) -> None:
        """Called from the signal handler: only record the signal; :meth:`run` acts on it."""
        self._signals.put(name)

    def run(self) -> int:
        """Supervise until TERM/INT; returns 0 once every child has exited after a stop, or the exit
        code of a child that kept failing to start."""
        restore = install(self.signal, (*HANDLED, "HUP"))
        try:
            self.children = [self._spawn(index) for index in range(self.count)]
            while True:
                try:
                    name = self._signals.get(timeout=0.2)
                except queue.Empty:
                    failed = self._replace_dead()
                    if failed is not None:
                        self._forward("TERM")
                        self._wait_for_children()
                        return failed
                    continue
                if name in ("TERM", "INT"):
                    self._forward("TERM")
                    return self._wait_for_children()
                if name == "HUP":
                    self._rolling_restart()
                else:
                    self._forward(name)
        finally:
            restore()

    def _forward(self, name: str) -> None:
        signum = getattr(signal, f"SIG{name}", None)
        if signum is None:
            return
        for child, _ in self.children:
            if child.poll() is None:
                child.send_signal(signum)

    def _rolling_restart(self) -> None:
        pending = [index for index in range(len(self.children)) if index not in self._to_restart]
        log.info("HUP: restarting %d child processes one at a time", len(pending))
        self._to_restart.extend(pending)
        self._restart_next()

    def _restart_next(self) -> None:
        if self._restarting is not None or not self._to_restart:
            return
        self._restarting = self._to_restart.popleft()
        child, _ = self.children[self._restarting]
        log.info("rolling restart: stopping child process %d", child.pid)
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)

    def _replace_dead(self) -> int | None:
        """Replace children that exited; return an exit code when children keep failing to start."""
        for index, (child, started) in enumerate(self.children):
            code = child.poll()
            if code is not None and index == self._restarting:
                self.children[index] = self._spawn(index)
                self._restarting = None
                self._restart_next()
                continue
            if code is None:
                if time.monotonic() - started >= START_WINDOW:
                    self._start_failures = 0  # one child survived its start: the setup is sound
                continue
            if code != 0 and time.monotonic() - started < START_WINDOW:
                self._start_failures += 1
                if self._start_failures >= START_FAILURES:
                    log.error(
                        "child processes exited %d times in a row at start (last exit code %s); giving up: "
                        "see the child's error above",
                        self._start_failures,
                        code,
                    )
                    return code or 1
                log.error("child process %d exited with code %s at start; retrying", child.pid, code)
                time.sleep(RESPAWN_PAUSE)
            else:
                log.error("child process %d exited with code %s; starting a replacement", child.pid, code)
            self.children[index] = self._spawn(index)
        return None

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
