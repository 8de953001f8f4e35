"""Contract: periodic ticks. A tick offered any number of times, from any number of threads or
stores, pushes exactly one job; a paused entry pushes none; the store reports each entry's latest
enqueue. Runs on every store."""

from __future__ import annotations

import threading

import pytest

from contract.support import JobMaker
from sidequest.job import NewJob, Payload
from sidequest.stores import open_store
from sidequest.stores.base import CRON_TICK_MEMORY, CronState, Store

TICK = 1_800_000_000  # 2027-01-15T08:00:00Z


def cron_job(jobs: JobMaker, queue: str = "default") -> Payload:
    """A payload as the cron service builds it: no arguments, the entry named in the payload."""
    return {**jobs.payload(queue=queue), "cron": "nightly", "cron_at": float(TICK)}


def test_a_tick_offered_twice_pushes_one_job(store: Store, jobs: JobMaker) -> None:
    first, second = cron_job(jobs), cron_job(jobs)

    assert store.enqueue_tick("nightly", TICK, NewJob(first)) is True
    assert store.enqueue_tick("nightly", TICK, NewJob(second)) is False

    [entry] = store.list_queue("default")
    assert entry.payload == first


def test_the_next_tick_and_another_entry_are_keys_of_their_own(store: Store, jobs: JobMaker) -> None:
    assert store.enqueue_tick("nightly", TICK, NewJob(cron_job(jobs)))
    assert store.enqueue_tick("nightly", TICK + 60, NewJob(cron_job(jobs)))
    assert store.enqueue_tick("hourly", TICK, NewJob(cron_job(jobs)))

    assert len(store.list_queue("default")) == 3


def test_the_job_goes_to_the_back_of_its_queue_and_the_queue_is_listed(store: Store, jobs: JobMaker) -> None:
    waiting = jobs.push("already-waiting", queue="low")

    store.enqueue_tick("nightly", TICK, NewJob(cron_job(jobs, queue="low")))

    assert [entry.payload["args"] if entry.payload else None for entry in store.list_queue("low")] == [
        ["already-waiting"],
        [],
    ]
    assert store.list_queue("low")[0].jid == waiting
    assert "low" in [queue.name for queue in store.queues()]


def test_the_tick_job_is_claimed_like_any_other(store: Store, jobs: JobMaker, owner: str) -> None:
    payload = cron_job(jobs)
    store.enqueue_tick("nightly", TICK, NewJob(payload))

    [claimed] = store.claim(["default"], 10, owner, 1.0)

    assert claimed.payload == payload
    assert store.ack(owner, [claimed]) == 1


def test_the_store_reports_the_latest_enqueue_of_each_entry(store: Store, jobs: JobMaker) -> None:
    later = cron_job(jobs)
    store.enqueue_tick("nightly", TICK + 60, NewJob(later))
    store.enqueue_tick("nightly", TICK, NewJob(cron_job(jobs)))  # an older tick, enqueued late

    state = store.cron_state(["nightly", "never-ran"])

    assert state["never-ran"] == CronState("never-ran")
    nightly = state["nightly"]
    assert (nightly.last_tick, nightly.last_jid, nightly.paused) == (TICK + 60, later["jid"], False)
    assert nightly.enqueued_at is not None and nightly.enqueued_at > TICK - 10**9
    assert store.cron_state([]) == {}


def test_a_paused_entry_pushes_nothing_until_it_is_resumed(store: Store, jobs: JobMaker) -> None:
    store.pause_cron("nightly", True)
    store.pause_cron("nightly", True)  # idempotent

    assert store.enqueue_tick("nightly", TICK, NewJob(cron_job(jobs))) is False
    assert store.list_queue("default") == []
    assert store.cron_state(["nightly"])["nightly"] == CronState("nightly", paused=True)

    store.pause_cron("nightly", False)

    assert store.enqueue_tick("nightly", TICK, NewJob(cron_job(jobs))) is True
    assert store.cron_state(["nightly"])["nightly"].paused is False


def test_pausing_one_entry_leaves_the_others_running(store: Store, jobs: JobMaker) -> None:
    store.pause_cron("nightly", True)

    assert store.enqueue_tick("hourly", TICK, NewJob(cron_job(jobs))) is True


def test_twenty_racing_offers_of_one_tick_from_separate_connections_push_exactly_one_job(
    store: Store, store_url: str, jobs: JobMaker
) -> None:
    stores = [open_store(store_url) for _ in range(4)]
    payloads = [cron_job(jobs) for _ in range(20)]
    results: list[bool] = []
    start = threading.Barrier(len(payloads))

    def offer(index: int) -> None:
        start.wait()
        results.append(stores[index % len(stores)].enqueue_tick("nightly", TICK, NewJob(payloads[index])))

    threads = [threading.Thread(target=offer, args=(index,)) for index in range(len(payloads))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for each in stores:
        each.close()

    assert sorted(results) == [False] * 19 + [True]
    [entry] = store.list_queue("default")
    assert store.cron_state(["nightly"])["nightly"].last_jid == entry.jid


def test_a_scheduled_job_is_not_a_tick(store: Store, jobs: JobMaker) -> None:
    with pytest.raises(ValueError, match=r"job.at must be None"):
        store.enqueue_tick("nightly", TICK, NewJob(cron_job(jobs), at=TICK + 60))


def test_a_tick_older_than_the_latest_by_the_stores_memory_is_refused(store: Store, jobs: JobMaker) -> None:
    store.enqueue_tick("nightly", TICK, NewJob(cron_job(jobs)))

    too_old = TICK - int(CRON_TICK_MEMORY)

    assert store.enqueue_tick("nightly", too_old, NewJob(cron_job(jobs))) is False
    assert store.enqueue_tick("nightly", too_old + 1, NewJob(cron_job(jobs))) is True
