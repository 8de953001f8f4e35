"""Contract: batches - adding jobs with their batch in one step, recording outcomes idempotently, and
each callback pushed exactly once in the step that reaches its transition, on every store."""

from __future__ import annotations

import threading
import time
from typing import Any

import orjson
import pytest

from contract.support import JobMaker, claim_all
from sidequest.batch_records import (
    NOW_MARK,
    STATUS_MARK,
    BatchAdd,
    BatchCallback,
    BatchEvent,
    BatchOutcome,
    NewBatch,
    child_member,
)
from sidequest.errors import StoreError
from sidequest.job import NewJob, Payload, new_jid
from sidequest.stores import open_store
from sidequest.stores.base import Store

CALLBACKS = "callbacks"


def callback(
    event: BatchEvent, parent: str | None = None, options: dict[str, Any] | None = None
) -> BatchCallback:
    """A callback template as sidequest.Batch builds it."""
    jid = new_jid()
    payload: Payload = {
        "class": "app.Callbacks",
        "args": [event, STATUS_MARK, options or {}],
        "jid": jid,
        "queue": CALLBACKS,
        "retry": True,
        "created_at": NOW_MARK,
        "enqueued_at": NOW_MARK,
    }
    if parent is not None:
        payload["bid"] = parent
    return BatchCallback(event, jid, CALLBACKS, orjson.dumps(payload).decode())


def new_batch(
    bid: str,
    parent: str | None = None,
    events: tuple[BatchEvent, ...] = ("complete", "success", "death"),
    linger: float = 3600.0,
) -> NewBatch:
    return NewBatch(
        bid=bid,
        description=f"batch {bid}",
        parent=parent,
        created_at=time.time(),
        linger=linger,
        callbacks=tuple(callback(event, parent) for event in events),
    )


def batch_jobs(jobs: JobMaker, bid: str, count: int) -> list[NewJob]:
    made = []
    for number in range(count):
        payload = jobs.payload(number)
        payload["bid"] = bid
        made.append(NewJob(payload))
    return made


def fired_callbacks(store: Store) -> list[Payload]:
    """The callback jobs pushed so far, oldest first."""
    entries = store.list_queue(CALLBACKS, 0, 1000)
    return [entry.payload for entry in entries if entry.payload is not None]


def events_of(callbacks: list[Payload]) -> list[str]:
    return sorted(str(payload["args"][0]) for payload in callbacks)


def jids_of(made: list[NewJob]) -> list[str]:
    return [str(job.payload["jid"]) for job in made]


def record(store: Store, bid: str, jids: list[str], kind: str = "success") -> int:
    return store.record_batch_outcomes([BatchOutcome(bid, jid, kind) for jid in jids], time.time())  # type: ignore[arg-type]


def test_a_batchs_jobs_are_pushed_with_it_and_carry_its_bid(store: Store, jobs: JobMaker, owner: str) -> None:
    made = batch_jobs(jobs, "b1", 3)
    store.add_to_batches([BatchAdd("b1", made, new_batch("b1"))], time.time())
    claimed = claim_all(store, owner)
    assert sorted(str(job.jid) for job in claimed) == sorted(jids_of(made))
    assert all(job.payload is not None and job.payload["bid"] == "b1" for job in claimed)
    info = store.batch_status("b1", time.time())
    assert info is not None
    assert (info.total, info.pending, info.unrun, info.failures) == (3, 3, 3, 0)
    assert info.description == "batch b1" and info.parent is None and info.fired == {}
    assert sorted(info.callbacks) == ["complete", "death", "success"]


def test_complete_and_success_are_pushed_once_when_the_last_job_succeeds(
    store: Store, jobs: JobMaker
) -> None:
    made = batch_jobs(jobs, "b1", 3)
    store.add_to_batches([BatchAdd("b1", made, new_batch("b1"))], time.time())
    jids = jids_of(made)
    assert record(store, "b1", jids[:2]) == 0
    assert fired_callbacks(store) == []
    assert record(store, "b1", jids[2:]) == 2
    callbacks = fired_callbacks(store)
    assert events_of(callbacks) == ["complete", "success"]
    status = callbacks[0]["args"][1]
    assert status["total"] == 3 and status["pending"] == 0 and status["failures"] == 0
    assert status["bid"] == "b1" and status["description"] == "batch b1" and status["failed_jids"] == []
    assert isinstance(callbacks[0]["enqueued_at"], float) and isinstance(callbacks[0]["created_at"], float)
    # Re-runs of any job (a crash between recording and ack) change nothing.
    assert record(store, "b1", jids) == 0
    assert record(store, "b1", jids, "failure") == 0
    assert record(store, "b1", jids, "death") == 0
    assert len(fired_callbacks(store)) == 2
    info = store.batch_status("b1", time.time())
    assert info is not None and sorted(info.fired) == ["complete", "success"]


def test_a_failure_lets_the_batch_complete_but_not_succeed_until_its_retry_succeeds(
    store: Store, jobs: JobMaker
) -> None:
    made = batch_jobs(jobs, "b1", 2)
    store.add_to_batches([BatchAdd("b1", made, new_batch("b1"))], time.time())
    first, second = jids_of(made)
    assert record(store, "b1", [first], "failure") == 0
    assert record(store, "b1", [first], "failure") == 0  # its retry failed too
    assert record(store, "b1", [second]) == 1
    [complete] = fired_callbacks(store)
    assert complete["args"][0] == "complete"
    assert complete["args"][1]["failures"] == 1 and complete["args"][1]["failed_jids"] == [first]
    info = store.batch_status("b1", time.time())
    assert info is not None and (info.pending, info.failures, info.unrun) == (1, 1, 0)
    assert info.failed_jids == [first]
    assert record(store, "b1", [first]) == 1
    assert events_of(fired_callbacks(store)) == ["complete", "success"]


def test_death_is_pushed_once_at_the_first_death_and_success_never(store: Store, jobs: JobMaker) -> None:
    made = batch_jobs(jobs, "b1", 3)
    store.add_to_batches([BatchAdd("b1", made, new_batch("b1"))], time.time())
    a, b, c = jids_of(made)
    assert record(store, "b1", [a], "death") == 1
    assert record(store, "b1", [b], "death") == 0
    assert events_of(fired_callbacks(store)) == ["death"]
    assert record(store, "b1", [c]) == 1
    assert events_of(fired_callbacks(store)) == ["complete", "death"]
    info = store.batch_status("b1", time.time())
    assert info is not None and info.pending == 2 and "success" not in info.fired


def test_outcomes_of_unknown_batches_and_members_are_ignored(store: Store, jobs: JobMaker) -> None:
    made = batch_jobs(jobs, "b1", 1)
    store.add_to_batches([BatchAdd("b1", made, new_batch("b1"))], time.time())
    assert record(store, "nope", ["x"]) == 0
    assert record(store, "b1", ["not-a-member"]) == 0
    assert record(store, "b1", ["not-a-member"], "death") == 0
    assert fired_callbacks(store) == []
    assert store.record_batch_outcomes([], time.time()) == 0


def test_an_empty_batch_fires_complete_and_success_when_it_is_added(store: Store) -> None:
    store.add_to_batches([BatchAdd("b1", [], new_batch("b1"))], time.time())
    assert events_of(fired_callbacks(store)) == ["complete", "success"]


def test_jobs_added_to_a_running_batch_keep_it_open_until_they_ran(store: Store, jobs: JobMaker) -> None:
    made = batch_jobs(jobs, "b1", 1)
    store.add_to_batches([BatchAdd("b1", made, new_batch("b1"))], time.time())
    more = batch_jobs(jobs, "b1", 2)  # added by the running job, before its own outcome
    store.add_to_batches([BatchAdd("b1", more)], time.time())
    assert record(store, "b1", jids_of(made)) == 0
    assert record(store, "b1", jids_of(more)) == 2
    info = store.batch_status("b1", time.time())
    assert info is not None and info.total == 3


def test_adding_to_a_batch_that_is_gone_raises_and_writes_nothing(store: Store, jobs: JobMaker) -> None:
    made = batch_jobs(jobs, "gone", 2)
    with pytest.raises(StoreError, match="gone"):
        store.add_to_batches([BatchAdd("gone", made)], time.time())
    with pytest.raises(StoreError, match="missing-parent"):
        store.add_to_batches([BatchAdd("c1", made, new_batch("c1", parent="missing-parent"))], time.time())
    assert store.counts().enqueued == 0
    assert store.batch_status("c1", time.time()) is None


def test_a_succeeded_batch_takes_no_more_jobs(store: Store, jobs: JobMaker) -> None:
    made = batch_jobs(jobs, "b1", 1)
    store.add_to_batches([BatchAdd("b1", made, new_batch("b1"))], time.time())
    record(store, "b1", jids_of(made))
    with pytest.raises(StoreError, match="b1"):
        store.add_to_batches([BatchAdd("b1", batch_jobs(jobs, "b1", 1))], time.time())


def test_a_child_batch_fires_before_its_parent_which_waits_for_the_childs_callbacks(
    store: Store, jobs: JobMaker
) -> None:
    parent_jobs = batch_jobs(jobs, "p", 1)
    child_jobs = batch_jobs(jobs, "c", 2)
    store.add_to_batches(
        [BatchAdd("p", parent_jobs, new_batch("p")), BatchAdd("c", child_jobs, new_batch("c", parent="p"))],
        time.time(),
    )
    parent = store.batch_status("p", time.time())
    assert parent is not None and parent.total == 2 and parent.pending == 2  # its job and the child
    assert record(store, "p", jids_of(parent_jobs)) == 0
    assert record(store, "c", jids_of(child_jobs)) == 2
    child_callbacks = fired_callbacks(store)
    assert events_of(child_callbacks) == ["complete", "success"]
    assert all(payload["bid"] == "p" for payload in child_callbacks)  # members of the parent
    parent = store.batch_status("p", time.time())
    assert parent is not None and parent.pending == 2 and parent.fired == {}
    # The child's callbacks run (as jobs of the parent): only then the parent fires.
    assert record(store, "p", [str(child_callbacks[0]["jid"])]) == 0
    assert record(store, "p", [str(child_callbacks[1]["jid"])]) == 2
    parent_callbacks = fired_callbacks(store)[2:]
    assert events_of(parent_callbacks) == ["complete", "success"]
    assert all("bid" not in payload for payload in parent_callbacks)
    assert child_member("c") not in (store.batch_status("p", time.time()) or parent).failed_jids


def test_a_death_in_a_child_batch_fires_the_parents_death_and_it_never_succeeds(
    store: Store, jobs: JobMaker
) -> None:
    child_jobs = batch_jobs(jobs, "c", 2)
    store.add_to_batches(
        [BatchAdd("p", [], new_batch("p")), BatchAdd("c", child_jobs, new_batch("c", parent="p", events=()))],
        time.time(),
    )
    a, b = jids_of(child_jobs)
    assert record(store, "c", [a], "death") == 1
    assert events_of(fired_callbacks(store)) == ["death"]
    parent = store.batch_status("p", time.time())
    assert parent is not None and parent.unrun == 1  # the child has not completed yet
    assert record(store, "c", [b]) == 1
    assert events_of(fired_callbacks(store)) == ["complete", "death"]
    parent = store.batch_status("p", time.time())
    assert parent is not None and parent.failed_jids == [child_member("c")] and "success" not in parent.fired


def test_racing_recorders_of_the_last_jobs_push_each_callback_once(store_url: str, jobs: JobMaker) -> None:
    stores = [open_store(store_url) for _ in range(4)]
    try:
        made = batch_jobs(jobs, "b1", 40)
        stores[0].add_to_batches([BatchAdd("b1", made, new_batch("b1"))], time.time())
        jids = jids_of(made)
        start = threading.Barrier(len(stores))
        pushed: list[int] = []

        def recorder(index: int, mine: Store) -> None:
            start.wait()
            total = 0
            for jid in jids[index::2]:  # every jid recorded twice, by two racing threads
                total += record(mine, "b1", [jid])
            pushed.append(total)

        threads = [threading.Thread(target=recorder, args=(i % 2, s)) for i, s in enumerate(stores)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sum(pushed) == 2
        assert events_of(fired_callbacks(stores[0])) == ["complete", "success"]
    finally:
        for opened in stores:
            opened.close()


def test_a_succeeded_batch_is_removed_after_its_linger(store: Store, jobs: JobMaker) -> None:
    made = batch_jobs(jobs, "b1", 1)
    store.add_to_batches([BatchAdd("b1", made, new_batch("b1", linger=0.3))], time.time())
    record(store, "b1", jids_of(made))
    assert store.batch_status("b1", time.time()) is not None
    time.sleep(0.5)
    assert store.batch_status("b1", time.time()) is None
    assert [info.bid for info in store.list_batches(0, 10, time.time())] == []


def test_batches_are_listed_newest_first_and_can_be_deleted(store: Store, jobs: JobMaker) -> None:
    for bid in ("b1", "b2", "b3"):
        store.add_to_batches([BatchAdd(bid, batch_jobs(jobs, bid, 1), new_batch(bid))], time.time())
        time.sleep(0.01)
    assert [info.bid for info in store.list_batches(0, 10, time.time())] == ["b3", "b2", "b1"]
    assert [info.bid for info in store.list_batches(1, 1, time.time())] == ["b2"]
    assert store.list_batches(5, 10, time.time()) == []
    assert store.delete_batch("b2") is True
    assert store.delete_batch("b2") is False
    assert store.batch_status("b2", time.time()) is None
    assert [info.bid for info in store.list_batches(0, 10, time.time())] == ["b3", "b1"]


def test_creating_a_batch_again_adds_to_it_and_fires_once_when_the_pushed_jobs_ran(
    store: Store, jobs: JobMaker
) -> None:
    made = batch_jobs(jobs, "b1", 2)
    store.add_to_batches([BatchAdd("b1", made, new_batch("b1"))], time.time())
    record(store, "b1", jids_of(made)[:1])
    # The same call again (a client that retried after its reply was lost): the jobs are pushed again
    # (at least once) and the batch is added to, not reset; it fires once their runs are recorded.
    store.add_to_batches([BatchAdd("b1", made, new_batch("b1"))], time.time())
    info = store.batch_status("b1", time.time())
    assert info is not None and info.pending >= 1 and info.fired == {}
    assert record(store, "b1", jids_of(made)) == 2
    assert record(store, "b1", jids_of(made)) == 0
    assert events_of(fired_callbacks(store)) == ["complete", "success"]
