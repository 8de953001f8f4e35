"""Where the stores once disagreed on a poison pill (a job whose processes keep dying), the contract now
says one thing, and every store does it: the same message, its own queue, and ``"dead": false`` drops it."""

from __future__ import annotations

import time

from contract.support import JobMaker, beat, raw_payload
from sidequest.stores.base import RescueResult, Store
from sidequest.stores.payloads import orphaned_message


def crash_while_running(store: Store, times: int, queue: str, max_orphaned: int) -> list[RescueResult]:
    """Claim the queue's job as a new owner that then dies (its lease lapses), ``times`` times."""
    results = []
    for crash in range(times):
        owner = f"host:{crash}:crashes"
        beat(store, owner, ttl=0.3)
        assert store.claim([queue], 1, owner, 0)
        time.sleep(0.45)
        results.append(store.rescue_orphans(time.time(), max_orphaned=max_orphaned))
    return results


def test_a_poison_pill_keeps_its_queue_and_gets_the_same_message_on_every_store(
    store: Store, jobs: JobMaker
) -> None:
    jid = jobs.push(1, queue="imports", retry_queue="imports_retry")
    assert crash_while_running(store, 3, "imports", max_orphaned=2)[-1] == RescueResult(killed=1)
    [dead] = store.list_set("dead")
    payload = raw_payload(dead.raw)
    assert (dead.jid, dead.queue, payload["queue"]) == (jid, "imports", "imports")
    assert payload["error_class"] == "OrphanedJobError"
    assert payload["error_message"] == orphaned_message(3, 2)
    assert payload["orphan_count"] == 3


def test_a_poison_pill_that_says_dead_false_is_dropped_on_every_store(store: Store, jobs: JobMaker) -> None:
    jobs.push(1, queue="imports", dead=False)
    assert crash_while_running(store, 2, "imports", max_orphaned=1)[-1] == RescueResult(killed=1)
    assert store.list_set("dead") == []
    assert store.counts().enqueued == 0 and store.counts().dead == 0
