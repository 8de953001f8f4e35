"""The recipe's ``OrderConfirmationWorker``, in its final form: enqueue-then-process with sub-jobs.

* ``perform()`` - **enqueue mode** (what a periodic job or the demo calls): find confirmed orders that
  were never notified and were last updated more than six hours ago, and enqueue one job per order id,
  1,000 per store write.
* ``perform(order_id)`` - **process mode**: split the work into two sub-jobs, ``notify`` and
  ``mark_notified``, pushed together in one write.
* ``perform(order_id, "notify")`` sends the confirmation email; ``perform(order_id, "mark_notified")``
  records that it was sent. Each can fail and be retried without the other; eventually both succeed.

Every step is idempotent, because any job may run more than once (a retry after a timeout, a rescue
after a crash): the email service sends each (template, order) once, and ``mark_notified`` only sets
``notified_at`` when it is still empty.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import sidequest
from app import db, email_service
from app.email_service import EmailServiceError
from sidequest.retry import RetryHookResult

BULK_SIZE = 1000
"""Jobs per store write in enqueue mode (the recipe's ``each_slice(1000)``)."""

EMAIL_RETRY_SECONDS = 1
"""Wait before retrying a failed email. Sidekiq's default backoff waits ``count**4 + 15`` seconds plus
jitter (15 to 24 s for the first retry): right for a real provider's outage, far too slow for a demo
that should finish in seconds. sidequest, like Sidekiq, still adds ``rand(10) * (count + 1)`` seconds of
jitter, so the first retry comes 1 to 10 s after the failure."""


class UnknownActivity(ValueError):
    """A sub-job named an activity this worker does not have: a bug that no retry will fix."""


class OrderConfirmationWorker(sidequest.Worker):
    """Sends each confirmed order its confirmation email, once."""

    sidequest_options = {"queue": "default", "retry": 5}

    def perform(self, order_id: int | None = None, activity: str | None = None) -> None:
        if order_id is None:
            self.enqueue_jobs()
            return
        if activity is None:
            # Both sub-jobs in one write: they are enqueued together or not at all.
            type(self).perform_bulk([[order_id, "notify"], [order_id, "mark_notified"]])
            return
        handler = self.activities().get(activity)
        if handler is None:
            known = ", ".join(sorted(self.activities()))
            raise UnknownActivity(f"order {order_id}: unknown activity {activity!r} (known: {known})")
        handler(db.find(order_id))

    def activities(self) -> dict[str, Callable[[db.Order], None]]:
        """The sub-jobs, by name. An explicit table: a payload can only ever call these methods."""
        return {"notify": self.process_notify, "mark_notified": self.process_mark_notified}

    def enqueue_jobs(self) -> None:
        settled_before = time.time() - db.SETTLE_WINDOW
        for ids in db.ids_to_notify(settled_before, batch_size=BULK_SIZE):
            sidequest.Client.push_bulk({"class": type(self), "args": [[order_id] for order_id in ids]})

    def process_notify(self, order: db.Order) -> None:
        email_service.deliver("order_confirmation", order)

    def process_mark_notified(self, order: db.Order) -> None:
        db.mark_notified(order.id)

    def retry_in(self, count: int, exc: BaseException) -> RetryHookResult:
        """Short retries for the flaky email service; straight to the dead set for a bug; Sidekiq's
        default backoff for anything else."""
        if isinstance(exc, UnknownActivity):
            return "kill"
        if isinstance(exc, EmailServiceError):
            return EMAIL_RETRY_SECONDS
        return None
