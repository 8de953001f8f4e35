"""Contract: job records (an iterable job's saved progress, Sidekiq 7.3's ``it-<jid>``), cancel and the
expired counter. A waiting job that is cancelled is gone; a running one keeps running, flagged; the
flag is set even when the store has no such job, so a job claimed in that race still sees it."""

from __future__ import annotations

import threading
import time

from contract.support import JobMaker, claim_all, jids
from sidequest.stores.base import Store

TTL = 60.0


def test_a_saved_record_reads_back_and_a_new_save_replaces_the_progress(store: Store) -> None:
    assert store.job_state("nosuchjid") is None
    store.save_job_state("j1", '{"id":41}', 1, 0.5, TTL)
    store.save_job_state("j1", '{"id":42}', 2, 1.25, TTL)
    state = store.job_state("j1")
    assert state is not None
    assert (state.cursor, state.executions, state.runtime, state.cancelled_at) == ('{"id":42}', 2, 1.25, None)
    store.clear_job_state("j1")
    assert store.job_state("j1") is None
    store.clear_job_state("j1")  # idempotent


def test_a_record_is_forgotten_after_its_ttl(store: Store) -> None:
    store.save_job_state("short", "1", 1, 0.0, 1.0)
    assert store.job_state("short") is not None
    time.sleep(2.1)
    assert store.job_state("short") is None


def test_a_cancelled_waiting_job_is_removed_from_its_queue_and_never_claimed(
    store: Store, jobs: JobMaker, owner: str
) -> None:
    before, target, after = jobs.push(1), jobs.push(2), jobs.push(3)
    result = store.cancel(target, time.time(), TTL)
    assert result.state == "removed"
    assert result.payload is not None and result.payload["jid"] == target
    assert jids(claim_all(store, owner)) == [before, after]
    assert store.job_state(target) is None  # a removed job has nothing left to flag


def test_cancel_removes_scheduled_and_retry_jobs_too(store: Store, jobs: JobMaker, owner: str) -> None:
    scheduled = jobs.schedule(time.time() + 3600, "later")
    assert store.cancel(scheduled, time.time(), TTL).state == "removed"
    assert store.list_set("scheduled") == []
    failing = jobs.push("fails")
    (claimed,) = claim_all(store, owner)
    assert claimed.payload is not None
    assert store.retry(owner, claimed, {**claimed.payload, "retry_count": 0}, time.time() + 3600)
    assert store.cancel(failing, time.time(), TTL).state == "removed"
    assert store.list_set("retry") == []


def test_a_running_job_is_flagged_not_removed_and_its_flag_keeps_the_first_time(
    store: Store, jobs: JobMaker, owner: str
) -> None:
    jid = jobs.push("long")
    (claimed,) = claim_all(store, owner)
    first = time.time() - 10
    assert store.cancel(jid, first, TTL).state == "flagged"
    assert store.cancel(jid, time.time(), TTL).state == "flagged"
    state = store.job_state(jid)
    assert state is not None and state.cancelled_at is not None
    assert abs(state.cancelled_at - first) < 1.0
    assert store.ack(owner, [claimed]) == 1  # the job itself is untouched: its owner still finishes it


def test_a_flag_survives_a_progress_save_and_a_save_survives_a_flag(store: Store) -> None:
    store.save_job_state("iter", '"a"', 1, 1.0, TTL)
    assert store.cancel("iter", time.time(), TTL).state == "not_found"
    store.save_job_state("iter", '"b"', 2, 2.0, TTL)
    state = store.job_state("iter")
    assert state is not None
    assert (state.cursor, state.executions) == ('"b"', 2)
    assert state.cancelled_at is not None


def test_cancelling_an_unknown_jid_says_not_found_and_leaves_other_jobs_alone(
    store: Store, jobs: JobMaker, owner: str
) -> None:
    kept = jobs.push(1)
    prefix = kept[:-1]  # a jid that is a prefix of another must not match it
    assert store.cancel(prefix, time.time(), TTL).state == "not_found"
    assert jids(claim_all(store, owner)) == [kept]


def test_dead_jobs_are_left_alone(store: Store, jobs: JobMaker, owner: str) -> None:
    jid = jobs.push("doomed")
    (claimed,) = claim_all(store, owner)
    assert store.kill(owner, claimed, claimed.payload, time.time())
    assert store.cancel(jid, time.time(), TTL).state == "not_found"
    assert [entry.jid for entry in store.list_set("dead")] == [jid]


def test_racing_cancels_and_claims_never_leave_a_job_both_removed_and_running(
    store: Store, jobs: JobMaker, owner: str
) -> None:
    pushed = jobs.push_many(200)
    results: dict[str, str] = {}
    claimed: list[str | None] = []

    def cancel_all() -> None:
        for jid in pushed:
            results[jid] = store.cancel(jid, time.time(), TTL).state

    def claim() -> None:
        while len(claimed) + sum(1 for state in results.values() if state == "removed") < len(pushed):
            got = store.claim(["default"], 5, owner, 0.05)
            claimed.extend(jids(got))
            if not got and len(results) == len(pushed):
                return

    threads = [threading.Thread(target=cancel_all), threading.Thread(target=claim)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    removed = {jid for jid, state in results.items() if state == "removed"}
    assert removed.isdisjoint(claimed)
    assert removed | set(claimed) == set(pushed)
    for jid in set(claimed):
        state = store.job_state(jid)
        assert state is not None and state.cancelled_at is not None  # every claimed one is flagged


def test_the_expired_counter_adds_up(store: Store) -> None:
    assert store.expired_count() == 0
    store.add_expired(0)
    store.add_expired(2)
    store.add_expired(3)
    assert store.expired_count() == 5
