"""Rate limiters shared by every process on a store: Sidekiq Enterprise's ``Sidekiq::Limiter``.

Define them at module level, like Sidekiq's constants; a definition does no I/O. The store is found
when the limiter is used: the one given (``store=`` or ``client=``), else the default client's
(:mod:`sidequest.defaults`: inside a job, the store of the process running it)::

    import sidequest
    from sidequest import limiter

    EMAIL_SERVICE = limiter.concurrent("email-service", 3, wait_timeout=5, lock_timeout=30)

    class ConfirmationWorker(sidequest.Worker):
        def perform(self, order_id: int) -> None:
            with EMAIL_SERVICE.within_limit():
                send_confirmation(order_id)

``within_limit`` waits up to ``wait_timeout`` seconds for the limit to allow the use, then raises
:class:`sidequest.OverLimit`. Raised out of ``perform``, that reschedules the job with the limiter's
backoff instead of failing it (up to 20 times, counted in the payload's ``overrated``). In the testing
modes (``sidequest.testing.fake()`` / ``inline()``), whose clients have no store, a limiter never
limits.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import random
import secrets
import time
from collections.abc import Callable
from types import TracebackType

from sidequest.client import Client
from sidequest.defaults import DEFAULT
from sidequest.errors import ConfigurationError, OverLimit, StoreError
from sidequest.limits import (
    Limit,
    LimiterKind,
    Verdict,
    check_name,
    check_size,
    period_seconds,
)
from sidequest.stores.base import Store

log = logging.getLogger("sidequest")

MAX_OVERRATED = 20
"""How many times an :class:`OverLimit` job is rescheduled before it goes through the retry policy."""

DEFAULT_BACKOFF = 5.0
"""The default reschedule step: an over-limit job waits ``step * overrated`` seconds plus up to one
``step`` of jitter (5 to 10 s the first time, 100 to 105 s the 20th)."""

POLL_MIN, POLL_MAX = 0.02, 0.1
"""How long a waiting concurrent use sleeps between tries (a release is not announced)."""

Backoff = float | Callable[[int], float]


class Limiter:
    """One named limit. Made by :func:`concurrent`, :func:`bucket`, :func:`window` or :func:`leaky`;
    holds no connection and no state of its own, so one instance serves every thread."""

    def __init__(
        self,
        kind: LimiterKind,
        name: str,
        size: int,
        period: float,
        *,
        wait_timeout: float = 5.0,
        backoff: Backoff = DEFAULT_BACKOFF,
        store: Store | None = None,
        client: Client | None = None,
    ) -> None:
        name = check_name(name)
        self.limit = Limit(kind, name, check_size(name, size), period)
        self.wait_timeout = _wait_timeout(name, wait_timeout)
        if not callable(backoff):
            backoff = _step(name, backoff)
        self.backoff: Backoff = backoff
        if store is not None and client is not None:
            raise ConfigurationError(f"limiter {name!r}: give store= or client=, not both")
        self._store = store
        self._client = client

    @property
    def name(self) -> str:
        """The limiter's name."""
        return self.limit.name

    @property
    def kind(self) -> LimiterKind:
        """``concurrent``, ``bucket``, ``window`` or ``leaky``."""
        return self.limit.kind

    def __repr__(self) -> str:
        return f"<Limiter {self.kind} {self.name!r} n={self.limit.size} period={self.limit.period:g}>"

    def within_limit(self) -> LimitedBlock:
        """A block run only within the limit: ``with limiter.within_limit(): ...`` (or ``async with``).

        Entering waits up to ``wait_timeout`` seconds for the limit to allow one more use, then
        raises :class:`OverLimit`; ``with ... as use`` gives the store's :class:`Verdict` (``use.at``
        is the store's time of the use). A concurrent limiter's slot is held until the block ends (or, if
        the process dies, until ``lock_timeout`` passes).
        """
        return LimitedBlock(self)

    def store(self) -> Store | None:
        """The store this limiter uses now; None when the current client has none (a testing mode)."""
        if self._store is not None:
            return self._store
        client = self._client if self._client is not None else DEFAULT.get()
        try:
            return client.store
        except ConfigurationError:  # sidequest.testing's fake and inline clients keep no store
            return None

    def reschedule_in(self, overrated: int, rng: random.Random | None = None) -> float:
        """Seconds an over-limit job waits before it runs again, the ``overrated``-th time (1 to 20)."""
        rng = rng or random.Random()
        if callable(self.backoff):
            delay = float(self.backoff(overrated))
            if not math.isfinite(delay) or delay < 0:
                raise ValueError(f"limiter {self.name!r}: backoff returned {delay!r}, not seconds")
            return delay
        return self.backoff * overrated + rng.uniform(0, self.backoff)

    # ----------------------------------------------------------------------------------------------

    def _refused(self, verdict: Verdict) -> OverLimit:
        what = {
            "concurrent": f"{self.limit.size} holders at once",
            "bucket": f"{self.limit.size} uses per {self.limit.period:g} s interval",
            "window": f"{self.limit.size} uses in any {self.limit.period:g} s",
            "leaky": f"{self.limit.size} uses per {self.limit.period:g} s (leaky bucket)",
        }[self.kind]
        return OverLimit(
            f"{self.kind} limiter {self.name!r} is over its limit of {what} after waiting "
            f"{self.wait_timeout:g} s (next chance in about {verdict.wait:.2f} s)",
            self,
            self.name,
            self.kind,
        )

    def _hopeless(self, verdict: Verdict, remaining: float) -> bool:
        """True when a bucket, window or leaky limit cannot allow a use before the wait runs out (a
        concurrent slot may be released any moment)."""
        return self.kind != "concurrent" and verdict.wait > remaining

    def _pause(self, verdict: Verdict, remaining: float, rng: random.Random) -> float:
        if self.kind == "concurrent":
            pause = rng.uniform(POLL_MIN, POLL_MAX)
        else:
            pause = verdict.wait + rng.uniform(0, POLL_MIN)
        return min(pause, remaining)

    def _token(self) -> str:
        return f"{os.getpid()}-{secrets.token_hex(8)}"


class LimitedBlock:
    """What :meth:`Limiter.within_limit` returns: a context manager, sync and async."""

    def __init__(self, limiter: Limiter) -> None:
        self._limiter = limiter
        self._store: Store | None = None
        self._token = ""
        self._rng = random.Random()

    # sync

    def __enter__(self) -> Verdict:
        limiter = self._limiter
        store = self._store = limiter.store()
        if store is None:
            return Verdict(True, 0.0, time.time())
        self._token = token = limiter._token()
        deadline = time.monotonic() + limiter.wait_timeout
        while True:
            remaining = deadline - time.monotonic()
            final = remaining <= 0
            verdict = store.limiter_acquire(limiter.limit, token, final=final)
            if verdict.allowed:
                return verdict
            if final:
                raise limiter._refused(verdict)
            if limiter._hopeless(verdict, remaining):
                deadline = time.monotonic()  # the last try now, rather than a useless sleep
                continue
            time.sleep(limiter._pause(verdict, remaining, self._rng))

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._store is not None and self._limiter.kind == "concurrent":
            self._release(self._store)

    # async

    async def __aenter__(self) -> Verdict:
        limiter = self._limiter
        store = self._store = limiter.store()
        if store is None:
            return Verdict(True, 0.0, time.time())
        self._token = token = limiter._token()
        deadline = time.monotonic() + limiter.wait_timeout
        while True:
            remaining = deadline - time.monotonic()
            final = remaining <= 0
            verdict = await asyncio.to_thread(store.limiter_acquire, limiter.limit, token, final=final)
            if verdict.allowed:
                return verdict
            if final:
                raise limiter._refused(verdict)
            if limiter._hopeless(verdict, remaining):
                deadline = time.monotonic()  # the last try now, rather than a useless sleep
                continue
            await asyncio.sleep(limiter._pause(verdict, remaining, self._rng))

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._store is not None and self._limiter.kind == "concurrent":
            await asyncio.to_thread(self._release, self._store)

    def _release(self, store: Store) -> None:
        try:
            store.limiter_release(self._limiter.limit, self._token)
        except StoreError as exc:  # the slot frees itself at lock_timeout; the block's result stands
            log.warning(
                "could not release concurrent limiter %r (%s); its slot frees itself after %g s",
                self._limiter.name,
                exc,
                self._limiter.limit.period,
            )


def concurrent(
    name: str,
    n: int,
    wait_timeout: float = 5.0,
    lock_timeout: float = 30.0,
    *,
    backoff: Backoff = DEFAULT_BACKOFF,
    store: Store | None = None,
    client: Client | None = None,
) -> Limiter:
    """At most ``n`` blocks at once, across every process on the store. A slot held by a process that
    died frees itself ``lock_timeout`` seconds after it was taken (so make it longer than the block)."""
    return _made("concurrent", name, n, lock_timeout, "lock_timeout", wait_timeout, backoff, store, client)


def bucket(
    name: str,
    n: int,
    interval: float | str,
    wait_timeout: float = 5.0,
    *,
    backoff: Backoff = DEFAULT_BACKOFF,
    store: Store | None = None,
    client: Client | None = None,
) -> Limiter:
    """At most ``n`` uses per ``interval`` (``"second"``, ``"minute"``, ``"hour"``, ``"day"`` or seconds),
    each interval starting on the clock (a new second, minute, hour or UTC day)."""
    return _made("bucket", name, n, interval, "interval", wait_timeout, backoff, store, client)


def window(
    name: str,
    n: int,
    period: float | str,
    wait_timeout: float = 5.0,
    *,
    backoff: Backoff = DEFAULT_BACKOFF,
    store: Store | None = None,
    client: Client | None = None,
) -> Limiter:
    """At most ``n`` uses in any sliding ``period`` (seconds, or ``"second"``... ``"day"``)."""
    return _made("window", name, n, period, "period", wait_timeout, backoff, store, client)


def leaky(
    name: str,
    n: int,
    period: float | str,
    wait_timeout: float = 5.0,
    *,
    backoff: Backoff = DEFAULT_BACKOFF,
    store: Store | None = None,
    client: Client | None = None,
) -> Limiter:
    """A leaky bucket: a burst of up to ``n`` uses, then one use per ``period / n`` seconds."""
    return _made("leaky", name, n, period, "period", wait_timeout, backoff, store, client)


def _made(
    kind: LimiterKind,
    name: str,
    n: int,
    period: float | str,
    what: str = "period",
    wait_timeout: float = 5.0,
    backoff: Backoff = DEFAULT_BACKOFF,
    store: Store | None = None,
    client: Client | None = None,
) -> Limiter:
    """The limiter the four factories define: its name and period checked, the rest by :class:`Limiter`."""
    name = check_name(name)
    return Limiter(
        kind,
        name,
        n,
        period_seconds(name, period, what),
        wait_timeout=wait_timeout,
        backoff=backoff,
        store=store,
        client=client,
    )


def _wait_timeout(name: str, value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise ConfigurationError(
            f"limiter {name!r}: wait_timeout must be a number of seconds >= 0, not {value!r}"
        )
    return float(value)


def _step(name: str, value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise ConfigurationError(
            f"limiter {name!r}: backoff must be seconds >= 0 or a function of the overrated count, "
            f"not {value!r}"
        )
    return float(value)
