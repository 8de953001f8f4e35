"""The recipe's "Idempotence": a job may run more than once, so it must give the same result if it does.

Delivery is at least once: a process killed after ``perform`` but before its job is acknowledged, or
a job that fails after doing part of its work, leads to the job running again. These scenarios
deliver the same job (same jid) a second time after it ran, on a real store and in fake mode.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sidequest
from recipe.app.models import Shop
from recipe.app.workers import IncrementFooWorker, UpdateFooWorker
from sidequest.job import NewJob
from sidequest.stores.base import Store
from sidequest.testing import FakeClient


def run_twice(
    store: Store, work_off: Callable[..., None], worker: type[sidequest.Worker], *args: Any
) -> None:
    """Run one job, then deliver it again, as after a process died before acknowledging it."""
    payload = sidequest.Client(store).build_payload(worker, args, {}, None)
    assert payload is not None
    for _ in range(2):
        store.push([NewJob(payload)])
        work_off()


def test_an_idempotent_job_run_twice_leaves_foo_right(
    job_store: Store, work_off: Callable[..., None], shop: Shop
) -> None:
    foo = shop.add_foo(count=41)

    # UpdateFooWorker.perform_async my_foo.id, { count: my_foo.count + 1 }
    run_twice(job_store, work_off, UpdateFooWorker, foo, {"count": shop.foo_count(foo) + 1})

    assert job_store.counts().processed == 2
    assert shop.foo_count(foo) == 42


def test_a_job_that_is_not_idempotent_run_twice_leaves_foo_wrong(
    job_store: Store, work_off: Callable[..., None], shop: Shop
) -> None:
    foo = shop.add_foo(count=41)

    # IncrementFooWorker.perform_async 420
    run_twice(job_store, work_off, IncrementFooWorker, foo)

    assert job_store.counts().processed == 2
    assert shop.foo_count(foo) == 43  # one increment was asked for, two were made


def test_in_fake_mode_a_redelivered_job_shows_the_same_difference(
    sidequest_fake: FakeClient, shop: Shop
) -> None:
    updated, incremented = shop.add_foo(count=41), shop.add_foo(count=41)
    UpdateFooWorker.perform_async(updated, {"count": shop.foo_count(updated) + 1})
    IncrementFooWorker.perform_async(incremented)

    for job in sidequest_fake.jobs:
        sidequest_fake.write([NewJob(job.payload)])  # delivered a second time
    assert sidequest_fake.drain() == 4

    assert shop.foo_count(updated) == 42
    assert shop.foo_count(incremented) == 43
