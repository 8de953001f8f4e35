"""app/workers/batched_order_confirmation_worker.py: the recipe's Enqueue-then-Process pattern with a
batch: the enqueue job puts every order's job in one batch, and the shop hears once, when the last
order is confirmed (docs/batches.md shows this file)."""

from __future__ import annotations

from typing import Any

import sidequest
from recipe.app.email_service import deliver
from recipe.app.models import current_shop

BULK_SLICE = 1000


class BatchedOrderConfirmationWorker(sidequest.Worker):
    def perform(self, order_id: int | None = None) -> None:
        if order_id is None:
            self._enqueue_jobs()
        else:
            self._process_order(order_id)

    def _enqueue_jobs(self) -> None:
        order_ids = current_shop().confirmed_unnotified_ids()
        batch = sidequest.Batch(description=f"confirm {len(order_ids)} orders")
        batch.on("success", ConfirmationsDone, {"orders": len(order_ids)})
        batch.on("complete", ConfirmationsDone)
        with batch.jobs():
            for start in range(0, len(order_ids), BULK_SLICE):
                ids = order_ids[start : start + BULK_SLICE]
                type(self).perform_bulk([[order_id] for order_id in ids])

    def _process_order(self, order_id: int) -> None:
        shop = current_shop()
        order = shop.find_order(order_id)
        deliver("order_confirmation", order)
        shop.mark_notified(order.id)


class ConfirmationsDone(sidequest.BatchCallbacks):
    def on_success(self, status: sidequest.BatchStatus, options: dict[str, Any]) -> None:
        current_shop().record_delivery("all_confirmed", options["orders"])

    def on_complete(self, status: sidequest.BatchStatus, options: dict[str, Any]) -> None:
        if status.failures:  # some orders are waiting for their retries
            current_shop().record_delivery("some_failed", status.failures)
