"""Scenarios: the Redis store writes exactly Sidekiq's data model (keys, types, fields, JSON), so Ruby
Sidekiq, its Web UI and its API read what sidequest writes. Payloads from Ruby keep every byte of the
fields sidequest does not know, whichever way a job moves; see ``test_payload_text.py`` for the cases
where Lua edits payload text instead of re-encoding it."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime

import pytest
from redis.client import Redis
from redis_helpers import OWNER, beat

from sidequest.client import Client
from sidequest.retry import record_failure
from sidequest.stores.redis import RedisStore

INFLIGHT = f"queue:sq|{OWNER}|default"

RUBY_PUSHED = (
    '{"retry":3,"queue":"critical","backtrace":5,"tags":["a"],"args":[1,"two",{"k":[3]}],"class":"HardJob",'
    '"jid":"390161545541fb6456716112","created_at":1795823117.2612543,"enqueued_at":1795823117.2614107}'
)
"""A job as Ruby Sidekiq 6.4.1 stored it (captured; see sidekiq-wire.md section 1)."""


def keys_in_order(text: str) -> list[str]:
    return [key for key, _ in json.loads(text, object_pairs_hook=lambda pairs: pairs)]


def test_an_enqueued_job_is_the_json_sidekiq_writes_in_its_queue_list(client: Client, raw: Redis) -> None:
    options = {"queue": "critical", "retry": 3, "backtrace": 5, "tags": ["a"]}
    jid = client.push({"class": "HardJob", "args": [1, "two", {"k": [3]}], **options})
    assert set(raw.keys("*")) == {"queues", "queue:critical"}
    assert raw.type("queues") == "set"
    assert raw.smembers("queues") == {"critical"}
    assert raw.type("queue:critical") == "list"
    [text] = raw.lrange("queue:critical", 0, -1)
    assert keys_in_order(text) == keys_in_order(RUBY_PUSHED)
    ours, ruby = json.loads(text), json.loads(RUBY_PUSHED)
    assert {key: ours[key] for key in ("retry", "queue", "backtrace", "tags", "args", "class")} == {
        key: ruby[key] for key in ("retry", "queue", "backtrace", "tags", "args", "class")
    }
    assert re.fullmatch(r"[0-9a-f]{24}", ours["jid"]) and ours["jid"] == jid
    assert isinstance(ours["created_at"], float) and isinstance(ours["enqueued_at"], float)
    assert ours["enqueued_at"] == pytest.approx(time.time(), abs=5)


def test_a_bulk_push_is_one_list_whose_fetch_end_holds_the_first_job(client: Client, raw: Redis) -> None:
    jids = client.push_bulk({"class": "HardJob", "args": [[1], [2], [3]]})
    texts = raw.lrange("queue:default", 0, -1)
    assert [json.loads(text)["jid"] for text in reversed(texts)] == jids
    assert len({json.loads(text)["created_at"] for text in texts}) == 1  # one created_at, as Sidekiq


def test_a_scheduled_job_is_scored_by_its_time_and_carries_no_at_nor_enqueued_at(
    client: Client, raw: Redis
) -> None:
    at = time.time() + 3600
    client.push({"class": "HardJob", "args": [1], "at": at})
    assert set(raw.keys("*")) == {"schedule"}  # no SADD queues for scheduled jobs, like Sidekiq
    [(text, score)] = raw.zrange("schedule", 0, -1, withscores=True)
    assert score == pytest.approx(at)
    assert "at" not in json.loads(text) and "enqueued_at" not in json.loads(text)


def test_a_claim_moves_the_job_into_the_owners_in_flight_list_which_rescuers_can_find(
    store: RedisStore, client: Client, raw: Redis
) -> None:
    beat(store)
    client.push({"class": "HardJob", "args": [1]})
    [job] = store.claim(["default"], 5, OWNER, 0)
    assert raw.llen("queue:default") == 0
    assert raw.lrange(INFLIGHT, 0, -1) == [job.raw]
    assert raw.smembers("sq|inflight") == {INFLIGHT}
    assert raw.smembers("queues") == {"default"}  # Sidekiq never lists nor fetches an in-flight list
    assert store.ack(OWNER, [job]) == 1
    assert raw.exists(INFLIGHT) == 0


def test_a_beat_writes_sidekiqs_process_hash_busy_hashes_and_counters(
    store: RedisStore, client: Client, raw: Redis
) -> None:
    client.push({"class": "HardJob", "args": [1]})
    beat(store)
    running = store.claim(["default"], 1, OWNER, 0)
    assert beat(store, busy=running, processed=5, failed=2) == []

    assert raw.smembers("processes") == {OWNER}
    fields = raw.hgetall(OWNER)
    assert set(fields) == {"info", "busy", "beat", "quiet", "rtt_us", "rss", "concurrency"}
    assert (fields["busy"], fields["quiet"], fields["rss"], fields["concurrency"]) == (
        "1",
        "false",
        "51234",
        "3",
    )
    assert float(fields["beat"]) == pytest.approx(time.time(), abs=5) and "." in fields["beat"]
    assert int(fields["rtt_us"]) > 0
    assert 55 <= raw.ttl(OWNER) <= 60
    info = json.loads(fields["info"])
    # Sidekiq 6.4.1's keys in its order, then 7.3+'s version and embedded, then sidequest's own
    # host facts (which Sidekiq's readers ignore).
    assert list(info) == [
        *["hostname", "started_at", "pid", "tag", "concurrency", "queues", "labels", "identity"],
        *["version", "embedded", "weights"],
        *["sq_boot_id", "sq_pid_namespace", "sq_pid_started", "sq_process_pool"],
    ]
    assert (info["started_at"], info["tag"], info["queues"], info["labels"]) == (
        1795823124.538,
        "mytag",
        ["default"],
        ["blue"],
    )
    assert (info["identity"], info["embedded"]) == (OWNER, False)

    for key in (f"{OWNER}:work", f"{OWNER}:workers"):  # 6.4.2+ and 6.4.1 readers
        [(thread, text)] = raw.hgetall(key).items()
        assert thread == "tid-0"
        work = json.loads(text)
        assert list(work) == ["queue", "payload", "run_at"]
        assert work["payload"] == running[0].raw  # the job's text, as a string inside the JSON
        assert isinstance(work["run_at"], int) and work["run_at"] == pytest.approx(time.time(), abs=5)
        assert 55 <= raw.ttl(key) <= 60

    today = datetime.now(UTC).date().isoformat()
    assert raw.mget("stat:processed", "stat:failed") == ["5", "2"]
    assert raw.mget(f"stat:processed:{today}", f"stat:failed:{today}") == ["5", "2"]
    assert raw.ttl(f"stat:processed:{today}") == pytest.approx(5 * 365 * 24 * 3600, abs=60)

    beat(store, busy=[])
    assert raw.exists(f"{OWNER}:work", f"{OWNER}:workers") == 0


def test_a_beat_with_a_sub_second_lease_expires_in_milliseconds(store: RedisStore, raw: Redis) -> None:
    beat(store, ttl=0.4)
    assert 0 < raw.pttl(OWNER) <= 400
    time.sleep(0.5)
    assert raw.exists(OWNER) == 0


def test_a_beat_adds_per_class_metrics_where_sidekiq_7_and_8_read_them(store: RedisStore, raw: Redis) -> None:
    from redis_helpers import process_info

    from sidequest.stores.base import Heartbeat

    store.beat(Heartbeat(process_info(), per_class={"HardJob": (3, 1, 120.4)}))
    now = datetime.now(UTC)
    sidekiq7 = f"j|{now:%Y%m%d}|{now.hour}:{now.minute}"
    assert raw.hgetall(sidekiq7) == {"HardJob|p": "3", "HardJob|f": "1", "HardJob|ms": "120"}
    assert raw.hget(f"j|{now:%y%m%d}|{now.hour}:{now.minute:02d}", "HardJob|p") == "3"


def test_signals_are_queued_as_the_web_ui_queues_them_and_popped_oldest_first(
    store: RedisStore, raw: Redis
) -> None:
    beat(store)
    store.signal(OWNER, "TSTP")
    store.signal(OWNER, "TERM")
    assert raw.lrange(f"{OWNER}-signals", 0, -1) == ["TERM", "TSTP"]
    assert 0 < raw.ttl(f"{OWNER}-signals") <= 60
    assert beat(store) == ["TSTP", "TERM"]


def test_unregister_is_sidekiqs_clear_heartbeat_and_ends_the_lease_at_once(
    store: RedisStore, client: Client, raw: Redis
) -> None:
    client.push({"class": "HardJob", "args": [1]})
    beat(store)
    running = store.claim(["default"], 1, OWNER, 0)
    beat(store, busy=running)
    store.unregister(OWNER)
    assert raw.smembers("processes") == set()
    assert raw.exists(OWNER, f"{OWNER}:work", f"{OWNER}:workers") == 0
    # A job it failed to give back is an orphan right away, not after a minute.
    assert store.rescue_orphans(time.time()).requeued == 1


def test_a_retry_writes_sidekiqs_failure_fields_with_a_float_score(
    store: RedisStore, raw: Redis, client: Client
) -> None:
    beat(store)
    client.push({"class": "HardJob", "args": [1], "queue": "critical", "retry": 3})
    [job] = store.claim(["critical"], 1, OWNER, 0)
    assert job.payload is not None
    now = time.time()
    assert store.retry(OWNER, job, record_failure(job.payload, ValueError("boom"), now), now + 30.5)
    [(text, score)] = raw.zrange("retry", 0, -1, withscores=True)
    assert score == pytest.approx(now + 30.5)
    stored = json.loads(text)
    assert (stored["error_message"], stored["error_class"], stored["retry_count"]) == (
        "boom",
        "ValueError",
        0,
    )
    assert isinstance(stored["failed_at"], float)
    assert raw.exists(f"queue:sq|{OWNER}|critical") == 0


def test_a_kill_writes_the_dead_set_scored_by_the_time_of_death(
    store: RedisStore, raw: Redis, client: Client
) -> None:
    beat(store)
    client.push({"class": "HardJob", "args": [1]})
    [job] = store.claim(["default"], 1, OWNER, 0)
    assert job.payload is not None
    now = time.time()
    assert store.kill(OWNER, job, record_failure(job.payload, ValueError("no"), now), now)
    [(text, score)] = raw.zrange("dead", 0, -1, withscores=True)
    assert score == pytest.approx(now) and json.loads(text)["error_class"] == "ValueError"


def test_retry_now_decrements_retry_count_like_sidekiqs_sorted_entry_retry(
    store: RedisStore, raw: Redis
) -> None:
    failed = (
        RUBY_PUSHED[:-1]
        + ',"error_message":"boom","error_class":"ArgumentError","failed_at":1.5,"retry_count":2}'
    )
    raw.zadd("retry", {failed: 1795823147.5405588})
    [entry] = store.list_set("retry")
    assert store.retry_now([entry]) == 1
    assert raw.zcard("retry") == 0
    [text] = raw.lrange("queue:critical", 0, -1)
    moved = json.loads(text)
    assert moved["retry_count"] == 1
    assert moved["enqueued_at"] == pytest.approx(time.time(), abs=5)
    assert text.startswith(RUBY_PUSHED[: RUBY_PUSHED.index('"enqueued_at"')])  # the rest, byte for byte
    assert store.retry_now([entry]) == 0  # already moved: skipped


def test_clearing_a_queue_forgets_its_name_like_sidekiqs_queue_clear(
    store: RedisStore, client: Client, raw: Redis
) -> None:
    client.push_bulk({"class": "HardJob", "args": [[1], [2]], "queue": "old"})
    assert store.clear("queue:old") == 2
    assert raw.exists("queue:old") == 0 and raw.smembers("queues") == set()


def test_processes_and_busy_jobs_of_a_ruby_sidekiq_6_4_1_process_are_read(
    store: RedisStore, raw: Redis
) -> None:
    identity = "vm:9200:48855577d76f"
    info = (
        '{"hostname":"vm","started_at":1795823124.538,"pid":9200,"tag":"mytag","concurrency":3,'
        '"queues":["critical","default"],"labels":[],"identity":"vm:9200:48855577d76f"}'
    )
    raw.sadd("processes", identity, "gone:1:000000000000")
    raw.hset(identity, mapping={"info": info, "busy": 1, "beat": time.time(), "quiet": "true", "rss": 9000})
    raw.expire(identity, 60)
    work = json.dumps({"queue": "critical", "payload": RUBY_PUSHED, "run_at": 1795823124})
    raw.hset(f"{identity}:workers", "owxyz", work)  # 6.4.1 writes only :workers
    [process] = store.processes()
    assert (process.identity, process.hostname, process.pid, process.concurrency) == (identity, "vm", 9200, 3)
    assert (process.quiet, process.busy, process.queues, process.rss_kb) == (
        True,
        1,
        ["critical", "default"],
        9000,
    )
    assert raw.smembers("processes") == {identity}  # the dead member was pruned, as Sidekiq does
    [busy] = store.busy()
    assert (busy.thread_id, busy.queue, busy.raw, busy.run_at) == (
        "owxyz",
        "critical",
        RUBY_PUSHED,
        1795823124.0,
    )
    assert busy.payload is not None and busy.payload["jid"] == "390161545541fb6456716112"
