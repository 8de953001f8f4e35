"""The monitor: enforces time limits, and warns about jobs that could not survive a restart.

A job with a ``time_limit`` (its own option, or the process's ``--time-limit``) that runs past it is
stopped: a thread job gets :class:`~sidequest.errors.JobTimeoutError` raised inside its thread (see
``interrupt.py``); an ``async def perform`` is cancelled by the executor's own timeout; a child-process
job is killed by the pool. Each then fails through the normal retry policy.

A thread blocked in C code (``time.sleep``, a socket read without a timeout) cannot see the interrupt.
When it is still running :attr:`ProcessConfig.stuck_grace` seconds later, the monitor logs it, records
the job's failure now, and hands its slot to a new thread: one stuck job never shrinks the pool. The
stuck thread is a daemon and is abandoned; if it ever returns, its result is dropped.

Jobs without a limit are only watched: one that runs past the shutdown timeout would be cut off and
requeued at every deploy, and the warning lets people find it before a restart does.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

from sidequest.job import Claimed, Payload
from sidequest.runtime.tracker import Running, Tracker

log = logging.getLogger("sidequest")

MONITOR_INTERVAL = 0.25
"""Seconds between two checks: a job is stopped at most this long after its limit."""


def seconds(value: Any) -> float | None:
    """A usable number of seconds (> 0 and finite), else None: a payload from another client may hold
    anything (a bool, NaN, infinity, a string)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if 0 < number < math.inf else None


def enforced_limit(payload: Payload | None, default: float | None) -> float | None:
    """The time limit that applies to a job: its own ``time_limit``, else the process's default."""
    own = seconds(payload.get("time_limit")) if payload is not None else None
    return own if own is not None else default


class Monitor:
    """Checks running jobs against their time limits."""

    name = "monitor"

    def __init__(
        self,
        tracker: Tracker,
        warn_after: float,
        default_limit: float | None = None,
        grace: float = 2.0,
        on_stuck: Callable[[Claimed], None] | None = None,
    ) -> None:
        self.tracker = tracker
        self.warn_after = warn_after
        self.default_limit = default_limit
        self.grace = grace
        self.on_stuck = on_stuck

    def run_once(self, now: float) -> int:
        """Stop, give up on, or warn about each job past its limit; returns how many it acted on."""
        acted = 0
        mono = time.monotonic()
        for run in self.tracker.running():
            limit = enforced_limit(run.claimed.payload, self.default_limit)
            if limit is None:
                acted += self._warn(run, now)
            elif run.stopped_at is None:
                acted += self._stop(run, limit, mono)
            elif not run.abandoned and mono - run.stopped_at > self.grace:
                acted += self._give_up(run, limit, mono)
        return acted

    def _stop(self, run: Running, limit: float, mono: float) -> int:
        if mono - run.started_monotonic <= limit or run.span is None:
            return 0  # async and child-process jobs are stopped where they run
        if not run.span.interrupt():
            return 0
        run.stopped_at = mono
        log.warning(
            "time limit: stopping the job after %.1f s (time_limit %.1f s); it fails with JobTimeoutError",
            mono - run.started_monotonic,
            limit,
            extra=_fields(run.claimed.payload),
        )
        return 1

    def _give_up(self, run: Running, limit: float, mono: float) -> int:
        run.abandoned = True
        log.error(
            "time limit: the job is still running %.1f s after it was stopped at its limit (%.1f s): its "
            "thread is blocked where Python cannot interrupt it (C code, a read without a timeout). The job "
            "is failed now and its slot goes to a new thread; the stuck thread is abandoned",
            mono - (run.stopped_at or mono),
            limit,
            extra=_fields(run.claimed.payload),
        )
        if self.on_stuck is not None:
            self.on_stuck(run.claimed)
        return 1

    def _warn(self, run: Running, now: float) -> int:
        limit = self.warn_after
        if run.over_limit_logged or limit <= 0 or now - run.started <= limit:
            return 0
        run.over_limit_logged = True
        log.warning(
            "over time limit: running %.1f s, past the shutdown timeout of %.1f s; it will not survive a "
            "restart: split it (enqueue-then-process), or give it a time_limit to stop it there",
            now - run.started,
            limit,
            extra=_fields(run.claimed.payload),
        )
        return 1


def _fields(payload: Payload | None) -> dict[str, Any]:
    payload = payload or {}
    return {"jid": payload.get("jid"), "job_class": payload.get("class")}
