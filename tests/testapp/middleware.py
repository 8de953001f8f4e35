"""Middleware the end-to-end tests load with ``sidequest run --middleware``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from testapp.workers import record


@contextmanager
def audit(worker: Any, job: dict[str, Any]) -> Iterator[None]:
    """Record every job that passes, marked ``mw-<key>``."""
    yield
    record(job.get("jid"), f"mw-{job['args'][1]}")
