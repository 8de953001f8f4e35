"""app/workers/atomic/order_confirmation_worker.py: the recipe's last OrderConfirmationWorker.

Enqueue-then-process combined with sub-jobs: emailing the customer and marking the order as notified
are two jobs, each retried on its own, so a failure of one never undoes or repeats the other.
*Eventually* both succeed; until then the order may be notified but not marked, or the reverse. We
accept up to 6 hours of that, so enqueue mode only picks orders nobody touched for 6 hours.

Fixed from the recipe's Ruby: it passes the Order object to ``perform_async`` (job arguments are
ids: see test_atomicity.py), its ``enqueue_jobs`` enqueues ``:notify`` twice where ``:mark_notified``
is meant, and its ``process_*`` methods use an undefined ``o``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import sidequest
from recipe.app.email_service import deliver
from recipe.app.models import CONFIRMED, Order, current_shop

INCONSISTENCY_WINDOW = 6 * 60 * 60
"""Seconds we accept that exactly one sub-job has succeeded."""


class OrderConfirmationWorker(sidequest.Worker):
    def perform(self, order_id: int | None = None, activity: str | None = None) -> None:
        if order_id is None:
            self._enqueue_jobs()
            return
        order = current_shop().find_order(order_id)
        if activity:
            self._activity(activity)(order)
            return
        type(self).perform_async(order.id, "notify")
        type(self).perform_async(order.id, "mark_notified")

    def _activity(self, name: str) -> Callable[[Order], None]:
        # An explicit table, where the recipe calls send(:"process_#{activity}"): a job's arguments
        # come from outside and must never pick an arbitrary method.
        activities = {"notify": self._process_notify, "mark_notified": self._process_mark_notified}
        if name not in activities:
            raise ValueError(f"unknown activity {name!r}; expected one of {sorted(activities)}")
        return activities[name]

    def _enqueue_jobs(self) -> None:
        shop = current_shop()
        six_hours_ago = time.time() - INCONSISTENCY_WINDOW
        confirmed_not_notified_untouched_for_6_hours = (
            "status = ? AND notified_at IS NULL AND updated_at <= ?"
        )
        for batch in shop.find_in_batches(
            "orders", confirmed_not_notified_untouched_for_6_hours, (CONFIRMED, six_hours_ago)
        ):
            for order in batch:
                type(self).perform_async(order["id"], "notify")
                type(self).perform_async(order["id"], "mark_notified")

    def _process_notify(self, order: Order) -> None:
        deliver("order_confirmation", order)

    def _process_mark_notified(self, order: Order) -> None:
        current_shop().mark_notified(order.id)
