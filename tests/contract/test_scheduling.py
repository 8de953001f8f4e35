"""Contract: scheduled and retry jobs become enqueued when due, each exactly once, from any process."""

from __future__ import annotations

import threading
import time

import pytest

from contract.support import JobMaker, claim_all, jids, raw_payload
from sidequest.job import NewJob
from sidequest.retry import record_failure
from sidequest.stores import open_store
from sidequest.stores.base import Store


def test_due_jobs_go_to_the_back_of_their_queues(store: Store, jobs: JobMaker, owner: str) -> None:
    now = time.time()
    waiting = jobs.push("already waiting")
    later = jobs.schedule(now - 5, "due later")
    sooner = jobs.schedule(now - 10, "due sooner")
    assert store.promote_due(now) == 2
    assert store.counts().scheduled == 0
    assert jids(claim_all(store, owner)) == [waiting, sooner, later]


def test_a_promoted_job_gets_enqueued_at_and_keeps_every_other_field(
    store: Store, jobs: JobMaker, owner: str
) -> None:
    now = time.time()
    scheduled = jobs.payload("x", {"y": [1, 2]}, at=now - 1, custom={"kept": True}, retry=3)
    store.push([NewJob(scheduled, now - 1)])
    promoted_at = now + 0.5
    assert store.promote_due(promoted_at) == 1
    [job] = store.claim(["default"], 1, owner, 0)
    assert job.payload is not None
    enqueued_at = job.payload.pop("enqueued_at")
    assert job.payload == scheduled
    assert enqueued_at == pytest.approx(promoted_at, abs=0.001)
    assert isinstance(raw_payload(job.raw)["enqueued_at"], float)  # Sidekiq 8 reads an int as ms


def test_jobs_not_yet_due_stay_scheduled(store: Store, jobs: JobMaker, owner: str) -> None:
    now = time.time()
    future = jobs.schedule(now + 3600, "later")
    assert store.promote_due(now) == 0
    assert store.claim(["default"], 1, owner, 0) == []
    assert [entry.jid for entry in store.list_set("scheduled")] == [future]


def test_a_job_due_exactly_now_is_promoted(store: Store, jobs: JobMaker) -> None:
    now = time.time()
    jobs.schedule(now, 1)
    assert store.promote_due(now) == 1


def test_promote_due_moves_at_most_limit_jobs_soonest_first(store: Store, jobs: JobMaker, owner: str) -> None:
    now = time.time()
    due = [jobs.schedule(now - 100 + second, second) for second in range(5)]
    assert store.promote_due(now, limit=3) == 3
    assert jids(claim_all(store, owner)) == due[:3]
    assert store.promote_due(now, limit=3) == 2
    assert store.promote_due(now, limit=3) == 0


def test_promote_due_registers_the_queue_and_wakes_a_waiting_claim(
    store: Store, jobs: JobMaker, owner: str
) -> None:
    jid = jobs.schedule(time.time() - 1, 1, queue="reports")
    assert store.queues() == []
    promoter = threading.Timer(0.2, store.promote_due, args=(time.time(),))
    started = time.monotonic()
    promoter.start()
    try:
        claimed = store.claim(["reports"], 1, owner, 5.0)
    finally:
        promoter.join()
    assert jids(claimed) == [jid]
    assert time.monotonic() - started < 1.5
    assert [queue.name for queue in store.queues()] == ["reports"]


def test_due_retries_are_promoted_with_scheduled_jobs(store: Store, jobs: JobMaker, owner: str) -> None:
    now = time.time()
    jobs.push(1)
    [job] = store.claim(["default"], 1, owner, 0)
    assert job.payload is not None
    assert store.retry(owner, job, record_failure(job.payload, RuntimeError("boom"), now), now - 1)
    scheduled = jobs.schedule(now - 2, 2)
    assert store.promote_due(now) == 2
    assert jids(claim_all(store, owner)) == [scheduled, job.jid]
    assert store.counts().retry == 0


def test_promote_due_from_eight_threads_moves_each_due_job_exactly_once(
    store: Store, jobs: JobMaker, owner: str
) -> None:
    due = jobs.schedule_many(300, at=time.time() - 1)
    promoters = [open_store(store.url) for _ in range(8)]
    moved: list[int] = []
    start = threading.Barrier(len(promoters))

    def promote(promoter: Store) -> None:
        start.wait()
        while count := promoter.promote_due(time.time(), limit=20):
            moved.append(count)

    threads = [threading.Thread(target=promote, args=(promoter,)) for promoter in promoters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for promoter in promoters:
        promoter.close()
    assert sum(moved) == len(due)
    claimed = jids(claim_all(store, owner))
    assert sorted(map(str, claimed)) == sorted(due)
