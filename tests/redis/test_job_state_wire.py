"""Scenarios: a job's record on Redis is Sidekiq 7.3's ``it-<jid>`` hash (``ex``, ``c``, ``rt``,
``cancelled``), so a Ruby iterable job and sidequest read each other's progress and cancels; expired
jobs count in ``stat:expired``; a key of another type is refused before anything is written."""

from __future__ import annotations

import json
import time

import pytest
from redis.client import Redis

from sidequest.errors import StoreDataError
from sidequest.stores.redis import RedisStore


def test_progress_is_sidekiqs_iterable_hash_with_a_30_day_ttl(store: RedisStore, raw: Redis) -> None:
    store.save_job_state("abc", json.dumps({"id": 7}), 2, 1.5, 30 * 86400)
    assert raw.type("it-abc") == "hash"
    fields = raw.hgetall("it-abc")
    assert json.loads(fields["c"]) == {"id": 7}
    assert (int(fields["ex"]), float(fields["rt"])) == (2, 1.5)
    assert 30 * 86400 - 5 < raw.ttl("it-abc") <= 30 * 86400


def test_a_record_written_by_ruby_sidekiq_is_read_with_its_cancel(store: RedisStore, raw: Redis) -> None:
    raw.hset("it-ruby1", mapping={"ex": "3", "c": "1234", "rt": "12.5", "cancelled": "1795823117"})
    state = store.job_state("ruby1")
    assert state is not None
    assert (state.cursor, state.executions, state.runtime) == ("1234", 3, 12.5)
    assert state.cancelled_at == 1795823117.0


def test_cancel_sets_the_field_sidekiq_reads_as_an_epoch_second(store: RedisStore, raw: Redis) -> None:
    assert store.cancel("gone", time.time(), 60).state == "not_found"
    cancelled = raw.hget("it-gone", "cancelled")
    assert cancelled is not None and cancelled.isdigit() and abs(int(cancelled) - time.time()) < 2
    assert 0 < raw.ttl("it-gone") <= 60


def test_expired_jobs_count_in_stat_expired(store: RedisStore, raw: Redis) -> None:
    store.add_expired(3)
    assert raw.get("stat:expired") == "3"


def test_a_record_key_of_another_type_is_refused_with_nothing_written(store: RedisStore, raw: Redis) -> None:
    raw.set("it-odd", "not a hash")
    with pytest.raises(StoreDataError):
        store.save_job_state("odd", "1", 1, 0.0, 60)
    assert raw.get("it-odd") == "not a hash"
