"""Workers for the time-limit, process-isolation and recycling scenarios (loaded with an extra
``-r testapp.limit_workers``). Each records its runs through :func:`testapp.workers.record`; the
interval workers also record when they started and ended, so a test can count how many ran at once."""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import time
from typing import Any

import sidequest
from testapp.workers import record

LATER = 3600.0
"""A retry delay that keeps a failed job in the retry set for the length of a test."""


class SpinWorker(sidequest.Worker):
    """Pure Python for ``seconds``: an interrupt reaches it at once."""

    sidequest_options = {"time_limit": 2, "retry": 3}

    def perform(self, key: str, seconds: float) -> None:
        record(self.jid, f"{key}:start")
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            pass
        record(self.jid, f"{key}:end")

    def retry_in(self, count: int, exc: BaseException) -> float:
        return LATER


class BlockedWorker(sidequest.Worker):
    """Blocked in C code (``time.sleep``) for ``seconds``: no interrupt reaches it."""

    sidequest_options = {"time_limit": 2, "retry": 3}

    def perform(self, key: str, seconds: float) -> None:
        record(self.jid, f"{key}:start")
        time.sleep(seconds)
        record(self.jid, f"{key}:end")

    def retry_in(self, count: int, exc: BaseException) -> float:
        return LATER


class AsyncWaitWorker(sidequest.Worker):
    """Awaits for ``seconds``."""

    sidequest_options = {"time_limit": 2, "retry": 3}

    async def perform(self, key: str, seconds: float) -> None:
        record(self.jid, f"{key}:start")
        await asyncio.sleep(seconds)
        record(self.jid, f"{key}:end")

    def retry_in(self, count: int, exc: BaseException) -> float:
        return LATER


class IntervalWorker(sidequest.Worker):
    """Sleeps ``seconds`` and records when it started and ended (no time limit)."""

    def perform(self, n: int, seconds: float) -> None:
        started = time.time()
        time.sleep(seconds)
        record(self.jid, f"interval {n} {started} {time.time()}")


class ChildWorker(sidequest.Worker):
    """Runs in the process pool: ``burn`` (pure Python for ``seconds``, recording its pid), ``sleep``,
    ``segfault``, ``kill9`` or ``ok``."""

    sidequest_options = {"isolation": "process", "time_limit": 2, "retry": 3}

    def perform(self, action: str, key: Any = None, seconds: float = 0.0) -> None:
        if action == "burn":
            end = time.process_time() + seconds
            while time.process_time() < end:
                pass
            record(self.jid, f"{key} pid={os.getpid()}")
            return
        if action == "sleep":
            time.sleep(seconds)
        elif action == "segfault":
            ctypes.string_at(0)
        elif action == "kill9":
            os.kill(os.getpid(), signal.SIGKILL)
        record(self.jid, key)

    def retry_in(self, count: int, exc: BaseException) -> float:
        return LATER


LEAK: list[bytes] = []
"""What LeakWorker keeps: it grows the process's memory by 10 MB a job, for ``--max-memory``."""


class LeakWorker(sidequest.Worker):
    def perform(self, n: int) -> None:
        LEAK.append(os.urandom(10 * 1024 * 1024))
        record(self.jid, n)
