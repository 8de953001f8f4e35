"""Workers for the rate-limit scenarios (loaded with an extra ``-r testapp.rate_workers``). Each records
its runs through :func:`testapp.workers.record`, from inside its limited block, with the times a test
needs to count how many were inside at once or how many started in one second.

The limiters are module constants, as an application defines them: no store is named, so each one
uses the store of the process running the job.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import sidequest
from sidequest import limiter
from testapp.workers import record

THREE_AT_ONCE = limiter.concurrent("e2e-three", 3, wait_timeout=120, lock_timeout=30)
TEN_PER_SECOND = limiter.bucket("e2e-ten", 10, "second", wait_timeout=120)
ALWAYS_FULL = limiter.concurrent("e2e-full", 1, wait_timeout=0, lock_timeout=300, backoff=0.05)
FULL_FOR_AN_HOUR = limiter.concurrent("e2e-full", 1, wait_timeout=0, lock_timeout=300, backoff=3600)
SHORT_LOCK = limiter.concurrent("e2e-short", 1, wait_timeout=20, lock_timeout=3)
ASYNC_TWO = limiter.concurrent("e2e-async", 2, wait_timeout=120, lock_timeout=30)


def span(jid: str | None, at: float, entered: float, seconds: float) -> None:
    """Record ``<jid> <store time>,<entered>,<left>`` after ``seconds`` inside the block."""
    time.sleep(seconds)
    record(jid, f"{at!r},{entered!r},{time.time()!r}")


class ThreeAtOnceWorker(sidequest.Worker):
    """Inside ``e2e-three`` (3 at once) for ``seconds``."""

    def perform(self, seconds: float) -> None:
        with THREE_AT_ONCE.within_limit() as use:
            span(self.jid, use.at, time.time(), seconds)


class TenPerSecondWorker(sidequest.Worker):
    """One use of ``e2e-ten`` (10 per wall-clock second)."""

    def perform(self) -> None:
        with TEN_PER_SECOND.within_limit() as use:
            span(self.jid, use.at, time.time(), 0)


class AlwaysFullWorker(sidequest.Worker):
    """Tries ``e2e-full`` without waiting; the test holds its one slot, so the job is over the limit
    until the test lets go. ``retry: 0``: once its 20 reschedules are spent, the OverLimit kills it."""

    sidequest_options = {"retry": 0}

    def perform(self, key: str) -> None:
        record(self.jid, f"try:{key}")
        with ALWAYS_FULL.within_limit():
            record(self.jid, f"done:{key}")

    def retries_exhausted(self, payload: dict[str, object], exc: BaseException) -> None:
        record(self.jid, f"exhausted:{payload.get('overrated')}")


class OverForAnHourWorker(sidequest.Worker):
    """Tries ``e2e-full`` like :class:`AlwaysFullWorker`, but waits an hour after a refusal: the job stays
    in the retry set for the length of a test."""

    def perform(self, key: str) -> None:
        record(self.jid, f"try:{key}")
        with FULL_FOR_AN_HOUR.within_limit():
            record(self.jid, f"done:{key}")


class IsolatedFullWorker(sidequest.Worker):
    """:class:`OverForAnHourWorker` in a child process (``isolation="process"``): the child finds the
    process's store itself, and its OverLimit reaches the parent as a RemoteJobError."""

    sidequest_options = {"isolation": "process"}

    def perform(self, key: str) -> None:
        record(self.jid, f"try:{key}")
        with FULL_FOR_AN_HOUR.within_limit():
            record(self.jid, f"done:{key}")


class ShortLockWorker(sidequest.Worker):
    """Holds ``e2e-short`` (lock_timeout 3 s) for ``seconds``, the first time only: a flag file in the
    working directory tells a second run (after a rescue) to finish at once."""

    def perform(self, key: str, seconds: float) -> None:
        flag = Path(f"{key}.ran")
        if flag.exists():
            record(self.jid, f"again:{key}")
            return
        flag.write_text(str(os.getpid()))
        with SHORT_LOCK.within_limit() as use:
            record(self.jid, f"held:{key}:{use.at!r}")
            time.sleep(seconds)


class AsyncTwoWorker(sidequest.Worker):
    """``async with`` inside ``e2e-async`` (2 at once) for ``seconds``."""

    async def perform(self, seconds: float) -> None:
        async with ASYNC_TWO.within_limit() as use:
            entered = time.time()
            await asyncio.sleep(seconds)
            record(self.jid, f"{use.at!r},{entered!r},{time.time()!r}")
