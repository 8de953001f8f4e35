"""Contract: how a claimed job leaves its owner - ack, retry, kill, requeue - and only while it is held."""

from __future__ import annotations

import time

import pytest

from contract.support import JobMaker, claim_all, jids, raw_payload
from sidequest.retry import DEAD_MAX_JOBS, DEAD_TIMEOUT_SECONDS, record_failure
from sidequest.stores.base import Store


def test_ack_removes_finished_jobs_and_counts_them(store: Store, jobs: JobMaker, owner: str) -> None:
    jobs.push_many(3)
    claimed = store.claim(["default"], 3, owner, 0)
    assert store.ack(owner, claimed) == 3
    assert store.counts().enqueued == 0
    assert store.claim(["default"], 3, owner, 0) == []
    assert store.list_queue("default") == []


def test_ack_of_nothing_removes_nothing(store: Store, jobs: JobMaker, owner: str) -> None:
    jobs.push(1)
    assert store.ack(owner, []) == 0
    assert store.counts().enqueued == 1


def test_a_job_acked_twice_is_removed_once(store: Store, jobs: JobMaker, owner: str) -> None:
    jobs.push_many(2)
    claimed = store.claim(["default"], 2, owner, 0)
    assert store.ack(owner, claimed[:1]) == 1
    assert store.ack(owner, claimed) == 1


def test_an_owner_cannot_finish_a_job_another_owner_holds(
    store: Store, jobs: JobMaker, owner: str, other: str
) -> None:
    jobs.push(1)
    [job] = store.claim(["default"], 1, owner, 0)
    now = time.time()
    failed = record_failure(job.payload or {}, RuntimeError("boom"), now)
    assert store.ack(other, [job]) == 0
    assert store.retry(other, job, failed, now + 30) is False
    assert store.kill(other, job, failed, now) is False
    assert store.requeue(other, [job]) == 0
    counts = store.counts()
    assert (counts.enqueued, counts.retry, counts.dead) == (0, 0, 0)
    assert store.ack(owner, [job]) == 1


def test_retry_moves_a_job_to_the_retry_set_with_its_failure_fields(
    store: Store, jobs: JobMaker, owner: str
) -> None:
    jobs.push(1)
    [job] = store.claim(["default"], 1, owner, 0)
    assert job.payload is not None
    now = time.time()
    failed = record_failure(job.payload, RuntimeError("boom"), now)
    assert store.retry(owner, job, failed, now + 30) is True
    [entry] = store.list_set("retry")
    assert entry.payload == failed
    assert entry.payload["error_message"] == "boom"
    assert entry.score == pytest.approx(now + 30)
    assert entry.queue == "default"
    assert store.counts().retry == 1
    assert store.ack(owner, [job]) == 0  # no longer held
    assert store.retry(owner, job, failed, now + 30) is False


def test_a_retried_job_returns_to_its_retry_queue_when_due(store: Store, jobs: JobMaker, owner: str) -> None:
    jobs.push(1, retry_queue="slow-lane")
    [job] = store.claim(["default"], 1, owner, 0)
    assert job.payload is not None
    now = time.time()
    failed = record_failure(job.payload, RuntimeError("boom"), now)
    assert store.retry(owner, job, failed, now - 1)
    assert store.promote_due(time.time()) == 1
    [again] = store.claim(["slow-lane"], 1, owner, 0)
    assert again.jid == job.jid
    assert again.payload is not None
    assert again.payload["retry_count"] == 0
    assert again.payload["enqueued_at"] >= now


def test_kill_moves_a_job_to_the_dead_set_at_the_given_time(store: Store, jobs: JobMaker, owner: str) -> None:
    jobs.push(1)
    [job] = store.claim(["default"], 1, owner, 0)
    assert job.payload is not None
    now = time.time()
    failed = record_failure(job.payload, ValueError("bad input"), now)
    assert store.kill(owner, job, failed, now) is True
    [entry] = store.list_set("dead")
    assert entry.payload == failed
    assert entry.score == pytest.approx(now)
    assert store.counts().dead == 1
    assert store.kill(owner, job, failed, now) is False
    assert store.counts().dead == 1


def test_kill_without_a_payload_keeps_the_stored_text(store: Store, jobs: JobMaker, owner: str) -> None:
    jobs.push(1)
    [job] = store.claim(["default"], 1, owner, 0)
    assert store.kill(owner, job, None, time.time())
    [entry] = store.list_set("dead")
    assert raw_payload(entry.raw) == raw_payload(job.raw)


def test_requeued_jobs_run_before_older_jobs(store: Store, jobs: JobMaker, owner: str) -> None:
    pushed = jobs.push_many(4)
    claimed = store.claim(["default"], 2, owner, 0)
    later = jobs.push(99)
    assert store.requeue(owner, claimed) == 2
    order = jids(claim_all(store, owner))
    assert set(order[:2]) == set(pushed[:2])
    assert order[2:] == [*pushed[2:], later]


def test_a_requeued_job_keeps_its_payload_and_spends_no_retry(
    store: Store, jobs: JobMaker, owner: str
) -> None:
    jobs.push(1)
    [job] = store.claim(["default"], 1, owner, 0)
    assert store.requeue(owner, [job]) == 1
    [again] = store.claim(["default"], 1, owner, 0)
    assert raw_payload(again.raw) == raw_payload(job.raw)
    assert "retry_count" not in raw_payload(again.raw)
    assert store.counts().retry == 0


def test_requeue_of_nothing_and_of_finished_jobs_moves_nothing(
    store: Store, jobs: JobMaker, owner: str
) -> None:
    jobs.push(1)
    [job] = store.claim(["default"], 1, owner, 0)
    assert store.requeue(owner, []) == 0
    assert store.ack(owner, [job]) == 1
    assert store.requeue(owner, [job]) == 0
    assert store.claim(["default"], 1, owner, 0) == []


def test_the_dead_set_keeps_the_newest_10000(store: Store, jobs: JobMaker, owner: str) -> None:
    now = time.time()
    # 10,000 dead jobs the fast way: one push to the scheduled set, then two admin kills.
    jobs.schedule_many(DEAD_MAX_JOBS, at=now + 3600)
    scheduled = store.list_set("scheduled", 0, DEAD_MAX_JOBS)
    assert len(scheduled) == DEAD_MAX_JOBS
    oldest, rest = scheduled[0], scheduled[1:]
    assert store.kill_entries([oldest], now - 60) == 1
    assert store.kill_entries(rest, now - 30) == DEAD_MAX_JOBS - 1
    newest = jobs.push("newest")
    [job] = store.claim(["default"], 1, owner, 0)
    assert store.kill(owner, job, None, now)
    assert store.counts().dead == DEAD_MAX_JOBS
    assert store.list_set("dead", 0, 1)[0].jid == newest
    remaining = {entry.jid for entry in store.list_set("dead", 0, DEAD_MAX_JOBS + 10)}
    assert len(remaining) == DEAD_MAX_JOBS
    assert oldest.jid not in remaining


def test_the_dead_set_forgets_jobs_older_than_180_days(store: Store, jobs: JobMaker, owner: str) -> None:
    jobs.push_many(2)
    old, new = store.claim(["default"], 2, owner, 0)
    now = time.time()
    store.kill(owner, old, None, now - DEAD_TIMEOUT_SECONDS - 60)
    assert store.kill(owner, new, None, now)
    assert [entry.jid for entry in store.list_set("dead")] == [new.jid]
