"""Scenarios: another application writes a key sidequest uses with another type (``SET dead x``).

Redis does not roll back a script or a MULTI that fails half way, so each operation that would move a
job into such a key must check first: the job stays where it was, the error is StoreDataError naming the
key (not "unreachable"), and once the key is fixed the same operation succeeds. Operations over several
queues (claim, promotion, rescue, requeue) skip the bad key, log it, and serve the others.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime

import pytest
from redis.client import Redis
from redis_helpers import OWNER, beat, push_raw

from sidequest.client import Client
from sidequest.errors import StoreDataError
from sidequest.job import Claimed, NewJob
from sidequest.retry import record_failure
from sidequest.stores.redis import RedisStore, keys

INFLIGHT = keys.inflight(OWNER, "default")


def names_key(raised: pytest.ExceptionInfo[StoreDataError], key: str) -> str:
    """The error's message, after checking it names ``key`` and says what to do."""
    message = str(raised.value)
    assert f"Redis key {key!r} holds" in message, message
    assert "Rename or delete that key" in message and "unreachable" not in message
    return message


def claim_one(store: RedisStore, client: Client, queue: str = "default") -> Claimed:
    client.push({"class": "HardJob", "args": [1], "queue": queue})
    beat(store)
    [job] = store.claim([queue], 1, OWNER, 0)
    return job


def job(queue: str = "default", jid: str = "0123456789abcdef01234567") -> dict[str, object]:
    return {"class": "HardJob", "args": [1], "jid": jid, "queue": queue, "created_at": 1.0, "retry": True}


# -- finishing a job: its destination is wrong -------------------------------------------------------


def test_a_job_that_dies_while_dead_is_a_string_stays_in_flight_until_dead_is_fixed(
    store: RedisStore, raw: Redis, client: Client
) -> None:
    claimed = claim_one(store, client)
    raw.set("dead", "x")
    failed = record_failure(claimed.payload or {}, ValueError("boom"), time.time())
    with pytest.raises(StoreDataError) as raised:
        store.kill(OWNER, claimed, failed, time.time())
    message = names_key(raised, "dead")
    assert "holds a string, where sidequest and Sidekiq keep a sorted set" in message
    assert "the job stays where it was" in message
    assert raw.lrange(INFLIGHT, 0, -1) == [claimed.raw] and raw.get("dead") == "x"
    raw.delete("dead")
    assert store.kill(OWNER, claimed, failed, time.time())
    assert raw.llen(INFLIGHT) == 0 and raw.zcard("dead") == 1


def test_a_job_that_fails_while_retry_is_a_list_stays_in_flight_until_retry_is_fixed(
    store: RedisStore, raw: Redis, client: Client
) -> None:
    claimed = claim_one(store, client)
    raw.rpush("retry", "x")
    failed = record_failure(claimed.payload or {}, ValueError("boom"), time.time())
    with pytest.raises(StoreDataError) as raised:
        store.retry(OWNER, claimed, failed, time.time() + 60)
    names_key(raised, "retry")
    assert raw.lrange(INFLIGHT, 0, -1) == [claimed.raw]
    raw.delete("retry")
    assert store.retry(OWNER, claimed, failed, time.time() + 60)
    assert raw.zcard("retry") == 1 and raw.llen(INFLIGHT) == 0


def test_a_wrong_in_flight_list_fails_retry_naming_it_and_ack_skips_it_while_acking_the_others(
    store: RedisStore, raw: Redis, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    ok = claim_one(store, client, "other")
    lost = claim_one(store, client)
    raw.delete(INFLIGHT)
    raw.set(INFLIGHT, "x")
    failed = record_failure(lost.payload or {}, ValueError("boom"), time.time())
    with pytest.raises(StoreDataError) as raised:
        store.retry(OWNER, lost, failed, time.time())
    names_key(raised, INFLIGHT)
    with caplog.at_level(logging.ERROR, logger="sidequest"):
        assert store.ack(OWNER, [lost, ok]) == 1
    assert INFLIGHT in caplog.text and raw.get(INFLIGHT) == "x"


def test_requeue_leaves_a_job_whose_queue_is_a_string_in_flight_and_moves_the_others(
    store: RedisStore, raw: Redis, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    stuck = claim_one(store, client, "bad")
    fine = claim_one(store, client)
    raw.set("queue:bad", "x")
    with caplog.at_level(logging.ERROR, logger="sidequest"):
        assert store.requeue(OWNER, [stuck, fine]) == 1
    assert "Redis key 'queue:bad' holds a string" in caplog.text
    assert raw.lrange(keys.inflight(OWNER, "bad"), 0, -1) == [stuck.raw]
    assert raw.lrange("queue:default", 0, -1) == [fine.raw]
    raw.delete("queue:bad")
    assert store.requeue(OWNER, [stuck]) == 1
    assert raw.lrange("queue:bad", 0, -1) == [stuck.raw]


def test_requeue_while_queues_is_a_list_raises_naming_it_and_moves_nothing(
    store: RedisStore, raw: Redis, client: Client
) -> None:
    claimed = claim_one(store, client)
    raw.delete("queues")
    raw.rpush("queues", "x")
    with pytest.raises(StoreDataError) as raised:
        store.requeue(OWNER, [claimed])
    names_key(raised, "queues")
    assert raw.lrange(INFLIGHT, 0, -1) == [claimed.raw]
    raw.delete("queues")
    assert store.requeue(OWNER, [claimed]) == 1


# -- pushing -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "scheduled"), [("queue:default", False), ("queues", False), ("schedule", True)]
)
def test_a_push_into_a_key_of_the_wrong_type_writes_nothing_and_names_it(
    store: RedisStore, raw: Redis, client: Client, key: str, scheduled: bool
) -> None:
    raw.set(key, "x")
    item: dict[str, object] = {"class": "HardJob", "args": [1]}
    if scheduled:
        item["at"] = time.time() + 60
    with pytest.raises(StoreDataError) as raised:
        client.push(item)
    names_key(raised, key)
    # Nothing written: not the job, not even the queue name (a MULTI would have applied the SADD).
    assert sorted(raw.keys()) == [key] and raw.get(key) == "x"
    raw.delete(key)
    client.push(item)
    assert store.counts().enqueued + store.counts().scheduled == 1


def test_a_push_over_several_queues_writes_nothing_when_one_queue_key_is_wrong(
    store: RedisStore, raw: Redis
) -> None:
    raw.set("queue:b", "x")
    jobs = [NewJob(job("a", "a" * 24)), NewJob(job("b", "b" * 24)), NewJob(job("c", "c" * 24), 1.0)]
    with pytest.raises(StoreDataError) as raised:
        store.push(jobs)
    names_key(raised, "queue:b")
    assert sorted(raw.keys()) == ["queue:b"]
    raw.delete("queue:b")
    store.push(jobs)
    assert (raw.llen("queue:a"), raw.llen("queue:b"), raw.zcard("schedule")) == (1, 1, 1)


def test_a_unique_push_whose_lock_key_is_a_list_takes_no_lock_and_pushes_nothing(
    store: RedisStore, raw: Redis
) -> None:
    lock = keys.unique_lock("digest")
    raw.rpush(lock, "x")
    with pytest.raises(StoreDataError) as raised:
        store.push_unique(NewJob(job()), "digest", 60)
    message = names_key(raised, lock)
    assert "where sidequest keeps a string" in message
    assert raw.llen("queue:default") == 0
    raw.delete(lock)
    assert store.push_unique(NewJob(job()), "digest", 60)
    assert raw.llen("queue:default") == 1


def test_releasing_unique_locks_skips_a_lock_key_of_the_wrong_type_and_frees_the_others(
    store: RedisStore, raw: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    assert store.push_unique(NewJob(job(jid="a" * 24)), "fine", 60)
    raw.rpush(keys.unique_lock("broken"), "x")
    with caplog.at_level(logging.ERROR, logger="sidequest"):
        assert store.release_unique([("broken", "b" * 24), ("fine", "a" * 24)]) == 1
    assert keys.unique_lock("broken") in caplog.text
    assert not raw.exists(keys.unique_lock("fine"))


@pytest.mark.parametrize("which", ["entry", "tick", "queue"])
def test_a_cron_tick_whose_keys_are_of_the_wrong_type_is_not_taken_and_enqueues_once_fixed(
    store: RedisStore, raw: Redis, which: str
) -> None:
    key = {
        "entry": keys.cron_entry("nightly"),
        "tick": keys.cron_tick("nightly", 1800000000),
        "queue": "queue:default",
    }[which]
    if which == "tick":
        raw.rpush(key, "x")  # a tick's key is a string: a list is wrong
    else:
        raw.set(key, "x")  # the entry is a hash and the queue a list: a string is wrong
    with pytest.raises(StoreDataError) as raised:
        store.enqueue_tick("nightly", 1800000000, NewJob(job()))
    names_key(raised, key)
    if which == "queue":
        assert raw.get(key) == "x"
    else:
        assert raw.llen("queue:default") == 0
    raw.delete(key)
    # The same tick: nothing was recorded for it while the key was wrong.
    assert store.enqueue_tick("nightly", 1800000000, NewJob(job()))
    assert raw.llen("queue:default") == 1


# -- claiming ----------------------------------------------------------------------------------------


def test_a_claim_skips_a_queue_whose_key_is_a_string_serves_the_others_and_logs_it_once(
    store: RedisStore, raw: Redis, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    raw.set("queue:bad", "x")
    raw.sadd("queues", "bad")
    client.push_bulk({"class": "HardJob", "args": [[n] for n in range(3)]})
    beat(store)
    with caplog.at_level(logging.ERROR, logger="sidequest"):
        first = store.claim(["bad", "default"], 2, OWNER, 1.0)
        second = store.claim(["bad", "default"], 2, OWNER, 1.0)
        assert store.claim(["bad", "default"], 2, OWNER, 0.2) == []
    assert [len(first), len(second)] == [2, 1]
    logged = [r for r in caplog.records if "queue:bad" in r.getMessage()]
    assert len(logged) == 1 and logged[0].levelno == logging.ERROR
    assert "the other queues are served" in logged[0].getMessage()
    assert raw.get("queue:bad") == "x"


def test_a_claim_on_only_bad_queues_waits_its_timeout_and_claims_once_the_key_is_fixed(
    store: RedisStore, raw: Redis, client: Client
) -> None:
    raw.set("queue:default", "x")
    beat(store)
    assert store.claim(["default"], 1, OWNER, 0.3) == []
    raw.delete("queue:default")
    client.push({"class": "HardJob", "args": [1]})
    assert len(store.claim(["default"], 1, OWNER, 0.3)) == 1


def test_a_claim_skips_a_queue_whose_in_flight_list_is_a_string_and_leaves_its_jobs_queued(
    store: RedisStore, raw: Redis, client: Client
) -> None:
    client.push({"class": "HardJob", "args": [1]})
    client.push({"class": "HardJob", "args": [2], "queue": "other"})
    raw.set(INFLIGHT, "x")
    beat(store)
    [claimed] = store.claim(["default", "other"], 5, OWNER, 0)
    assert claimed.queue == "other" and raw.llen("queue:default") == 1
    raw.delete(INFLIGHT)
    assert len(store.claim(["default"], 5, OWNER, 0)) == 1


def test_a_claim_while_the_in_flight_registry_is_a_string_raises_naming_it_and_moves_nothing(
    store: RedisStore, raw: Redis, client: Client
) -> None:
    client.push({"class": "HardJob", "args": [1]})
    raw.set(keys.INFLIGHT_REGISTRY, "x")
    beat(store)
    with pytest.raises(StoreDataError) as raised:
        store.claim(["default"], 1, OWNER, 0)
    names_key(raised, keys.INFLIGHT_REGISTRY)
    assert raw.llen("queue:default") == 1
    raw.delete(keys.INFLIGHT_REGISTRY)
    assert len(store.claim(["default"], 1, OWNER, 0)) == 1


# -- promotion and rescue ----------------------------------------------------------------------------


def test_promotion_leaves_jobs_for_a_bad_queue_in_their_set_and_moves_every_other_due_job(
    store: RedisStore, raw: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    for n in range(5):
        push_raw(store, job("bad", f"bad{n:021d}"), at=100.0 + n)  # due first, ahead of the others
    for n in range(300):
        push_raw(store, job("default", f"ok{n:022d}"), at=200.0 + n)
    raw.zadd("retry", {json.dumps(job("bad", "r" * 24)): 50.0})
    raw.set("queue:bad", "x")
    with caplog.at_level(logging.ERROR, logger="sidequest"):
        assert store.promote_due(time.time(), 1000) == 300
    assert "Redis key 'queue:bad' holds a string" in caplog.text
    assert raw.llen("queue:default") == 300
    assert raw.zcard("schedule") == 5 and raw.zcard("retry") == 1  # the bad queue's jobs stayed
    raw.delete("queue:bad")
    assert store.promote_due(time.time(), 1000) == 6
    assert raw.llen("queue:bad") == 6 and raw.zcard("schedule") == raw.zcard("retry") == 0


def test_promotion_while_queues_is_a_string_raises_naming_it_and_moves_nothing(
    store: RedisStore, raw: Redis
) -> None:
    push_raw(store, job(), at=1.0)
    raw.set("queues", "x")
    with pytest.raises(StoreDataError) as raised:
        store.promote_due(time.time())
    names_key(raised, "queues")
    assert raw.zcard("schedule") == 1
    raw.delete("queues")
    assert store.promote_due(time.time()) == 1


def test_promotion_goes_on_with_the_schedule_when_retry_is_a_string(store: RedisStore, raw: Redis) -> None:
    push_raw(store, job(), at=1.0)
    raw.set("retry", "x")
    assert store.promote_due(time.time()) == 1
    assert raw.get("retry") == "x"


def test_promotion_leaves_a_malformed_entry_in_place_while_dead_is_a_string(
    store: RedisStore, raw: Redis
) -> None:
    raw.zadd("schedule", {"not json": 1.0})
    push_raw(store, job(), at=2.0)
    raw.set("dead", "x")
    assert store.promote_due(time.time()) == 1
    assert raw.zrange("schedule", 0, -1) == ["not json"]
    raw.delete("dead")
    store.promote_due(time.time())
    assert raw.zrange("dead", 0, -1) == ["not json"] and raw.zcard("schedule") == 0


def test_rescue_leaves_the_jobs_of_a_bad_queue_in_flight_and_rescues_the_other_lists(
    store: RedisStore, raw: Redis, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    stuck = claim_one(store, client, "bad")
    fine = claim_one(store, client)
    store.end_lease(OWNER)
    raw.set("queue:bad", "x")
    with caplog.at_level(logging.ERROR, logger="sidequest"):
        assert store.rescue_orphans(time.time()).requeued == 1
    assert "Redis key 'queue:bad' holds a string" in caplog.text
    assert raw.lrange(keys.inflight(OWNER, "bad"), 0, -1) == [stuck.raw]
    assert raw.llen("queue:default") == 1 and fine.jid in raw.lindex("queue:default", 0)
    raw.delete("queue:bad")
    assert store.rescue_orphans(time.time()).requeued == 1
    assert raw.llen("queue:bad") == 1 and not raw.exists(keys.inflight(OWNER, "bad"))


def test_rescue_keeps_a_poison_pill_in_flight_while_dead_is_a_string(
    store: RedisStore, raw: Redis, client: Client
) -> None:
    push_raw(store, job() | {"orphan_count": 3})
    beat(store)
    [pill] = store.claim(["default"], 1, OWNER, 0)
    store.end_lease(OWNER)
    raw.set("dead", "x")
    assert store.rescue_orphans(time.time(), max_orphaned=3).killed == 0
    assert raw.lrange(INFLIGHT, 0, -1) == [pill.raw]
    raw.delete("dead")
    assert store.rescue_orphans(time.time(), max_orphaned=3).killed == 1
    assert raw.zcard("dead") == 1


# -- heartbeats and stats ----------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["processes", "stat:processed", "stat:processed:day", "signals"])
def test_a_beat_with_a_key_of_the_wrong_type_counts_nothing_but_still_renews_the_lease(
    store: RedisStore, raw: Redis, key: str
) -> None:
    if key == "stat:processed:day":
        key = keys.stat_processed_on(datetime.now(UTC).date())
    if key == "signals":
        key = keys.signals(OWNER)
        raw.set(key, "x")
    else:
        raw.rpush(key, "x")
    with pytest.raises(StoreDataError) as raised:
        beat(store, processed=3)
    names_key(raised, key)
    # The lease (the <identity> hash) is renewed alone, so the live process's jobs are not rescued...
    assert raw.exists(OWNER) and raw.pttl(OWNER) > 0
    # ...and nothing else was written: the deltas are counted at the next beat.
    assert key == "stat:processed" or raw.get("stat:processed") is None
    assert key == "processes" or raw.smembers("processes") == set()
    raw.delete(key)
    beat(store, processed=3)
    assert raw.exists(OWNER) and raw.get("stat:processed") == "3"


def test_a_counter_holding_text_fails_the_beat_before_anything_is_counted(
    store: RedisStore, raw: Redis
) -> None:
    raw.set("stat:failed", "lots")
    with pytest.raises(StoreDataError) as raised:
        beat(store, processed=2, failed=1)
    assert "holds a string that is not an integer" in names_key(raised, "stat:failed")
    assert raw.get("stat:processed") is None and raw.exists(OWNER)  # only the lease was renewed
    raw.set("stat:failed", "7")
    beat(store, processed=2, failed=1)
    assert raw.get("stat:failed") == "8"


def test_unregister_and_signal_check_their_keys_first(store: RedisStore, raw: Redis) -> None:
    beat(store)
    raw.delete("processes")
    raw.set("processes", "x")
    with pytest.raises(StoreDataError) as raised:
        store.unregister(OWNER)
    names_key(raised, "processes")
    assert raw.exists(OWNER)  # the lease was not ended half way
    raw.set(keys.signals(OWNER), "x")
    with pytest.raises(StoreDataError) as raised:
        store.signal(OWNER, "TSTP")
    names_key(raised, keys.signals(OWNER))


# -- admin actions and reads -------------------------------------------------------------------------


def test_admin_retry_now_and_kill_leave_entries_in_place_when_their_destination_is_wrong(
    store: RedisStore, raw: Redis
) -> None:
    push_raw(store, job("bad", "b" * 24), at=time.time() + 60)
    push_raw(store, job("default", "d" * 24), at=time.time() + 60)
    raw.set("queue:bad", "x")
    with pytest.raises(StoreDataError) as raised:
        store.retry_now(store.list_set("scheduled"))
    assert "moved 1 of 2 job(s)" in names_key(raised, "queue:bad")
    assert [entry.payload and entry.payload["queue"] for entry in store.list_set("scheduled")] == ["bad"]
    raw.set("dead", "x")
    with pytest.raises(StoreDataError) as raised:
        store.kill_entries(store.list_set("scheduled"), time.time())
    names_key(raised, "dead")
    assert raw.zcard("schedule") == 1
    raw.delete("queue:bad", "dead")
    assert store.retry_now(store.list_set("scheduled")) == 1


def test_admin_clear_of_a_set_that_is_a_string_deletes_nothing(store: RedisStore, raw: Redis) -> None:
    raw.set("dead", "another application's data")
    with pytest.raises(StoreDataError) as raised:
        store.clear("dead")
    names_key(raised, "dead")
    assert raw.get("dead") == "another application's data"
    raw.set("queue:x", "theirs")
    raw.sadd("queues", "x")
    with pytest.raises(StoreDataError):
        store.clear("queue:x")
    assert raw.get("queue:x") == "theirs" and raw.sismember("queues", "x")


def test_admin_delete_and_reads_name_the_key_of_the_wrong_type(store: RedisStore, raw: Redis) -> None:
    push_raw(store, job(), at=time.time() + 60)
    [entry] = store.list_set("scheduled")
    raw.delete("schedule")
    raw.set("schedule", "x")
    with pytest.raises(StoreDataError) as raised:
        store.delete([entry])
    assert "deleted 0 of 1 job(s)" in names_key(raised, "schedule")
    with pytest.raises(StoreDataError) as raised:
        store.list_set("scheduled")
    names_key(raised, "schedule")
    raw.sadd("queues", "x")
    raw.set("queue:x", "x")
    with pytest.raises(StoreDataError) as raised:
        store.queues()
    names_key(raised, "queue:x")


def test_a_process_with_thousands_of_busy_jobs_still_beats_in_one_checked_call(
    store: RedisStore, raw: Redis, client: Client
) -> None:
    client.push_bulk({"class": "HardJob", "args": [[n] for n in range(4500)]})
    beat(store)
    busy = store.claim(["default"], 4500, OWNER, 0)
    beat(store, busy=busy, processed=1)
    assert raw.hlen(keys.work(OWNER)) == 4500 and raw.hget(OWNER, "busy") == "4500"
