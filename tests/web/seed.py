"""Jobs in every set for the dashboard tests, made through the store's own calls as a process makes
them (``cli.states``), plus a periodic entry for the Cron page."""

from __future__ import annotations

from dataclasses import dataclass, field

import sidequest
from cli.states import enqueue, failed, schedule
from sidequest.stores.base import Store

ACTION = "testapp.workers.ActionWorker"
"""The test worker a running ``sidequest run -r testapp.workers`` performs."""
BILLING = "app.workers.BillingWorker"
"""A class no test process knows: its jobs are only looked at, never run."""

SCRIPT_ARGS = ["<script>alert('args')</script>"]
IMG_ARGS = [{"note": "<img src=x onerror=alert('img')>"}]
SCRIPT_ERROR = "<script>alert('error')</script>"


class NightlyReportWorker(sidequest.Worker):
    """A periodic job's worker; its queue (``reports``) is one no test process fetches."""

    sidequest_options = {"queue": "reports"}

    def perform(self) -> None:
        """Nothing to report in a test."""


NIGHTLY = sidequest.periodic("30 3 * * *", NightlyReportWorker, name="web-nightly-report", tz="Europe/Berlin")


@dataclass
class Seeded:
    """The jids seeded, by role."""

    dead: list[str] = field(default_factory=list)
    dead_billing: list[str] = field(default_factory=list)
    retry: list[str] = field(default_factory=list)
    scheduled: list[str] = field(default_factory=list)
    mail: list[str] = field(default_factory=list)
    hostile: list[str] = field(default_factory=list)


def seed(store: Store) -> Seeded:
    """Two dead ActionWorker jobs that succeed when retried, a dead BillingWorker, three retries, two
    scheduled jobs, three jobs in the ``mail`` queue, and jobs whose args and errors hold HTML."""
    seeded = Seeded()
    # failed() claims from the front of the queue it uses, so the failed jobs go first.
    seeded.dead = [failed(store, "dead", ACTION, ["ok", f"dead-{n}"], error="told to fail") for n in range(2)]
    seeded.dead_billing = [failed(store, "dead", BILLING, [42], error="card declined")]
    seeded.retry = [failed(store, "retry", ACTION, ["ok", f"retry-{n}"]) for n in range(3)]
    seeded.hostile = [
        failed(store, "dead", BILLING, SCRIPT_ARGS, queue="hostile", error=SCRIPT_ERROR),
        failed(store, "retry", BILLING, IMG_ARGS, queue="hostile"),
    ]
    seeded.scheduled = [schedule(store, 3600 * (n + 1), ACTION, ["ok", f"scheduled-{n}"]) for n in range(2)]
    seeded.mail = [enqueue(store, BILLING, [n], queue="mail") for n in range(3)]
    return seeded
