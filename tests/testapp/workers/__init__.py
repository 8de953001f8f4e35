"""Workers the end-to-end tests run in real ``sidequest run`` processes.

:class:`ActionWorker` can be told to succeed, fail, sleep, hang or crash its process (Oban's ``action``
pattern), and records every run in the file named by ``SIDEQUEST_TEST_RECORD``: one line per run,
``<jid> <key>``, appended atomically, so a test counts how often each job ran across processes.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import time
from typing import Any

import sidequest


def record(jid: str | None, key: Any) -> None:
    """Append one line for one run of a job (O_APPEND keeps lines whole across processes)."""
    path = os.environ.get("SIDEQUEST_TEST_RECORD")
    if not path:
        return
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{jid} {key}\n".encode())
    finally:
        os.close(fd)


class ActionWorker(sidequest.Worker):
    """Does what its first argument says: ok, fail, sleep, crash, gc (records the collector's first
    threshold)."""

    sidequest_options = {"retry": 2}

    def perform(self, action: str, key: Any = None, seconds: float = 0.0) -> None:
        if action == "sleep":
            time.sleep(seconds)
        elif action == "block" and os.environ.get("SIDEQUEST_TEST_BLOCK"):
            time.sleep(seconds)  # only in processes started to hold jobs; elsewhere it finishes at once
            return
        elif action == "fail":
            record(self.jid, key)
            raise RuntimeError(f"told to fail ({key})")
        elif action == "crash":
            os.kill(os.getpid(), signal.SIGKILL)
        elif action == "gc":
            key = f"{key}-gc-{gc.get_threshold()[0]}"
        record(self.jid, key)

    def retry_in(self, count: int, exc: BaseException) -> float | None:
        return float(os.environ.get("SIDEQUEST_TEST_RETRY_IN", "0")) or None


class AsyncActionWorker(sidequest.Worker):
    """The async twin of ActionWorker."""

    async def perform(self, action: str, key: Any = None, seconds: float = 0.0) -> None:
        if action == "sleep":
            await asyncio.sleep(seconds)
        elif action == "fail":
            raise RuntimeError(f"told to fail ({key})")
        record(self.jid, key)


class NoopWorker(sidequest.Worker):
    """Does nothing: for throughput scenarios."""

    def perform(self, n: int) -> None:
        record(self.jid, n)
