"""The Redis store's batches: Sidekiq Pro's key names, TTLs, and a key of the wrong type refused
before anything is written."""

from __future__ import annotations

import time

import pytest
from redis.client import Redis

import sidequest
from sidequest.batch_records import BatchOutcome
from sidequest.client import Client
from sidequest.errors import StoreDataError
from sidequest.stores.redis import RedisStore
from testapp.batch_workers import BatchJob, RecordCallbacks


def test_a_batch_lives_in_sidekiq_pro_like_keys_that_expire(store: RedisStore, raw: Redis) -> None:
    client = Client(store)
    batch = sidequest.Batch("keys", linger=60, client=client)
    batch.on("success", RecordCallbacks)
    with batch.jobs():
        jids = [str(jid) for jid in client.enqueue_bulk(BatchJob, [[1], [2]])]
    key = f"b-{batch.bid}"
    assert raw.type(key) == "hash" and raw.hget(key, "desc") == "keys" and raw.hget(key, "total") == "2"
    assert raw.smembers(key + "-pending") == set(jids) == raw.smembers(key + "-unrun")
    assert raw.zscore("batches", batch.bid) is not None
    assert 29 * 86400 < raw.ttl(key) <= 30 * 86400
    store.record_batch_outcomes([BatchOutcome(batch.bid, jids[0], "failure")], time.time())
    assert 29 * 86400 < raw.ttl(key + "-failed") <= 30 * 86400  # a set made later gets the hash's TTL
    store.record_batch_outcomes([BatchOutcome(batch.bid, jid, "success") for jid in jids], time.time())
    assert raw.hget(key, "fired:success") is not None
    assert 0 < raw.ttl(key) <= 60  # the linger
    [callback] = [entry for entry in store.list_queue("callbacks")]
    assert callback.payload is not None and callback.payload["args"][1]["pending"] == 0


def test_a_batch_key_of_another_type_is_refused_with_nothing_written(store: RedisStore, raw: Redis) -> None:
    client = Client(store)
    batch = sidequest.Batch("blocked", client=client)
    raw.set(f"b-{batch.bid}-pending", "x")  # another application's key, by bad luck
    with pytest.raises(StoreDataError, match=f"b-{batch.bid}-pending"), batch.jobs():
        client.enqueue(BatchJob, [1])
    assert raw.llen("queue:default") == 0 and not raw.exists(f"b-{batch.bid}")


def test_a_callback_queue_of_another_type_holds_the_outcome_back_and_fires_once_fixed(
    store: RedisStore, raw: Redis
) -> None:
    client = Client(store)
    batch = sidequest.Batch("blocked callback", client=client)
    batch.on("success", RecordCallbacks)
    with batch.jobs():
        [jid] = client.enqueue_bulk(BatchJob, [[1]])
    raw.set("queue:callbacks", "x")  # another application's key
    outcome = BatchOutcome(batch.bid, str(jid), "success")
    with pytest.raises(StoreDataError, match="queue:callbacks"):
        store.record_batch_outcomes([outcome], time.time())
    assert raw.scard(f"b-{batch.bid}-pending") == 1  # nothing written: the acker tries again later
    raw.delete("queue:callbacks")
    assert store.record_batch_outcomes([outcome], time.time()) == 1
    assert raw.llen("queue:callbacks") == 1
