"""sidequest.Batch from the application's side: what a jobs() block pushes, the errors people get at
the call site, and batches in the testing modes (fake: callbacks wait in the fake queue; inline:
they run after the block)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import sidequest
import sidequest.testing
from sidequest.batch_records import BatchOutcome
from sidequest.cancellation import cancel_in
from sidequest.client import Client
from sidequest.errors import ConfigurationError, JobArgumentError
from sidequest.stores import open_store

EVENTS: list[str] = []


class Step(sidequest.Worker):
    def perform(self, n: int, fail: bool = False) -> None:
        EVENTS.append(f"step-{n}")
        if fail:
            raise RuntimeError(f"step {n} failed")


class Grow(sidequest.Worker):
    """Adds a job to its own batch, then opens a child batch."""

    def perform(self) -> None:
        batch = self.batch
        assert batch is not None
        with batch.jobs():
            Step.perform_async(100)
        child = sidequest.Batch("child")
        child.on("success", Notify)
        with child.jobs():
            Step.perform_async(200)
        EVENTS.append("grew")


class Notify(sidequest.BatchCallbacks):
    def on_success(self, status: sidequest.BatchStatus, options: dict[str, Any]) -> None:
        EVENTS.append(f"success-{status.description}-{status.total}-{options.get('tag')}")

    def on_complete(self, status: sidequest.BatchStatus, options: dict[str, Any]) -> None:
        EVENTS.append(f"complete-{status.description}-failures={status.failures}")


class Unique(sidequest.Worker):
    sidequest_options = {"unique_for": 60}

    def perform(self) -> None:
        pass


class NoHandlers(sidequest.BatchCallbacks):
    pass


class PlainWorker(sidequest.Worker):
    def perform(self) -> None:
        pass


@pytest.fixture(autouse=True)
def clean_events() -> None:
    EVENTS.clear()


@pytest.fixture
def client(tmp_path: Path) -> Client:
    return Client(open_store(f"sqlite:///{tmp_path / 'jobs.db'}"))


def test_every_enqueue_inside_jobs_joins_the_batch_and_is_pushed_when_the_block_ends(client: Client) -> None:
    batch = sidequest.Batch("mixed", client=client)
    with batch.jobs():
        client.enqueue(Step, [1])
        client.enqueue(Step, [2], at=4_000_000_000.0)
        client.enqueue_bulk(Step, [[3], [4]])
        client.push({"class": Step, "args": [5]})
        client.push_bulk({"class": Step, "args": [[6], [7]]})
        assert client.store.counts().enqueued == 0  # nothing pushed before the block ends
    assert client.store.counts().enqueued == 6 and client.store.counts().scheduled == 1
    entries = client.store.list_queue("default", 0, 10)
    assert {entry.payload["bid"] for entry in entries if entry.payload} == {batch.bid}
    status = sidequest.Batch.status(batch.bid, client)
    assert status is not None and status.total == 7 and status.pending == 7 and status.description == "mixed"


def test_an_exception_inside_jobs_pushes_nothing(client: Client) -> None:
    batch = sidequest.Batch(client=client)
    with pytest.raises(RuntimeError), batch.jobs():
        client.enqueue(Step, [1])
        raise RuntimeError("the import failed half way")
    assert client.store.counts().enqueued == 0
    assert sidequest.Batch.status(batch.bid, client) is None


def test_a_batch_opened_inside_another_batchs_block_is_its_child(client: Client) -> None:
    parent = sidequest.Batch("parent", client=client)
    with parent.jobs():
        client.enqueue(Step, [1])
        child = sidequest.Batch("child", client=client)
        with child.jobs():
            client.enqueue(Step, [2])
    assert child.parent_bid == parent.bid
    parent_status = sidequest.Batch.status(parent.bid, client)
    child_status = sidequest.Batch.status(child.bid, client)
    assert parent_status is not None and parent_status.total == 2  # its job and the child
    assert child_status is not None and child_status.parent_bid == parent.bid and child_status.total == 1


def test_bad_callbacks_are_refused_at_batch_on(client: Client) -> None:
    batch = sidequest.Batch(client=client)
    with pytest.raises(ConfigurationError, match="unknown batch event 'succes'"):
        batch.on("succes", Notify)
    with pytest.raises(ConfigurationError, match="BatchCallbacks subclass"):
        batch.on("success", PlainWorker)
    with pytest.raises(ConfigurationError, match="has no on_death method"):
        batch.on("death", Notify)
    with pytest.raises(ConfigurationError, match="has no on_success"):
        batch.on("success", NoHandlers)
    with pytest.raises(JobArgumentError, match="options"):
        batch.on("success", Notify, {"when": object()})

    class Local(sidequest.BatchCallbacks):
        def on_success(self, status: sidequest.BatchStatus, options: dict[str, Any]) -> None:
            pass

    with pytest.raises(ConfigurationError, match="defined inside a function"):
        batch.on("success", Local)
    with sidequest.testing.fake():  # run in this very process: a local class is fine there
        sidequest.Batch().on("success", Local)


def test_bad_batch_settings_and_unique_jobs_are_refused(client: Client) -> None:
    with pytest.raises(ConfigurationError, match="linger"):
        sidequest.Batch(linger=-1)
    with pytest.raises(JobArgumentError, match="cannot join a batch"), sidequest.Batch(client=client).jobs():
        client.enqueue(Unique, [])


def test_fake_mode_keeps_the_batchs_jobs_and_fires_its_callbacks_as_they_are_drained() -> None:
    with sidequest.testing.fake() as jobs:
        batch = sidequest.Batch("faked")
        batch.on("success", Notify, {"tag": "t"}).on("complete", Notify)
        with batch.jobs():
            Step.perform_async(1)
            Grow.perform_async()
        assert [job.payload["bid"] for job in jobs] == [batch.bid, batch.bid]
        jobs.drain()
        status = sidequest.Batch.status(batch.bid)
    assert EVENTS[-2:] == ["complete-faked-failures=0", "success-faked-5-t"]
    assert "success-child-1-None" in EVENTS
    assert EVENTS.index("success-child-1-None") < EVENTS.index("complete-faked-failures=0")
    assert status is not None and status.succeeded and status.total == 5  # 2 jobs, added, child, its callback


def test_inline_mode_runs_the_batch_after_the_block_then_its_callbacks() -> None:
    with sidequest.testing.inline():
        batch = sidequest.Batch("inline")
        batch.on("complete", Notify)
        batch.on("success", Notify)
        with batch.jobs():
            Step.perform_async(1)
            assert EVENTS == []  # callbacks and jobs run after the block
        with pytest.raises(RuntimeError), sidequest.Batch("failing").on("complete", Notify).jobs():
            Step.perform_async(2, True)
    assert EVENTS == [
        "step-1",
        "complete-inline-failures=0",
        "success-inline-1-None",
        "step-2",
        "complete-failing-failures=1",
    ]


@sidequest.job
def tally(n: int) -> None:
    EVENTS.append(f"tally-{n}")


def test_function_jobs_join_a_batch_like_workers() -> None:
    with sidequest.testing.fake() as jobs:
        batch = sidequest.Batch("functions")
        batch.on("success", Notify, {"tag": "f"})
        with batch.jobs():
            tally.perform_async(1)
            tally.perform_async(2)
        assert [job.payload["bid"] for job in jobs] == [batch.bid, batch.bid]
        jobs.drain()
    assert EVENTS == ["tally-1", "tally-2", "success-functions-2-f"]


def test_a_cancelled_waiting_job_counts_as_a_failure_so_its_batch_completes(client: Client) -> None:
    batch = sidequest.Batch("cancelled", client=client)
    batch.on("complete", Notify).on("success", Notify)
    with batch.jobs():
        kept, dropped = client.enqueue_bulk(Step, [[1], [2]])
    assert cancel_in(client.store, str(dropped)) == "removed"
    client.store.record_batch_outcomes([BatchOutcome(batch.bid, str(kept), "success")], time.time())
    status = sidequest.Batch.status(batch.bid, client)
    assert status is not None and status.complete and not status.succeeded
    assert status.failed_jids == [dropped]


def test_sidequest_check_takes_a_batch_callback_class_name_as_it_is() -> None:
    from sidequest.conventions import check_worker

    assert not any("does not end in 'Worker'" in problem for problem in check_worker(Notify).problems)
    assert any("does not end in 'Worker'" in problem for problem in check_worker(Step).problems)
