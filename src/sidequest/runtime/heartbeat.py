"""The heartbeat: keeps this process's lease alive and tells the store what it is doing.

Each beat renews the lease on every job the process holds, publishes the process and its busy jobs
(Sidekiq's Busy page reads them on Redis), flushes the processed/failed counts and per-class metrics
kept in memory, and collects remote signals (quiet/stop from the CLI or a dashboard). It does nothing else.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable

from sidequest.errors import PermanentStoreError, StoreDataError, StoreError
from sidequest.job import ClassMetrics, ProcessInfo
from sidequest.runtime.tracker import Tracker
from sidequest.stores.base import Heartbeat as Beat
from sidequest.stores.base import Store

log = logging.getLogger("sidequest")


def rss_kb() -> int:
    """Resident set size of this process in KB (0 where /proc is missing)."""
    try:
        with open(f"/proc/{os.getpid()}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Heartbeat:
    """Beats for one process."""

    name = "heartbeat"

    def __init__(
        self,
        store: Store,
        tracker: Tracker,
        process: ProcessInfo,
        ttl: float,
        is_quiet: Callable[[], bool],
        on_signal: Callable[[str], None],
    ) -> None:
        self.store = store
        self.tracker = tracker
        self.process = process
        self.ttl = ttl
        self.is_quiet = is_quiet
        self.on_signal = on_signal
        self._failing = False
        self.last_success: float | None = None
        """``time.monotonic()`` of the last beat the store recorded (the health check reads it)."""

    def run_once(self, now: float) -> bool:
        """Beat once; True when the store recorded it, False on an outage. A
        :class:`~sidequest.errors.PermanentStoreError` is raised: it ends the process."""
        processed, failed = self.tracker.take_counts()
        metrics = self.tracker.take_metrics()
        busy = self.tracker.busy()
        info = dataclasses.replace(
            self.process, busy=len(busy), beat=now, quiet=self.is_quiet(), rss_kb=rss_kb()
        )
        try:
            signals = self.store.beat(Beat(info, busy, processed, failed, self.ttl, metrics=metrics))
        except PermanentStoreError:
            self._give_back(processed, failed, metrics)
            raise  # a configuration error: the launcher stops the process, no retry loop
        except StoreDataError as exc:
            # One key of the wrong type (the Redis store still renewed the lease): said at every beat,
            # since the counts wait until someone fixes the key.
            self._give_back(processed, failed, metrics)
            log.error("heartbeat: %s", exc)
            self.last_success = time.monotonic()  # the store answered
            return True
        except StoreError as exc:
            self._give_back(processed, failed, metrics)
            self._note_failure(exc)
            return False
        except Exception:
            self._give_back(processed, failed, metrics)  # the loop logs it; the next beat counts them
            raise
        self.last_success = time.monotonic()
        if self._failing:
            log.warning("heartbeat recovered: the store is reachable again")
        self._failing = False
        for signal in signals:
            log.info("received remote signal %s", signal)
            self.on_signal(signal)
        if signals:
            # Publish the new state (quiet) now rather than one interval later.
            return self.run_once(now)
        return True

    def _give_back(self, processed: int, failed: int, metrics: list[ClassMetrics]) -> None:
        self.tracker.give_back_counts(processed, failed)
        self.tracker.give_back_metrics(metrics)

    def _note_failure(self, exc: StoreError) -> None:
        if not self._failing:
            log.error(
                "heartbeat failed, the store is unreachable (%s); this process's jobs are safe until "
                "its lease (%.0f s) runs out",
                exc,
                self.ttl,
            )
        self._failing = True
