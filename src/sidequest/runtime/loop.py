"""Every background service is ``run_once(now)`` plus a jittered sleep, so tests can call ``run_once``."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger("sidequest")


class Service(Protocol):
    """A background service: one pass of its work at time ``now``."""

    name: str

    def run_once(self, now: float) -> object:
        """Do one pass; exceptions are logged by the loop and the next pass runs as planned."""


class ServiceLoop:
    """Runs ``service.run_once`` every ``interval`` seconds, jittered by +/- ``jitter`` (a fraction)."""

    def __init__(
        self,
        service: Service,
        interval: Callable[[], float] | float,
        jitter: float = 0.5,
        initial_delay: float = 0.0,
    ) -> None:
        self.service = service
        self._interval = interval
        self._jitter = jitter
        self._initial = initial_delay
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sidequest-{service.name}", daemon=True)

    def start(self) -> None:
        """Start the loop thread."""
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the current pass."""
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def _sleep_time(self) -> float:
        base = self._interval() if callable(self._interval) else self._interval
        return max(0.0, base * (1 + self._jitter * (2 * random.random() - 1)))

    def _run(self) -> None:
        if self._initial and self._stop.wait(self._initial):
            return
        while not self._stop.is_set():
            try:
                self.service.run_once(time.time())
            except Exception:
                log.exception("%s pass failed; trying again at the next one", self.service.name)
            if self._stop.wait(self._sleep_time()):
                return
