"""Expiring jobs (Sidekiq Pro's ``expires_in``): a job not started by its ``expires_at`` is dropped.

The client turns the ``expires_in`` option (seconds) into the payload's ``expires_at`` (epoch seconds,
counted from the job's due time: now, or its ``at``), as Sidekiq Pro writes it; the executor drops a
job past it without running it (the acker counts it: ``Store.expired_count``). A plain job pays one
dict lookup for this.
"""

from __future__ import annotations

import math
from typing import Any

from sidequest.job import Payload

EXPIRES_IN = "expires_in"
EXPIRES_AT = "expires_at"


def has_expired(expires_at: Any, now: float) -> bool:
    """True when ``expires_at`` is a usable time (a finite number) at or before ``now``. Anything else
    (a string from another client, NaN) is ignored: the job runs rather than being dropped on a doubt."""
    if isinstance(expires_at, bool) or not isinstance(expires_at, (int, float)):
        return False
    return math.isfinite(expires_at) and expires_at <= now


def stamp_expiry(payload: Payload, at: float | None, now: float) -> None:
    """Replace the ``expires_in`` option of ``payload`` by its ``expires_at`` (from ``at`` or ``now``)."""
    seconds = payload.pop(EXPIRES_IN, None)
    if seconds is not None:
        payload[EXPIRES_AT] = (at if at is not None else now) + float(seconds)
