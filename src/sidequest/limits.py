"""Rate limits as values: what a limiter is, what a store answers, and the arithmetic of each kind.

No I/O here. :mod:`sidequest.limiter` is the user's API; each store keeps a limiter's state and applies
the rules below atomically (the SQL stores run :func:`bucket_step` and :func:`leaky_step` inside their
transaction; Redis runs the same rules in ``lua/limiter_acquire.lua``).

The four kinds, as in Sidekiq Enterprise:

``concurrent``
    at most ``size`` holders at once. A holder is a token with an expiry ``period`` (the limiter's
    ``lock_timeout``) seconds after it was taken: a holder that died frees its slot then.
``bucket``
    at most ``size`` uses per interval of ``period`` seconds, intervals aligned to the epoch (so
    ``"second"``, ``"minute"``, ``"hour"`` and ``"day"`` are wall-clock seconds, minutes, hours and UTC days).
``window``
    at most ``size`` uses in any sliding ``period`` seconds.
``leaky``
    a bucket of ``size`` drops that drains at ``size / period`` drops a second: a burst of ``size``, then
    one use every ``period / size`` seconds.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from sidequest.errors import ConfigurationError

LimiterKind = Literal["concurrent", "bucket", "window", "leaky"]

KINDS: tuple[LimiterKind, ...] = ("concurrent", "bucket", "window", "leaky")

PERIODS: dict[str, float] = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}
"""The words a period may be given as, in seconds."""

NAME_PATTERN = re.compile(r"[^|\s\x00-\x1f\x7f]{1,200}")
"""A limiter's name: 1 to 200 characters, no ``|`` (the Redis store's key separator), no whitespace or
control characters."""

EPSILON = 1e-9
"""Slack for float comparisons of a leaky bucket's level."""


@dataclass(frozen=True, slots=True)
class Limit:
    """One limiter as a store sees it: ``kind``, ``name``, ``size`` (n) and ``period`` in seconds (for
    ``concurrent``, the lock timeout). Two limiters of different kinds never share state, even under
    the same name."""

    kind: LimiterKind
    name: str
    size: int
    period: float


@dataclass(frozen=True, slots=True)
class Verdict:
    """A store's answer to one use: ``allowed``, and when refused, ``wait``: seconds until a use may
    be allowed at the earliest (for ``concurrent``, until the oldest holder's lock expires; a release
    may free a slot sooner). ``wait`` is 0 when allowed. ``at`` is the time (epoch seconds, by the
    store's clock unless the caller gave one) the use was judged at: an allowed use counts there."""

    allowed: bool
    wait: float = 0.0
    at: float = 0.0


@dataclass(frozen=True, slots=True)
class LimiterStats:
    """What a store knows of one limiter, for people (``sidequest limiters``, the dashboard).

    ``in_use``: holders now (concurrent), uses in the current interval (bucket) or in the last
    ``period`` (window), the bucket's level now (leaky, a float). ``allowed`` and ``refused`` count
    since the limiter was first used (``refused`` counts uses that gave up with
    :class:`~sidequest.errors.OverLimit`, not every poll while waiting). ``last_used`` is the epoch
    time of the latest use, allowed or not.
    """

    kind: LimiterKind
    name: str
    size: int
    period: float
    in_use: float
    allowed: int
    refused: int
    last_used: float | None


def check_name(name: object) -> str:
    """``name`` if it is a usable limiter name, else a :class:`ConfigurationError` saying why."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise ConfigurationError(
            f"limiter name {name!r} is not usable: give a non-empty string of at most 200 characters "
            f"without '|', spaces or control characters, such as 'email-service'"
        )
    return name


def check_size(name: str, size: object) -> int:
    """``size`` if it is a positive int, else a :class:`ConfigurationError` naming the limiter."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ConfigurationError(f"limiter {name!r}: n must be a positive integer, not {size!r}")
    return size


def period_seconds(name: str, period: object, what: str = "period") -> float:
    """A period as seconds: a positive finite number, or one of ``"second"``, ``"minute"``, ``"hour"``,
    ``"day"``; else a :class:`ConfigurationError` naming the limiter and what to give."""
    if isinstance(period, str) and period in PERIODS:
        return PERIODS[period]
    if (
        isinstance(period, (int, float))
        and not isinstance(period, bool)
        and math.isfinite(period)
        and period > 0
    ):
        return float(period)
    raise ConfigurationError(
        f"limiter {name!r}: {what} must be a positive number of seconds or one of "
        f"{', '.join(repr(word) for word in PERIODS)}, not {period!r}"
    )


def bucket_start(period: float, now: float) -> float:
    """The start of the interval of ``period`` seconds (aligned to the epoch) that ``now`` falls in."""
    return math.floor(now / period) * period


def bucket_step(limit: Limit, start: float, count: float, now: float) -> tuple[Verdict, float, float]:
    """One use of a bucket whose stored interval began at ``start`` with ``count`` uses: the verdict
    and the interval start and count to store."""
    current = bucket_start(limit.period, now)
    if start != current:
        count = 0.0
    if count < limit.size:
        return Verdict(True), current, count + 1
    return Verdict(False, max(current + limit.period - now, 0.0)), current, count


def leaky_level(limit: Limit, level: float, updated: float, now: float) -> float:
    """The level of a leaky bucket stored as ``level`` at ``updated``, drained until ``now``."""
    drained = max(now - updated, 0.0) * limit.size / limit.period
    return max(level - drained, 0.0)


def leaky_step(limit: Limit, level: float, updated: float, now: float) -> tuple[Verdict, float]:
    """One use of a leaky bucket stored as ``level`` at ``updated``: the verdict and the level to store
    as of ``now``."""
    current = leaky_level(limit, level, updated, now)
    if current + 1 <= limit.size + EPSILON:
        return Verdict(True), current + 1
    return Verdict(False, (current + 1 - limit.size) * limit.period / limit.size), current


def rule_text(kind: str, size: int, period: float) -> str:
    """A limiter's rule in words, for people: ``3 at once (lock 30s)``, ``10 per second``,
    ``100 in any 60s``, ``4 then 1 per 15s``."""
    words = {seconds: word for word, seconds in PERIODS.items()}
    if kind == "concurrent":
        return f"{size} at once (lock {period:g}s)"
    if kind == "bucket":
        return f"{size} per {words[period]}" if period in words else f"{size} per {period:g}s"
    if kind == "window":
        return f"{size} in any {period:g}s"
    return f"{size} then 1 per {period / size:.3g}s"
