"""app/workers/order_confirmation_worker.py: the Enqueue-then-Process pattern with bulk queueing.

Called with no arguments (as the periodic scheduler calls it) the job is in *enqueue* mode: it queues
one job per order to confirm. Called with an order id it is in *process* mode: it emails that order.
"""

from __future__ import annotations

import sidequest
from recipe.app.email_service import deliver
from recipe.app.models import current_shop

BULK_SLICE = 1000
"""Limiting bulk queueing to 1000 jobs at a time."""


class OrderConfirmationWorker(sidequest.Worker):
    # The recipe names this method ``process``; sidequest (like Sidekiq) only ever calls ``perform``.
    def perform(self, order_id: int | None = None) -> None:
        if order_id is None:
            self._enqueue_jobs()
        else:
            self._process_order(order_id)

    def _enqueue_jobs(self) -> None:
        order_ids = current_shop().confirmed_unnotified_ids()
        for start in range(0, len(order_ids), BULK_SLICE):
            ids = order_ids[start : start + BULK_SLICE]
            sidequest.Client.push_bulk({"class": type(self), "args": [[order_id] for order_id in ids]})

    def _process_order(self, order_id: int) -> None:
        shop = current_shop()
        order = shop.find_order(order_id)
        deliver("order_confirmation", order)
        shop.mark_notified(order.id)


class OneByOneOrderConfirmationWorker(OrderConfirmationWorker):
    """The recipe's first ``enqueue_jobs``: one ``perform_async`` (one store write) per order."""

    def _enqueue_jobs(self) -> None:
        for order_id in current_shop().confirmed_unnotified_ids():
            type(self).perform_async(order_id)
