"""The recipe's "Defining a worker", "Running a worker" and "Naming Convention", as scenarios."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

import sidequest
from recipe.app.models import Shop
from recipe.app.workers import ALL_WORKERS, MyWorker
from sidequest.conventions import check_worker
from sidequest.stores.base import Store
from sidequest.testing import FakeClient


def test_my_worker_enqueues_its_jobs_in_the_default_queue(sidequest_fake: FakeClient) -> None:
    assert MyWorker.get_sidequest_options()["queue"] == "default"

    MyWorker.perform_async("King Zøg", "Dreamland")

    [job] = sidequest_fake.jobs_in("default")
    assert job.class_name == "recipe.app.workers.my_worker.MyWorker"


def test_the_four_ways_of_running_a_worker(sidequest_fake: FakeClient, shop: Shop) -> None:
    an_hour_from_now = datetime.now() + timedelta(hours=1)

    jid = MyWorker.perform_async("King Zøg", "Dreamland")
    MyWorker.perform_in(420, "Elfo", "Dreamland")
    MyWorker.perform_at(an_hour_from_now, "Emperor Cloyd", "Maru")
    MyWorker().perform("Prince Derek Grunkwitz", "Dreamland")

    # Only the synchronous call has run; the other three are jobs, with their parameters as given.
    assert shop.greetings() == [("Prince Derek Grunkwitz", "Dreamland")]
    soon, in_420_seconds, in_an_hour = sidequest_fake.jobs
    assert (soon.jid, soon.args, soon.at) == (jid, ["King Zøg", "Dreamland"], None)
    assert in_420_seconds.args == ["Elfo", "Dreamland"]
    assert in_420_seconds.at == pytest.approx(time.time() + 420, abs=5)
    assert in_an_hour.args == ["Emperor Cloyd", "Maru"]
    assert in_an_hour.at == pytest.approx(an_hour_from_now.timestamp())

    # Parameters given to perform_* are passed to perform, in the order time would run them.
    assert sidequest_fake.drain() == 3
    assert shop.greetings() == [
        ("Prince Derek Grunkwitz", "Dreamland"),
        ("King Zøg", "Dreamland"),
        ("Elfo", "Dreamland"),
        ("Emperor Cloyd", "Maru"),
    ]


def test_the_four_ways_of_running_a_worker_on_a_real_store(
    job_store: Store, work_off: Callable[..., None], shop: Shop
) -> None:
    MyWorker.perform_async("King Zøg", "Dreamland")
    MyWorker.perform_in(420, "Elfo", "Dreamland")
    MyWorker.perform_at(datetime.now() + timedelta(hours=1), "Emperor Cloyd", "Maru")
    MyWorker().perform("Prince Derek Grunkwitz", "Dreamland")

    work_off()

    # The job due now ran on the process (its name survived JSON intact); the scheduled ones wait.
    assert shop.greetings() == [("Prince Derek Grunkwitz", "Dreamland"), ("King Zøg", "Dreamland")]
    scheduled = job_store.list_set("scheduled")
    assert [entry.payload["args"] for entry in scheduled if entry.payload] == [
        ["Elfo", "Dreamland"],
        ["Emperor Cloyd", "Maru"],
    ]
    assert [entry.score for entry in scheduled] == [
        pytest.approx(time.time() + 420, abs=5),
        pytest.approx(time.time() + 3600, abs=5),
    ]


def test_a_worker_that_defines_process_instead_of_perform_is_refused_when_defined() -> None:
    # The recipe's OrderConfirmationWorker defines `process`, which Sidekiq never calls: its jobs
    # would all fail. sidequest says so when the class is defined, not when the first job runs.
    with pytest.raises(sidequest.WorkerDefinitionError, match=r"defines process\(\): rename it to perform"):

        class OrderConfirmationWorker(sidequest.Worker):
            def process(self, order_id: int | None = None) -> None: ...


def test_a_worker_needs_a_public_perform_method() -> None:
    with pytest.raises(sidequest.WorkerDefinitionError, match="must define a public perform"):

        class SilentWorker(sidequest.Worker):
            pass


def test_every_worker_of_the_app_follows_the_naming_convention() -> None:
    # In app/workers/ (subdirectories namespace them), named after their action, ending in Worker.
    for worker in ALL_WORKERS:
        report = check_worker(worker)
        assert report.problems == [], (worker, report.problems)
        assert ".app.workers." in report.name and report.name.endswith("Worker")
