"""Contract: heartbeats, leases and rescue. A process's claims live as long as its beats; when the beats
stop, any process gives its jobs back, and a job that keeps killing its process ends in the dead set.

Leases expire for real here (a short ``ttl`` and a sleep), because a Redis store keeps them as key TTLs.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from contract.support import JobMaker, beat, claim_all, jids, let_lease_lapse, raw_payload
from sidequest.job import WorkInfo
from sidequest.stores import open_store
from sidequest.stores.base import RescueResult, Store

DEAD = "contract-host:2001:deaddeaddead"
RESCUER = "contract-host:2002:aliveanddone"


def test_a_beat_publishes_the_process(store: Store) -> None:
    assert store.processes() == []
    beat(store, "host:1:one", quiet=True)
    beat(store, "host:2:two")
    listed = store.processes()
    assert [process.identity for process in listed] == ["host:1:one", "host:2:two"]
    one = listed[0]
    assert (one.hostname, one.concurrency, one.queues, one.quiet, one.tag) == (
        "contract-host",
        5,
        ["default"],
        True,
        "contract",
    )
    assert one.labels == ["a", "b"]
    assert one.beat == pytest.approx(time.time(), abs=5)
    assert store.counts().processes == 2


def test_a_beat_publishes_the_jobs_the_process_is_running(store: Store, jobs: JobMaker, owner: str) -> None:
    jobs.push_many(2)
    claimed = store.claim(["default"], 2, owner, 0)
    started = time.time()
    busy = [
        WorkInfo(owner, f"tid-{n}", job.queue, job.payload, job.raw, started) for n, job in enumerate(claimed)
    ]
    beat(store, owner, busy=busy)
    listed = sorted(store.busy(), key=lambda work: work.thread_id)
    assert [(work.identity, work.thread_id, work.queue) for work in listed] == [
        (owner, "tid-0", "default"),
        (owner, "tid-1", "default"),
    ]
    assert [work.payload for work in listed] == [job.payload for job in claimed]
    assert listed[0].run_at == pytest.approx(started, abs=1)
    assert store.counts().busy == 2
    assert store.processes()[0].busy == 2
    beat(store, owner, busy=[])
    assert store.busy() == []
    assert store.counts().busy == 0


def test_a_beat_adds_processed_and_failed_to_the_totals_and_to_today(store: Store) -> None:
    beat(store, "host:1:one", processed=5, failed=2)
    beat(store, "host:2:two", processed=3, failed=0)
    counts = store.counts()
    assert (counts.processed, counts.failed) == (8, 2)
    today = datetime.now(UTC).date()
    assert store.history(3, today) == [
        (today, 8, 2),
        (today - timedelta(days=1), 0, 0),
        (today - timedelta(days=2), 0, 0),
    ]


def test_a_process_whose_lease_expired_is_no_longer_listed(store: Store) -> None:
    let_lease_lapse(store, "host:1:gone")
    assert store.processes() == []
    assert store.counts().processes == 0


def test_unregister_removes_the_process(store: Store) -> None:
    beat(store, "host:1:one")
    beat(store, "host:2:two")
    store.unregister("host:1:one")
    assert [process.identity for process in store.processes()] == ["host:2:two"]


def test_signals_reach_the_process_at_its_next_beat_in_the_order_sent(store: Store) -> None:
    beat(store, "host:1:one")
    assert beat(store, "host:1:one") == []
    store.signal("host:1:one", "TSTP")
    store.signal("host:1:one", "TERM")
    store.signal("host:2:two", "TTIN")
    assert beat(store, "host:1:one") == ["TSTP", "TERM"]
    assert beat(store, "host:1:one") == []
    assert beat(store, "host:2:two") == ["TTIN"]


def test_jobs_of_a_process_whose_lease_expired_go_back_to_the_front_of_their_queue(
    store: Store, jobs: JobMaker
) -> None:
    pushed = jobs.push_many(3)
    beat(store, DEAD, ttl=0.3)  # a process beats before it claims
    orphans = store.claim(["default"], 2, DEAD, 0)
    time.sleep(0.45)
    waiting = jobs.push("waiting")
    assert store.rescue_orphans(time.time()) == RescueResult(requeued=2, killed=0)
    beat(store, RESCUER)
    again = claim_all(store, RESCUER)
    assert set(jids(again[:2])) == set(jids(orphans))
    assert jids(again)[2:] == [pushed[2], waiting]
    for job in again[:2]:
        assert job.payload is not None
        assert job.payload["orphan_count"] == 1
    assert store.rescue_orphans(time.time()) == RescueResult()


def test_jobs_of_a_live_process_are_left_alone(store: Store, jobs: JobMaker, owner: str) -> None:
    jobs.push_many(2)
    claimed = store.claim(["default"], 2, owner, 0)
    assert store.rescue_orphans(time.time()) == RescueResult(requeued=0, killed=0)
    assert store.ack(owner, claimed) == 2


def test_leases_are_judged_by_the_stores_clock_not_by_the_now_a_caller_passes(
    store: Store, jobs: JobMaker, owner: str
) -> None:
    jobs.push_many(2)
    claimed = store.claim(["default"], 2, owner, 0)
    # A caller whose clock runs an hour ahead (or passes a later time) rescues nothing of a live lease.
    assert store.rescue_orphans(time.time() + 3600) == RescueResult(requeued=0, killed=0)
    assert store.ack(owner, claimed) == 2


def test_rescue_with_nothing_to_do_does_nothing(store: Store) -> None:
    assert store.rescue_orphans(time.time()) == RescueResult(requeued=0, killed=0)


def test_a_job_acked_by_an_owner_that_lost_its_lease_stays_with_its_new_owner(
    store: Store, jobs: JobMaker
) -> None:
    jobs.push(1)
    beat(store, DEAD, ttl=0.3)
    [stale] = store.claim(["default"], 1, DEAD, 0)
    time.sleep(0.45)
    assert store.rescue_orphans(time.time()).requeued == 1
    beat(store, RESCUER)
    [fresh] = store.claim(["default"], 1, RESCUER, 0)
    assert fresh.jid == stale.jid
    assert store.ack(DEAD, [stale]) == 0
    assert store.retry(DEAD, stale, stale.payload or {}, time.time()) is False
    assert store.kill(DEAD, stale, None, time.time()) is False
    assert store.requeue(DEAD, [stale]) == 0
    assert store.counts().retry == store.counts().dead == 0
    assert store.ack(RESCUER, [fresh]) == 1


def test_a_process_that_got_its_job_back_cannot_finish_the_old_claim(store: Store, jobs: JobMaker) -> None:
    jobs.push(1)
    beat(store, DEAD, ttl=0.3)
    [first] = store.claim(["default"], 1, DEAD, 0)
    time.sleep(0.45)
    assert store.rescue_orphans(time.time()).requeued == 1
    beat(store, DEAD)  # it was only slow: it beats again and claims the same job again
    [second] = store.claim(["default"], 1, DEAD, 0)
    assert second.jid == first.jid
    assert store.ack(DEAD, [first]) == 0
    assert store.ack(DEAD, [second]) == 1


def test_a_job_orphaned_more_than_max_orphaned_times_goes_to_the_dead_set(
    store: Store, jobs: JobMaker
) -> None:
    jid = jobs.push(1)
    for crash in (1, 2, 3):
        crashed = f"host:{crash}:crashes"
        beat(store, crashed, ttl=0.3)
        [job] = store.claim(["default"], 1, crashed, 0)
        time.sleep(0.45)
        result = store.rescue_orphans(time.time(), max_orphaned=2)
        if crash <= 2:
            assert result == RescueResult(requeued=1, killed=0)
            assert job.payload is not None
            assert job.payload.get("orphan_count", 0) == crash - 1
        else:
            assert result == RescueResult(requeued=0, killed=1)
    assert store.counts().enqueued == 0
    [dead] = store.list_set("dead")
    assert dead.jid == jid
    assert dead.score == pytest.approx(time.time(), abs=5)
    payload = raw_payload(dead.raw)
    assert payload["error_class"] == "OrphanedJobError"
    assert "3" in payload["error_message"]
    assert payload["retry_count"] == 0
    assert payload["failed_at"] == pytest.approx(time.time(), abs=5)


def test_rescue_from_several_threads_gives_each_orphan_back_once(store: Store, jobs: JobMaker) -> None:
    jobs.push_many(40)
    beat(store, DEAD, ttl=0.3)
    orphans = claim_all(store, DEAD)
    time.sleep(0.45)
    rescuers = [open_store(store.url) for _ in range(4)]
    results: list[RescueResult] = []
    start = threading.Barrier(len(rescuers))

    def rescue(rescuer: Store) -> None:
        start.wait()
        results.append(rescuer.rescue_orphans(time.time()))

    threads = [threading.Thread(target=rescue, args=(rescuer,)) for rescuer in rescuers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for rescuer in rescuers:
        rescuer.close()
    assert sum(result.requeued for result in results) == len(orphans)
    beat(store, RESCUER)
    again = claim_all(store, RESCUER)
    assert sorted(map(str, jids(again))) == sorted(map(str, jids(orphans)))
    assert {job.payload["orphan_count"] for job in again if job.payload} == {1}
