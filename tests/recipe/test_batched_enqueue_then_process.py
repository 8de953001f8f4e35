"""The recipe's "Enqueue-then-Process Pattern" with a batch (docs/batches.md): the shop hears once,
after the last order is confirmed, on a real store and in fake mode."""

from __future__ import annotations

from collections.abc import Callable

from recipe.app.models import Shop
from recipe.app.workers.batched_order_confirmation_worker import (
    BatchedOrderConfirmationWorker,
    ConfirmationsDone,
)
from sidequest.stores.base import Store
from sidequest.testing import FakeClient


def test_the_shop_hears_once_after_the_last_of_1500_orders_is_confirmed(
    job_store: Store, work_off: Callable[..., None], shop: Shop
) -> None:
    order_ids = shop.add_orders(1500)

    BatchedOrderConfirmationWorker.perform_async()
    work_off(BatchedOrderConfirmationWorker, ConfirmationsDone)

    deliveries = shop.deliveries()
    assert deliveries[-1] == ("all_confirmed", 1500)
    assert [kind for kind, _ in deliveries].count("all_confirmed") == 1
    assert sorted(order_id for kind, order_id in deliveries if kind == "order_confirmation") == order_ids
    [info] = job_store.list_batches(0, 10, 0.0)
    assert info.description == "confirm 1500 orders" and info.total == 1500 and info.pending == 0


def test_a_failing_order_reports_on_complete_and_success_waits_for_its_retry(
    job_store: Store, work_off: Callable[..., None], shop: Shop
) -> None:
    shop.add_orders(20)
    unlucky = shop.add_order(email="bounce@example.com")
    shop.start_outage("bounce@example.com")

    BatchedOrderConfirmationWorker.perform_async()
    work_off(BatchedOrderConfirmationWorker, ConfirmationsDone)
    assert ("some_failed", 1) in shop.deliveries()
    assert not any(kind == "all_confirmed" for kind, _ in shop.deliveries())

    shop.end_outage()
    job_store.retry_now(job_store.list_set("retry"))
    work_off(BatchedOrderConfirmationWorker, ConfirmationsDone)
    assert shop.deliveries()[-1] == ("all_confirmed", 21)
    assert ("order_confirmation", unlucky.id) in shop.deliveries()


def test_in_fake_mode_the_callback_waits_in_the_queue_until_the_orders_are_drained(
    sidequest_fake: FakeClient, shop: Shop
) -> None:
    shop.add_orders(5)
    BatchedOrderConfirmationWorker.perform_async()
    sidequest_fake.perform_one()
    assert len(sidequest_fake.for_worker(BatchedOrderConfirmationWorker)) == 5
    assert sidequest_fake.for_worker(ConfirmationsDone) == []
    sidequest_fake.drain()
    assert shop.deliveries()[-1] == ("all_confirmed", 5)
