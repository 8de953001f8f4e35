"""Every background service is ``run_once(now)`` plus a jittered sleep, so tests can call ``run_once``."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Protocol

from sidequest.errors import PermanentStoreError

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
        on_fatal: Callable[[PermanentStoreError], None] | None = None,
    ) -> None:
        self.service = service
        self.on_fatal = on_fatal
        self._interval = interval
        self._jitter = jitter
        self._initial = initial_delay
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sidequest-{service.name}", daemon=True)

    def start(self) -> None:
        """Start the loop thread."""
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the current pass (waiting up to ``timeout`` for it; 0 only asks)."""
        self._stop.set()
        if timeout > 0 and self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def dead_threads(self) -> list[str]:
        """The loop thread's name if it ended without being asked to stop (a defect)."""
        if self._stop.is_set() or self._thread.ident is None or self._thread.is_alive():
            return []
        return [self._thread.name]

    def _sleep_time(self) -> float:
        base = self._interval() if callable(self._interval) else self._interval
        return max(0.0, base * (1 + self._jitter * (2 * random.random() - 1)))

    def _run(self) -> None:
        if self._initial and self._stop.wait(self._initial):
            return
        while not self._stop.is_set():
            try:
                self.service.run_once(time.time())
            except PermanentStoreError as exc:
                # A configuration error (wrong password, not a database): retrying cannot help.
                self._stop.set()
                if self.on_fatal is not None:
                    self.on_fatal(exc)
                return
            except Exception:
                log.exception("%s pass failed; trying again at the next one", self.service.name)
            if self._stop.wait(self._sleep_time()):
                return
