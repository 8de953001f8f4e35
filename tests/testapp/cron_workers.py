"""Periodic entries for the cron scenarios, loaded with ``sidequest run -r testapp.cron_workers``.

``record_ticks`` is a server middleware (``--middleware testapp.cron_workers:record_ticks``) that
appends ``<jid> <entry>@<tick> <orphan_count> <pid>`` to ``$SIDEQUEST_TEST_RECORD`` after each periodic
job performed, so a scenario can count how often each tick ran, across processes, and tell a job that a
rescue gave a second run (at least once) from a tick enqueued twice (never).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sidequest
from testapp.workers import record


class EverySecondWorker(sidequest.Worker):
    """Does nothing, once a second."""

    def perform(self) -> None:
        pass


class NightlyReportWorker(sidequest.Worker):
    """Enqueue-then-process: called with no arguments by cron, with an id for one report."""

    sidequest_options = {"queue": "reports", "retry": 5}

    def perform(self, report_id: int | None = None) -> None:
        pass


EVERY_SECOND = sidequest.periodic("* * * * * *", EverySecondWorker, name="every-second", queue="cron")
NIGHTLY = sidequest.periodic(
    "30 2 * * *", NightlyReportWorker, name="nightly-report", tz="Europe/Berlin", queue="low", retry=2
)


@contextmanager
def record_ticks(worker: sidequest.Worker, payload: dict[str, Any]) -> Iterator[None]:
    """Record each periodic job that performed successfully, with its tick and orphan count."""
    yield
    if "cron_at" in payload:
        record(
            payload.get("jid"),
            f"{payload['cron']}@{int(payload['cron_at'])} {payload.get('orphan_count', 0)} {os.getpid()}",
        )
