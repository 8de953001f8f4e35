"""Contract: ``owned(owner)`` lists exactly the jobs the store records as held by ``owner``: what a
process looks up after a claim whose reply it lost, so no job sits under a live lease unseen."""

from __future__ import annotations

import time

from contract.conftest import OTHER
from contract.support import JobMaker, jids
from sidequest.stores.base import Store


def test_a_process_owns_what_it_claimed_and_nothing_of_another(
    store: Store, jobs: JobMaker, owner: str, other: str
) -> None:
    jobs.push_many(5)
    mine = store.claim(["default"], 3, owner, 0)
    theirs = store.claim(["default"], 2, other, 0)
    assert sorted(jids(store.owned(owner))) == sorted(jids(mine))
    assert sorted(jids(store.owned(OTHER))) == sorted(jids(theirs))
    assert store.owned("nobody:1:cccccccccccc") == []


def test_a_job_leaves_its_owner_when_acked_retried_killed_or_requeued(
    store: Store, jobs: JobMaker, owner: str
) -> None:
    jobs.push_many(5)
    acked, retried, killed, requeued, kept = store.claim(["default"], 5, owner, 0)
    assert store.ack(owner, [acked]) == 1
    assert retried.payload is not None and killed.payload is not None
    assert store.retry(owner, retried, retried.payload, time.time() + 60)
    assert store.kill(owner, killed, killed.payload, time.time())
    assert store.requeue(owner, [requeued]) == 1
    assert jids(store.owned(owner)) == [kept.jid]


def test_owned_jobs_can_be_given_back_and_claimed_again(store: Store, jobs: JobMaker, owner: str) -> None:
    pushed = jobs.push_many(2)
    store.claim(["default"], 2, owner, 0)
    held = store.owned(owner)  # a claim whose reply was lost: the process never saw these
    assert store.requeue(owner, held) == 2
    assert store.owned(owner) == []
    assert sorted(jids(store.claim(["default"], 2, owner, 0))) == sorted(pushed)
