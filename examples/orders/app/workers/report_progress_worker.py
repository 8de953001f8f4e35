"""A job the demo schedules with ``perform_in``: a few seconds later, record how far notifying got."""

from __future__ import annotations

import time

import sidequest
from app import db


class ReportProgressWorker(sidequest.Worker):
    """Writes one progress report: confirmed orders and how many of them are notified.

    It runs on the ``critical`` queue: a scheduled job joins the back of its queue when it is due, and the
    default queue may hold thousands of jobs by then. ``sidequest run -q critical,2 -q default`` looks at
    ``critical`` first two times in three.
    """

    sidequest_options = {"queue": "critical"}

    def perform(self, scheduled_for: float) -> None:
        # Keyed by jid, so a second run of the same job writes nothing new.
        db.save_report(self.jid or "direct-call", scheduled_for, time.time())
