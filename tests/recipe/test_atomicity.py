"""The recipe's "Atomicity & Fragility": one job talking to two systems, and the sub-jobs that fix it.

The recipe's last OrderConfirmationWorker (``app/workers/atomic/``) splits emailing the customer and
marking the order into two sub-jobs, each retried on its own. Its bug, passing the Order object to
``perform_async``, is refused with an error that says to pass the id.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

import sidequest
from recipe.app.models import Shop, current_shop
from recipe.app.workers import OrderConfirmationWorker as OneJobOrderConfirmationWorker
from recipe.app.workers.atomic.order_confirmation_worker import INCONSISTENCY_WINDOW, OrderConfirmationWorker
from sidequest.stores.base import Store
from sidequest.testing import FakeClient, InlineClient


class RecipeOrderConfirmationWorker(sidequest.Worker):
    """The recipe's Ruby, translated as written: ``self.class.perform_async order, :notify``."""

    def perform(self, order_id: int, activity: str | None = None) -> None:
        order = current_shop().find_order(order_id)
        type(self).perform_async(order, "notify")
        type(self).perform_async(order, "mark_notified")


def retry_failed_jobs(store: Store, work_off: Callable[..., None]) -> None:
    """What the retry set does on its own after a backoff, done now."""
    store.retry_now(store.list_set("retry"))
    work_off(RecipeOrderConfirmationWorker)


def test_the_top_level_job_enqueues_a_notify_and_a_mark_notified_sub_job(
    sidequest_fake: FakeClient, shop: Shop
) -> None:
    order = shop.add_order()

    OrderConfirmationWorker.perform_async(order.id)
    sidequest_fake.perform_one()

    assert [job.args for job in sidequest_fake.jobs] == [[order.id, "notify"], [order.id, "mark_notified"]]
    sidequest_fake.drain()
    assert shop.deliveries() == [("order_confirmation", order.id)]
    assert shop.notified_ids() == [order.id]


def test_enqueue_mode_picks_only_orders_left_alone_for_six_hours(
    sidequest_fake: FakeClient, shop: Shop
) -> None:
    settled = shop.add_order(updated_ago=INCONSISTENCY_WINDOW + 60)
    shop.add_order(updated_ago=INCONSISTENCY_WINDOW - 60)

    OrderConfirmationWorker.perform_async()  # the periodic call
    sidequest_fake.perform_one()

    assert [job.args for job in sidequest_fake.jobs] == [
        [settled.id, "notify"],
        [settled.id, "mark_notified"],
    ]


def test_one_job_that_emails_then_marks_emails_twice_when_marking_fails(
    job_store: Store, work_off: Callable[..., None], shop: Shop
) -> None:
    order = shop.add_order()
    shop.lock_order(order.id)

    OneJobOrderConfirmationWorker.perform_async(order.id)
    work_off()
    shop.unlock_orders()
    retry_failed_jobs(job_store, work_off)

    # The retry ran the whole job again: the customer got the same confirmation twice.
    assert shop.deliveries() == [("order_confirmation", order.id)] * 2
    assert shop.notified_ids() == [order.id]


def test_with_sub_jobs_a_failed_mark_is_retried_alone_and_the_customer_gets_one_email(
    job_store: Store, work_off: Callable[..., None], shop: Shop
) -> None:
    order = shop.add_order()
    shop.lock_order(order.id)

    OrderConfirmationWorker.perform_async(order.id)
    work_off()

    # Inconsistent for a while: emailed, not marked; only the mark_notified sub-job waits for a retry.
    assert shop.deliveries() == [("order_confirmation", order.id)]
    assert shop.notified_ids() == []
    [waiting] = job_store.list_set("retry")
    assert waiting.payload is not None and waiting.payload["args"] == [order.id, "mark_notified"]

    shop.unlock_orders()
    retry_failed_jobs(job_store, work_off)

    # Eventually consistent, and one email.
    assert shop.deliveries() == [("order_confirmation", order.id)]
    assert shop.notified_ids() == [order.id]


def test_with_sub_jobs_a_failed_email_is_retried_alone_until_it_is_delivered(
    job_store: Store, work_off: Callable[..., None], shop: Shop
) -> None:
    order = shop.add_order(email="far-away@example.com")
    shop.start_outage("far-away@example.com")

    OrderConfirmationWorker.perform_async(order.id)
    work_off()

    assert shop.deliveries() == []
    assert shop.notified_ids() == [order.id]
    [waiting] = job_store.list_set("retry")
    assert waiting.payload is not None and waiting.payload["args"] == [order.id, "notify"]

    shop.end_outage()
    retry_failed_jobs(job_store, work_off)

    assert shop.deliveries() == [("order_confirmation", order.id)]
    assert job_store.list_set("retry") == []


def test_passing_the_order_object_instead_of_its_id_is_refused(
    sidequest_fake: FakeClient, shop: Shop
) -> None:
    order = shop.add_order()

    with pytest.raises(sidequest.JobArgumentError) as refused:
        OrderConfirmationWorker.perform_async(order, "notify")

    message = str(refused.value)
    assert "argument 1 is a recipe.app.models.Order" in message
    assert "pass the object's id" in message
    assert len(sidequest_fake) == 0


def test_the_recipes_top_level_job_fails_at_once_inline(sidequest_inline: InlineClient, shop: Shop) -> None:
    order = shop.add_order()

    with pytest.raises(sidequest.JobArgumentError, match=r"argument 1 is a recipe\.app\.models\.Order"):
        RecipeOrderConfirmationWorker.perform_async(order.id)
    assert shop.deliveries() == []


def test_on_a_real_store_the_recipes_top_level_job_fails_before_enqueueing_anything(
    job_store: Store, work_off: Callable[..., None], shop: Shop
) -> None:
    order = shop.add_order()

    RecipeOrderConfirmationWorker.perform_async(order.id)
    work_off(RecipeOrderConfirmationWorker)

    [failed] = job_store.list_set("retry")
    assert failed.payload is not None
    assert failed.payload["error_class"] == "sidequest.errors.JobArgumentError"
    assert "argument 1 is a recipe.app.models.Order" in failed.payload["error_message"]
    assert job_store.counts().processed == 1
    assert shop.deliveries() == []


def test_an_unknown_activity_is_an_error_not_a_method_call(
    sidequest_inline: InlineClient, shop: Shop
) -> None:
    order = shop.add_order()

    with pytest.raises(ValueError, match="unknown activity 'destroy'"):
        OrderConfirmationWorker.perform_async(order.id, "destroy")
