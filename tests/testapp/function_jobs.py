"""Plain functions made jobs with ``@sidequest.job``, run by the end-to-end tests in real processes.

Each records its runs in the ``SIDEQUEST_TEST_RECORD`` file (see :func:`testapp.workers.record`).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import sidequest
from testapp.workers import record


@sidequest.job(queue="mailers", retry=3)
def deliver(key: str, copies: int = 1) -> None:
    """Succeeds: records ``KEYxCOPIES``."""
    record(None, f"{key}x{copies}")


@sidequest.job
async def refresh(key: str) -> None:
    """An ``async def`` job: runs on the process's event loop."""
    await asyncio.sleep(0.01)
    record(None, f"async-{key}")


@sidequest.job(retry=2)
def flaky(key: str) -> None:
    """Fails on its first attempt, succeeds on the retry."""
    path = Path(os.environ.get("SIDEQUEST_TEST_RECORD", "/nonexistent"))
    earlier = path.read_text().count(f" attempt-{key}\n") if path.exists() else 0
    record(None, f"attempt-{key}")
    if not earlier:
        raise RuntimeError(f"first attempt of {key} fails")
    record(None, key)


@sidequest.job(retry=0)
def doomed(key: str) -> None:
    """Always fails; ``retry=0`` sends it straight to the dead set."""
    raise ValueError(f"{key} never works")


@sidequest.job(isolation="process", time_limit=30)
def in_child(key: str) -> None:
    """Runs in a child process of the pool: records its pid beside the key."""
    record(None, f"child-{key}-{os.getpid()}")
