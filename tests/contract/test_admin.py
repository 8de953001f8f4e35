"""Contract: what the dashboard and the CLI read and do. An entry acts only where it was listed."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from contract.support import JobMaker, claim_all, jids, raw_payload
from sidequest.job import JobEntry, NewJob
from sidequest.retry import record_failure
from sidequest.stores.base import Store


def fail(store: Store, jobs: JobMaker, owner: str, count: int, into: str, at: float) -> list[str]:
    """Push ``count`` jobs, claim them and fail them into the retry set or kill them; returns jids."""
    pushed = jobs.push_many(count, queue="failing")
    for job in store.claim(["failing"], count, owner, 0):
        assert job.payload is not None
        failed = record_failure(job.payload, RuntimeError("boom"), at)
        moved = store.retry(owner, job, failed, at) if into == "retry" else store.kill(owner, job, failed, at)
        assert moved
    return pushed


def test_a_new_store_is_empty(store: Store) -> None:
    assert store.queues() == []
    assert store.processes() == []
    assert store.busy() == []
    for name in ("scheduled", "retry", "dead"):
        assert store.list_set(name) == []  # type: ignore[arg-type]
    assert store.list_queue("default") == []
    counts = store.counts()
    assert (counts.processed, counts.failed, counts.enqueued, counts.scheduled) == (0, 0, 0, 0)
    assert (counts.retry, counts.dead, counts.processes, counts.busy) == (0, 0, 0, 0)
    today = datetime.now(UTC).date()
    assert store.history(2, today) == [(today, 0, 0), (today - timedelta(days=1), 0, 0)]


def test_queues_are_listed_by_name_with_size_and_latency(store: Store, jobs: JobMaker) -> None:
    jobs.push(1, queue="zeta")
    oldest = jobs.payload(1, queue="alpha")
    oldest["enqueued_at"] = time.time() - 30
    store.push([NewJob(oldest)])
    jobs.push(2, queue="alpha")
    listed = store.queues()
    assert [(queue.name, queue.size) for queue in listed] == [("alpha", 2), ("zeta", 1)]
    assert listed[0].latency == pytest.approx(30, abs=5)
    assert listed[1].latency == pytest.approx(0, abs=5)


def test_an_empty_queue_is_still_listed_with_no_latency(store: Store, jobs: JobMaker, owner: str) -> None:
    jobs.push(1, queue="drained")
    claim_all(store, owner, ["drained"])
    [queue] = store.queues()
    assert (queue.name, queue.size, queue.latency) == ("drained", 0, 0)


def test_counts_add_up_the_jobs_in_every_state(store: Store, jobs: JobMaker, owner: str) -> None:
    now = time.time()
    fail(store, jobs, owner, 2, "retry", now + 60)
    fail(store, jobs, owner, 1, "dead", now)
    jobs.schedule_many(3, now + 60)
    jobs.push_many(4)
    store.claim(["default"], 1, owner, 0)  # running jobs are in no count but busy
    counts = store.counts()
    assert (counts.enqueued, counts.scheduled, counts.retry, counts.dead) == (3, 3, 2, 1)


def test_a_queue_is_listed_in_run_order_page_by_page(store: Store, jobs: JobMaker) -> None:
    pushed = jobs.push_many(5, queue="pages")
    first = store.list_queue("pages", 0, 2)
    assert [entry.jid for entry in first] == pushed[:2]
    assert all(entry.state == "enqueued" and entry.queue == "pages" for entry in first)
    assert [entry.jid for entry in store.list_queue("pages", 2, 10)] == pushed[2:]
    assert store.list_queue("pages", 5, 10) == []
    assert store.list_queue("no-such-queue") == []


def test_the_scheduled_set_is_listed_soonest_first_and_the_dead_set_latest_first(
    store: Store, jobs: JobMaker, owner: str
) -> None:
    now = time.time()
    late = jobs.schedule(now + 200, "late")
    soon = jobs.schedule(now + 100, "soon")
    listed = store.list_set("scheduled")
    assert [(entry.jid, entry.state) for entry in listed] == [(soon, "scheduled"), (late, "scheduled")]
    assert [entry.score for entry in listed] == [pytest.approx(now + 100), pytest.approx(now + 200)]
    assert [entry.jid for entry in store.list_set("scheduled", 1, 1)] == [late]
    assert store.list_set("scheduled", 2, 5) == []
    jobs.push_many(2)
    first, second = store.claim(["default"], 2, owner, 0)
    store.kill(owner, first, None, now - 10)
    store.kill(owner, second, None, now)
    assert [entry.jid for entry in store.list_set("dead")] == [second.jid, first.jid]


def test_delete_removes_listed_jobs_once(store: Store, jobs: JobMaker, owner: str) -> None:
    now = time.time()
    queued = jobs.push_many(3)
    jobs.schedule_many(2, now + 60)
    fail(store, jobs, owner, 1, "retry", now + 60)
    fail(store, jobs, owner, 1, "dead", now)
    doomed = [
        store.list_queue("default")[1],
        store.list_set("scheduled")[0],
        store.list_set("retry")[0],
        store.list_set("dead")[0],
    ]
    assert store.delete(doomed) == 4
    assert store.delete(doomed) == 0
    assert [entry.jid for entry in store.list_queue("default")] == [queued[0], queued[2]]
    counts = store.counts()
    assert (counts.scheduled, counts.retry, counts.dead) == (1, 0, 0)


def test_retry_now_puts_failed_jobs_at_the_back_of_their_queue_one_retry_down(
    store: Store, jobs: JobMaker, owner: str
) -> None:
    now = time.time()
    fail(store, jobs, owner, 1, "retry", now + 600)
    fail(store, jobs, owner, 1, "dead", now)
    waiting = jobs.push("waiting", queue="failing")
    retrying, dead = store.list_set("retry")[0], store.list_set("dead")[0]
    assert store.retry_now([retrying, dead]) == 2
    assert store.retry_now([retrying, dead]) == 0
    claimed = claim_all(store, owner, ["failing"])
    assert jids(claimed) == [waiting, retrying.jid, dead.jid]
    for job in claimed[1:]:
        assert job.payload is not None
        assert job.payload["retry_count"] == -1  # the next failure records retry_count 0 again
        assert job.payload["enqueued_at"] == pytest.approx(time.time(), abs=5)
        assert job.payload["error_message"] == "boom"
    counts = store.counts()
    assert (counts.retry, counts.dead) == (0, 0)


def test_retry_now_runs_a_scheduled_job_now(store: Store, jobs: JobMaker, owner: str) -> None:
    jid = jobs.schedule(time.time() + 3600, 1, queue="later")
    assert store.retry_now(store.list_set("scheduled")) == 1
    [job] = store.claim(["later"], 1, owner, 0)
    assert job.jid == jid
    assert "retry_count" not in raw_payload(job.raw)
    assert [queue.name for queue in store.queues()] == ["later"]


def test_kill_entries_moves_scheduled_and_retry_jobs_to_the_dead_set(
    store: Store, jobs: JobMaker, owner: str
) -> None:
    now = time.time()
    fail(store, jobs, owner, 1, "retry", now + 600)
    scheduled = jobs.schedule(now + 600, "scheduled")
    entries = [*store.list_set("retry"), *store.list_set("scheduled")]
    assert store.kill_entries(entries, now) == 2
    assert store.kill_entries(entries, now) == 0
    dead = store.list_set("dead")
    assert {entry.jid for entry in dead} == {entries[0].jid, scheduled}
    assert all(entry.score == pytest.approx(now) for entry in dead)
    counts = store.counts()
    assert (counts.scheduled, counts.retry, counts.dead) == (0, 0, 2)


def test_an_entry_that_moved_since_it_was_listed_is_skipped(store: Store, jobs: JobMaker, owner: str) -> None:
    now = time.time()
    fail(store, jobs, owner, 1, "retry", now - 1)
    [listed] = store.list_set("retry")
    assert store.promote_due(now) == 1  # the scheduler got there first
    assert store.delete([listed]) == 0
    assert store.retry_now([listed]) == 0
    assert store.kill_entries([listed], now) == 0
    [queued] = store.list_queue("failing")
    assert queued.jid == listed.jid
    [job] = store.claim(["failing"], 1, owner, 0)
    assert store.delete([queued]) == 0  # a running job is not where it was listed either
    assert store.ack(owner, [job]) == 1


def test_clearing_a_queue_removes_its_jobs_and_its_name(store: Store, jobs: JobMaker) -> None:
    jobs.push_many(3, queue="trash")
    kept = jobs.push("keep", queue="kept")
    assert store.clear("queue:trash") == 3
    assert [queue.name for queue in store.queues()] == ["kept"]
    assert store.list_queue("trash") == []
    assert [entry.jid for entry in store.list_queue("kept")] == [kept]
    assert store.clear("queue:trash") == 0


def test_clearing_a_set_removes_only_that_set(store: Store, jobs: JobMaker, owner: str) -> None:
    now = time.time()
    jobs.schedule_many(2, now + 60)
    fail(store, jobs, owner, 1, "retry", now + 60)
    fail(store, jobs, owner, 3, "dead", now)
    assert store.clear("dead") == 3
    assert store.clear("scheduled") == 2
    counts = store.counts()
    assert (counts.scheduled, counts.retry, counts.dead) == (0, 1, 0)
    assert store.clear("retry") == 1
    assert store.clear("retry") == 0


@pytest.mark.parametrize("where", ["queue:", "queues", "default", "queue", "Dead", ""])
def test_clearing_anything_else_is_the_same_clear_error_on_every_store(
    store: Store, jobs: JobMaker, where: str
) -> None:
    kept = jobs.push(1)
    with pytest.raises(ValueError, match="give 'queue:NAME', 'scheduled', 'retry' or 'dead'"):
        store.clear(where)
    assert [entry.jid for entry in store.list_queue("default")] == [kept]


def test_entries_show_the_class_to_people(store: Store, jobs: JobMaker) -> None:
    jobs.push(1, wrapped="app.jobs.Wrapped")
    [entry] = store.list_queue("default")
    assert isinstance(entry, JobEntry)
    assert entry.display_class == "app.jobs.Wrapped"
