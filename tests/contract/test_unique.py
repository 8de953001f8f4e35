"""Contract: unique-job locks. ``push_unique`` stores a job only while its key is free, lock and job
together; ``release_unique`` frees a lock only for the jid holding it; a lock also ends when its TTL
does (real time: a Redis lock is a key TTL, so a fake ``now`` would not do)."""

from __future__ import annotations

import threading
import time

from contract.support import JobMaker, claim_all, jids
from sidequest.job import NewJob
from sidequest.stores import open_store
from sidequest.stores.base import Store

KEY = "a" * 64
OTHER_KEY = "b" * 64


def unique_job(jobs: JobMaker, *args: object, at: float | None = None, queue: str = "default") -> NewJob:
    return NewJob(jobs.payload(*args, queue=queue, at=at, unique_for=60), at)


def test_a_unique_push_stores_the_job_and_a_second_one_is_refused_without_a_trace(
    store: Store, jobs: JobMaker, owner: str
) -> None:
    first, second = unique_job(jobs, 1), unique_job(jobs, 1)
    assert store.push_unique(first, KEY, 60) is True
    assert store.push_unique(second, KEY, 60) is False
    assert [(queue.name, queue.size) for queue in store.queues()] == [("default", 1)]
    assert jids(claim_all(store, owner)) == [first.payload["jid"]]


def test_a_held_lock_refuses_the_job_even_for_another_queue_or_a_later_time(
    store: Store, jobs: JobMaker
) -> None:
    # The store only compares keys; which jobs share one is the client's business (sidequest.unique).
    assert store.push_unique(unique_job(jobs, 1), KEY, 60)
    assert not store.push_unique(unique_job(jobs, 1, queue="mail"), KEY, 60)
    assert not store.push_unique(unique_job(jobs, 1, at=time.time() + 30), KEY, 60)
    assert [queue.name for queue in store.queues()] == ["default"]
    assert store.list_set("scheduled") == []


def test_locks_under_different_keys_are_independent(store: Store, jobs: JobMaker) -> None:
    assert store.push_unique(unique_job(jobs, 1), KEY, 60)
    assert store.push_unique(unique_job(jobs, 2), OTHER_KEY, 60)
    assert store.counts().enqueued == 2


def test_the_holder_releases_its_lock_and_the_key_is_free_again(store: Store, jobs: JobMaker) -> None:
    first = unique_job(jobs, 1)
    assert store.push_unique(first, KEY, 60)
    assert store.release_unique([(KEY, first.payload["jid"])]) == 1
    assert store.push_unique(unique_job(jobs, 1), KEY, 60)
    assert store.counts().enqueued == 2


def test_only_the_jid_holding_a_lock_can_release_it(store: Store, jobs: JobMaker) -> None:
    assert store.push_unique(unique_job(jobs, 1), KEY, 60)
    assert store.release_unique([(KEY, "0" * 24)]) == 0
    assert not store.push_unique(unique_job(jobs, 1), KEY, 60)


def test_releasing_nothing_or_a_free_key_does_nothing(store: Store, jobs: JobMaker) -> None:
    first = unique_job(jobs, 1)
    assert store.release_unique([]) == 0
    assert store.release_unique([(KEY, first.payload["jid"])]) == 0
    assert store.push_unique(first, KEY, 60)
    jid = first.payload["jid"]
    assert store.release_unique([(KEY, jid)]) == 1
    assert store.release_unique([(KEY, jid)]) == 0


def test_a_release_frees_a_batch_of_locks_in_one_call(store: Store, jobs: JobMaker) -> None:
    held = []
    for n in range(3):
        job = unique_job(jobs, n)
        assert store.push_unique(job, f"{n:064d}", 60)
        held.append((f"{n:064d}", str(job.payload["jid"])))
    held[1] = (held[1][0], "0" * 24)  # not its holder: left alone
    assert store.release_unique(held) == 2
    assert store.push_unique(unique_job(jobs, 0), held[0][0], 60)
    assert not store.push_unique(unique_job(jobs, 1), held[1][0], 60)
    assert store.push_unique(unique_job(jobs, 2), held[2][0], 60)


def test_a_lock_ends_with_its_ttl_and_a_later_holder_is_safe_from_the_first(
    store: Store, jobs: JobMaker
) -> None:
    first, second = unique_job(jobs, 1), unique_job(jobs, 1)
    assert store.push_unique(first, KEY, 0.3)
    assert not store.push_unique(unique_job(jobs, 1), KEY, 0.3)
    time.sleep(0.45)
    assert store.push_unique(second, KEY, 60)
    # The first job finishing late must not free the lock the second one took.
    assert store.release_unique([(KEY, first.payload["jid"])]) == 0
    assert not store.push_unique(unique_job(jobs, 1), KEY, 60)
    assert store.release_unique([(KEY, second.payload["jid"])]) == 1


def test_a_scheduled_unique_push_goes_to_the_scheduled_set(store: Store, jobs: JobMaker) -> None:
    due = time.time() + 30
    job = unique_job(jobs, 1, at=due)
    assert store.push_unique(job, KEY, 90)
    [entry] = store.list_set("scheduled")
    assert entry.jid == job.payload["jid"]
    assert entry.score is not None and abs(entry.score - due) < 0.001
    assert store.queues() == []
    assert not store.push_unique(unique_job(jobs, 1), KEY, 60)


def test_racing_unique_pushes_from_many_threads_store_exactly_one_job(
    store: Store, store_url: str, jobs: JobMaker
) -> None:
    # Half the threads share the fixture's store object, half open their own connections.
    stores = [store] * 4 + [open_store(store_url) for _ in range(4)]
    start = threading.Barrier(len(stores))
    won: list[bool] = []

    def push(each: Store) -> None:
        attempts = [unique_job(jobs, 1) for _ in range(10)]
        start.wait()
        won.extend(each.push_unique(job, KEY, 60) for job in attempts)

    threads = [threading.Thread(target=push, args=(each,)) for each in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for each in stores[4:]:
        each.close()
    assert won.count(True) == 1 and len(won) == 80
    assert store.counts().enqueued == 1
