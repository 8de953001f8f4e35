"""The monitor: logs jobs that run past their time limit.

A job that cannot finish inside the shutdown timeout will be cut off and requeued at every deploy;
logging it when it crosses its ``time_limit`` (default: the shutdown timeout) lets people find it
before a restart does.
"""

from __future__ import annotations

import logging
import math

from sidequest.runtime.tracker import Tracker

log = logging.getLogger("sidequest")


class Monitor:
    """Checks running jobs against their ``time_limit``."""

    name = "monitor"

    def __init__(self, tracker: Tracker, default_limit: float) -> None:
        self.tracker = tracker
        self.default_limit = default_limit

    def run_once(self, now: float) -> int:
        """Log each job newly over its limit; returns how many were logged."""
        logged = 0
        for run in self.tracker.running():
            payload = run.claimed.payload or {}
            limit = payload.get("time_limit") or self.default_limit
            # A limit from another client may be anything: a bool, NaN, infinity, a string.
            usable = isinstance(limit, (int, float)) and not isinstance(limit, bool)
            finite = usable and not (isinstance(limit, float) and not math.isfinite(limit))
            if not finite or limit <= 0 or run.over_limit_logged:
                continue
            if now - run.started > limit:
                run.over_limit_logged = True
                logged += 1
                log.warning(
                    "over time limit: running %.1f s, limit %.1f s; it will not survive a restart within "
                    "the shutdown timeout: split it (enqueue-then-process) or raise time_limit",
                    now - run.started,
                    limit,
                    extra={"jid": payload.get("jid"), "job_class": payload.get("class")},
                )
        return logged
