"""Scenarios: reliable fetch on Redis. Claims wait without spinning and wake within a millisecond or so,
every job waiting or claimed is somewhere a rescuer can find it, and big queues and schedules do not
slow the hot paths down."""

from __future__ import annotations

import threading
import time

from redis.client import Redis
from redis_helpers import OWNER, beat

from sidequest.client import Client
from sidequest.job import Claimed, NewJob
from sidequest.stores.redis import RedisStore

Result = list[tuple[list[Claimed], float]]


def claim_in_background(
    store: RedisStore, queues: list[str], timeout: float
) -> tuple[threading.Thread, Result]:
    """Start a claim in a thread; the list receives (jobs, monotonic time it returned)."""
    result: Result = []

    def claim() -> None:
        jobs = store.claim(queues, 10, OWNER, timeout)
        result.append((jobs, time.monotonic()))

    thread = threading.Thread(target=claim)
    thread.start()
    return thread, result


def test_a_waiting_claim_on_one_queue_gets_a_new_job_within_milliseconds(
    store: RedisStore, client: Client
) -> None:
    beat(store)
    delays = []
    for number in range(5):
        thread, result = claim_in_background(store, ["default"], 5.0)
        time.sleep(0.05)
        pushed_at = time.monotonic()
        client.push({"class": "HardJob", "args": [number]})
        thread.join()
        [(jobs, returned_at)] = result
        assert len(jobs) == 1
        delays.append(returned_at - pushed_at)
        store.ack(OWNER, jobs)
    assert sorted(delays)[2] < 0.02  # median; ~1 ms on an idle machine


def test_a_waiting_claim_on_several_queues_gets_a_job_on_any_of_them(
    store: RedisStore, client: Client
) -> None:
    beat(store)
    for queue, bound in (("critical", 0.05), ("low", 0.5)):  # first queue: BLMOVE; others: ~100 ms polls
        thread, result = claim_in_background(store, ["critical", "default", "low"], 5.0)
        time.sleep(0.15)
        pushed_at = time.monotonic()
        client.push({"class": "HardJob", "args": [queue], "queue": queue})
        thread.join()
        [(jobs, returned_at)] = result
        assert [job.queue for job in jobs] == [queue]
        assert returned_at - pushed_at < bound
        store.ack(OWNER, jobs)


def test_while_a_claim_waits_its_in_flight_list_is_already_registered(store: RedisStore, raw: Redis) -> None:
    beat(store)
    thread, result = claim_in_background(store, ["default"], 0.5)
    time.sleep(0.1)
    # A job BLMOVE delivers lands in a list the rescuers already know, even if this process then dies.
    assert raw.smembers("sq|inflight") == {f"queue:sq|{OWNER}|default"}
    thread.join()
    assert result[0][0] == []


def test_closing_the_store_wakes_a_waiting_claim_with_nothing(store: RedisStore) -> None:
    beat(store)
    thread, result = claim_in_background(store, ["default"], 5.0)
    time.sleep(0.1)
    closed_at = time.monotonic()
    store.close()
    thread.join()
    [(jobs, returned_at)] = result
    assert jobs == [] and returned_at - closed_at < 0.5


def test_owned_lists_every_job_an_owner_holds_so_a_lost_claim_reply_can_be_reconciled(
    store: RedisStore, client: Client
) -> None:
    beat(store)
    client.push_bulk({"class": "HardJob", "args": [[1], [2], [3]]})
    client.push({"class": "HardJob", "args": [4], "queue": "low"})
    claimed = store.claim(["low", "default"], 10, OWNER, 0)
    assert store.owned(OWNER) == [*claimed[1:], claimed[0]]  # by queue name, oldest claim first
    assert store.owned("someone:else:000000000000") == []
    assert store.requeue(OWNER, store.owned(OWNER)[:3]) == 3
    assert store.owned(OWNER) == claimed[:1]


def test_hot_paths_stay_fast_with_a_huge_queue_and_schedule(store: RedisStore, client: Client) -> None:
    beat(store)
    template = client.build_payload("HardJob", [0], {}, None)
    assert template is not None
    now = time.time()
    for _ in range(100):  # 300,000 waiting jobs, 50,000 scheduled in the future, 500 due
        store.push([NewJob(template)] * 3000)
    for start in range(0, 50_000, 5000):
        store.push(
            [NewJob({**template, "jid": f"{n:024x}"}, now + 3600 + n) for n in range(start, start + 5000)]
        )
    store.push([NewJob({**template, "jid": f"due{n:021x}"}, now - 1) for n in range(500)])

    started = time.perf_counter()
    for _ in range(50):
        store.ack(OWNER, store.claim(["default"], 100, OWNER, 0))
    claim_ack = (time.perf_counter() - started) / 50
    started = time.perf_counter()
    assert store.promote_due(time.time()) == 500
    promote = time.perf_counter() - started
    started = time.perf_counter()
    assert store.promote_due(time.time()) == 0
    idle_promote = time.perf_counter() - started
    # Generous bounds (a loaded CI machine); O(n) operations would take seconds here.
    assert claim_ack < 0.02 and promote < 0.2 and idle_promote < 0.02
