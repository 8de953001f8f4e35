"""Contract: a paused queue (Sidekiq Pro's ``Queue#pause!``) is listed as paused, takes new jobs, and gives
none to a claim until it is resumed."""

from __future__ import annotations

import threading
import time

from contract.support import JobMaker, claim_all, jids
from sidequest.job import Claimed
from sidequest.stores.base import Store


def test_a_paused_queue_is_listed_as_paused_and_not_claimed_from(
    store: Store, jobs: JobMaker, owner: str
) -> None:
    waiting = jobs.push_many(3, queue="mail")
    other = jobs.push(1, queue="default")
    store.pause_queue("mail", True)

    listed = {queue.name: queue for queue in store.queues()}
    assert listed["mail"].paused and listed["mail"].size == 3
    assert not listed["default"].paused
    assert jids(claim_all(store, owner, ["mail", "default"])) == [other]
    assert store.claim(["mail"], 10, owner, 0) == []
    assert [entry.jid for entry in store.list_queue("mail")] == waiting


def test_pushing_into_a_paused_queue_works_and_resume_makes_it_claimable(
    store: Store, jobs: JobMaker, owner: str
) -> None:
    store.pause_queue("mail", True)
    store.pause_queue("mail", True)  # idempotent
    pushed = jobs.push_many(2, queue="mail")
    [queue] = store.queues()
    assert (queue.name, queue.size, queue.paused) == ("mail", 2, True)
    assert store.claim(["mail"], 10, owner, 0.2) == []

    store.pause_queue("mail", False)
    store.pause_queue("mail", False)  # idempotent
    [queue] = store.queues()
    assert not queue.paused
    assert jids(claim_all(store, owner, ["mail"])) == pushed


def test_a_claim_waiting_on_a_paused_queue_wakes_after_resume(
    store: Store, jobs: JobMaker, owner: str
) -> None:
    store.pause_queue("mail", True)
    pushed = jobs.push(1, queue="mail")
    got: list[Claimed] = []
    waiter = threading.Thread(target=lambda: got.extend(store.claim(["mail"], 1, owner, 15)))
    waiter.start()
    time.sleep(0.5)
    assert got == []  # still waiting: the job is there, but the queue is paused
    store.pause_queue("mail", False)
    waiter.join(20)
    assert jids(got) == [pushed]


def test_a_job_pushed_while_a_claim_waits_on_a_queue_paused_meanwhile_stays_queued(
    store: Store, jobs: JobMaker, owner: str
) -> None:
    got: list[Claimed] = []
    waiter = threading.Thread(target=lambda: got.extend(store.claim(["mail"], 1, owner, 1.5)))
    waiter.start()
    time.sleep(0.3)  # the claim now waits on an empty queue (on Redis: blocked in BLMOVE)
    store.pause_queue("mail", True)
    pushed = jobs.push(1, queue="mail")
    waiter.join(10)
    assert got == []
    assert [entry.jid for entry in store.list_queue("mail")] == [pushed]
    assert store.owned(owner) == []


def test_the_pause_outlives_clearing_the_queue_and_the_queue_stays_listed(
    store: Store, jobs: JobMaker, owner: str
) -> None:
    jobs.push_many(2, queue="mail")
    store.pause_queue("mail", True)
    assert store.clear("queue:mail") == 2
    [queue] = store.queues()
    assert (queue.name, queue.size, queue.paused) == ("mail", 0, True)
    pushed = jobs.push(1, queue="mail")
    assert store.claim(["mail"], 10, owner, 0) == []
    store.pause_queue("mail", False)
    assert jids(claim_all(store, owner, ["mail"])) == [pushed]
