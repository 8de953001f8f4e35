"""The recipe's "Periodic jobs" and "Enqueue-then-Process Pattern" (with bulk queueing), as scenarios."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

import sidequest
from recipe.app.models import PENDING, Shop
from recipe.app.workers import MyWorker, OneByOneOrderConfirmationWorker, OrderConfirmationWorker
from sidequest.defaults import DEFAULT
from sidequest.job import NewJob
from sidequest.stores.base import Store
from sidequest.testing import FakeClient, InlineClient


class WriteCountingClient(FakeClient):
    """A fake client that also records how many jobs each store write carried (round trips)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[int] = []

    def write(self, jobs: Sequence[NewJob]) -> None:
        self.writes.append(len(jobs))
        super().write(jobs)


def test_the_periodic_call_without_arguments_is_enqueue_mode(sidequest_fake: FakeClient, shop: Shop) -> None:
    first, second, third = shop.add_orders(3)
    shop.add_order(status=PENDING)
    notified = shop.add_order()
    shop.mark_notified(notified.id)

    # What the periodic scheduler does: perform_async with no parameters.
    OrderConfirmationWorker.perform_async()
    enqueue_job = sidequest_fake.perform_one()

    assert enqueue_job.args == []
    assert [job.args for job in sidequest_fake.for_worker(OrderConfirmationWorker)] == [
        [first],
        [second],
        [third],
    ]
    assert shop.deliveries() == []


def test_process_mode_emails_the_customer_then_marks_the_order(
    sidequest_inline: InlineClient, shop: Shop
) -> None:
    order = shop.add_order()

    OrderConfirmationWorker.perform_async(order.id)

    assert shop.deliveries() == [("order_confirmation", order.id)]
    assert shop.notified_ids() == [order.id]


def test_enqueue_then_process_confirms_every_order_once(sidequest_fake: FakeClient, shop: Shop) -> None:
    order_ids = shop.add_orders(25)

    OrderConfirmationWorker.perform_async()
    assert sidequest_fake.drain() == 1 + 25

    assert sorted(order_id for _, order_id in shop.deliveries()) == order_ids
    assert sorted(shop.notified_ids()) == order_ids

    # The next periodic run finds nothing left to do.
    OrderConfirmationWorker.perform_async()
    assert sidequest_fake.drain() == 1
    assert len(shop.deliveries()) == 25


def test_a_worker_whose_perform_needs_parameters_cannot_be_called_periodically(
    sidequest_fake: FakeClient,
) -> None:
    with pytest.raises(sidequest.JobArgumentError, match="0 argument"):
        MyWorker.perform_async()
    assert len(sidequest_fake) == 0


def test_bulk_queueing_writes_a_thousand_jobs_per_round_trip(shop: Shop) -> None:
    shop.add_orders(2500)

    bulk, one_by_one = WriteCountingClient(), WriteCountingClient()
    with DEFAULT.override(bulk):
        OrderConfirmationWorker.perform_async()
        bulk.writes.clear()
        bulk.perform_one()
    with DEFAULT.override(one_by_one):
        OneByOneOrderConfirmationWorker.perform_async()
        one_by_one.writes.clear()
        one_by_one.perform_one()

    assert bulk.writes == [1000, 1000, 500]
    assert one_by_one.writes == [1] * 2500
    assert [job.args for job in bulk.jobs] == [job.args for job in one_by_one.jobs]


def test_on_a_real_store_one_failing_order_does_not_stop_the_others(
    job_store: Store, work_off: Callable[..., None], shop: Shop
) -> None:
    order_ids = shop.add_orders(300)
    unlucky = shop.add_order(email="bounce@example.com")
    shop.start_outage("bounce@example.com")

    OrderConfirmationWorker.perform_async()
    work_off()

    assert sorted(order_id for _, order_id in shop.deliveries()) == order_ids
    assert sorted(shop.notified_ids()) == order_ids
    [failed] = job_store.list_set("retry")
    assert failed.payload is not None
    assert failed.payload["args"] == [unlucky.id]
    assert failed.payload["error_class"] == "recipe.app.email_service.EmailServiceDown"

    # The email service recovers; the retry confirms the last order, and nobody gets a second email.
    shop.end_outage()
    job_store.retry_now([failed])
    work_off()

    assert len(shop.deliveries()) == 301
    assert sorted(shop.notified_ids()) == [*order_ids, unlucky.id]
