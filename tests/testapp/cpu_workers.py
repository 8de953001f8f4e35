"""Workers the process-pool tests run in child processes.

Each records its runs in the file named by its first argument (not an environment variable: the
forkserver that forks the children keeps the environment of the moment it started), one line per run,
``<key> <pid> <cpu seconds> <start> <end>``, appended with O_APPEND so lines stay whole across children.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import time
from typing import ClassVar

import sidequest


def record(path: str, key: str, cpu: float = 0.0, start: float = 0.0) -> None:
    """Append one line for one run, from the child performing it."""
    line = f"{key} {os.getpid()} {cpu:.6f} {start:.6f} {time.monotonic():.6f}\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


class SpinWorker(sidequest.Worker):
    """Burns ``seconds`` of CPU in pure Python, then records how much CPU its run used."""

    def perform(self, path: str, key: str, seconds: float = 0.05) -> None:
        start, cpu_start = time.monotonic(), time.process_time()
        total = 0
        while time.process_time() - cpu_start < seconds:
            total += sum(range(1000))
        record(path, key, time.process_time() - cpu_start, start)


class SleepWorker(sidequest.Worker):
    """Records its start, sleeps ``seconds`` in C (``time.sleep``), records its end."""

    def perform(self, path: str, key: str, seconds: float) -> None:
        record(path, f"{key}-started")
        time.sleep(seconds)
        record(path, key)


class AsyncSleepWorker(sidequest.Worker):
    """The async twin of SleepWorker: run with ``asyncio.run`` in the child."""

    async def perform(self, path: str, key: str, seconds: float) -> None:
        await asyncio.sleep(seconds)
        record(path, key)


class CrashWorker(sidequest.Worker):
    """Ends its own process the way ``how`` says: a segfault or ``os._exit(3)``."""

    def perform(self, path: str, how: str) -> None:
        record(path, f"crash-{how}")
        if how == "segfault":
            ctypes.string_at(0)
        elif how == "exit":
            os._exit(3)


class RaiseWorker(sidequest.Worker):
    """Raises what it is told: ``value`` (ValueError), ``exit`` (SystemExit), ``interrupt``
    (KeyboardInterrupt), ``undecodable`` (a message that is not UTF-8), ``custom`` (a class of this
    module)."""

    def perform(self, path: str, what: str, message: str) -> None:
        record(path, f"raise-{what}")
        if what == "value":
            raise ValueError(message)
        if what == "exit":
            raise SystemExit(message)
        if what == "interrupt":
            raise KeyboardInterrupt(message)
        if what == "undecodable":  # bytes read with surrogateescape: not valid UTF-8 in a reply
            raise ValueError(message + b"\xff".decode("utf-8", "surrogateescape"))
        raise PaymentDeclinedError(message)


class PaymentDeclinedError(Exception):
    """An application's own exception class, to check its module-qualified name."""


class LeakWorker(sidequest.Worker):
    """Keeps ``megabytes`` of memory alive in its child after it returns, as a leaking job does."""

    hoard: ClassVar[list[bytes]] = []  # the leak is the point: it outlives the job, in this child only

    def perform(self, path: str, key: str, megabytes: int, seconds: float = 0.0) -> None:
        if seconds:
            record(path, f"{key}-started")
        type(self).hoard.append(b"\x01" * (megabytes * 1024 * 1024))  # written, so resident
        time.sleep(seconds)
        record(path, key)


class EnqueueWorker(sidequest.Worker):
    """Enqueues a SpinWorker job from inside a child: it must land in the pool's store."""

    def perform(self, path: str, key: str) -> None:
        SpinWorker.perform_async(path, key, 0.0)
        record(path, key)


class LogWorker(sidequest.Worker):
    """Logs a warning and an error with its traceback, as application code in a job does."""

    def perform(self, path: str, key: str) -> None:
        log = logging.getLogger("testapp.cpu_workers")
        log.info("not shown at WARNING (%s)", key)
        log.warning("hello from %s", key)
        try:
            raise LookupError(key)
        except LookupError:
            log.exception("handled %s", key)
        record(path, key)


class LeakThenRaiseWorker(sidequest.Worker):
    """Leaks like LeakWorker, then fails: a failed job's child is recycled too."""

    def perform(self, path: str, key: str, megabytes: int) -> None:
        LeakWorker.hoard.append(b"\x01" * (megabytes * 1024 * 1024))
        record(path, key)
        raise RuntimeError(f"leaked and failed ({key})")
