"""What happens to a job whose ``perform`` raised :class:`~sidequest.errors.OverLimit`.

Sidekiq Enterprise's rule: the job is rescheduled with the limiter's backoff, without counting as a
failure (no failed stat, no error fields, ``retry_count`` untouched, no ``retries_exhausted``), and its
payload's ``overrated`` counter goes up. This holds even for ``retry: False`` jobs. After
:data:`~sidequest.limiter.MAX_OVERRATED` reschedules the OverLimit goes through the normal retry
policy. Pure: the executor turns the answer into an ``Outcome``.
"""

from __future__ import annotations

import logging
import math
import random
import time

from sidequest.errors import OverLimit, RemoteJobError
from sidequest.job import Payload
from sidequest.limiter import DEFAULT_BACKOFF, MAX_OVERRATED, Limiter

log = logging.getLogger("sidequest.job")


OVER_LIMIT_CLASS = f"{OverLimit.__module__}.{OverLimit.__qualname__}"
"""How a child process (``isolation="process"``) reports an OverLimit: its error class."""


def over_limit(exc: BaseException) -> OverLimit | None:
    """The OverLimit a job raised: ``exc`` itself, or for a job run in a child process, a stand-in with
    the child's message (its limiter stayed in the child, so the default backoff applies)."""
    if isinstance(exc, OverLimit):
        return exc
    if isinstance(exc, RemoteJobError) and exc.error_class == OVER_LIMIT_CLASS:
        return OverLimit(exc.message)
    return None


def reschedule(payload: Payload, exc: OverLimit, rng: random.Random) -> tuple[Payload, float] | None:
    """The payload to reschedule (``overrated`` + 1) and when it is due; None once the job has been
    rescheduled :data:`MAX_OVERRATED` times (the retry policy decides then)."""
    count = payload.get("overrated")
    count = count if isinstance(count, int) and not isinstance(count, bool) and count > 0 else 0
    if count >= MAX_OVERRATED:
        return None
    count += 1
    delay = _delay(exc, count, rng)
    rescheduled = dict(payload)
    rescheduled["overrated"] = count
    log.info(
        "over limit: %s; rescheduled in %.1f s (overrated %d of %d)",
        exc,
        delay,
        count,
        MAX_OVERRATED,
        extra={"jid": payload.get("jid"), "job_class": payload.get("class"), "queue": payload.get("queue")},
    )
    return rescheduled, time.time() + delay


def _delay(exc: OverLimit, count: int, rng: random.Random) -> float:
    limiter = exc.limiter
    if isinstance(limiter, Limiter):
        try:
            delay = limiter.reschedule_in(count, rng)
            if math.isfinite(delay) and delay >= 0:
                return delay
        except Exception:  # a user's backoff that raises gets the default one
            log.exception("the backoff of limiter %r raised; using the default", limiter.name)
    return DEFAULT_BACKOFF * count + rng.uniform(0, DEFAULT_BACKOFF)
