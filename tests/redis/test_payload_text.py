"""Scenarios: a job's text survives every move. Lua scripts edit payload text (they never decode and
re-encode it with cjson, which turns [] into {} and rounds floats to 14 digits); Python re-serializes
only the fields that changed. A Ruby payload's unknown fields keep every byte, whatever path it takes."""

from __future__ import annotations

import json
import time
from importlib import resources

import pytest
from redis.client import Redis
from redis_helpers import OWNER, beat

from sidequest.client import Client
from sidequest.retry import record_failure
from sidequest.stores.redis import RedisStore
from sidequest.stores.redis.payload_json import patch_payload

ARGS = (
    "[[],{},[[]],0.1,1795823117.2612543,1.5e-07,1.0e+20,123456789012345678901234567890,"
    '"caf\\u00e9 \\/ \\"}{"]'
)
RUBY_EXTRA = '"x_ruby":{"nested":[1.0e-5,[]],"s":"}{\\\\","n":null}'
RUBY_JOB = (
    f'{{"retry":true,"queue":"default","class":"Py::Job","args":{ARGS},"jid":"0123456789abcdef01234567",'
    f'"created_at":1795823117.2612543,"enqueued_at":1795823117.2614107,"bid":"b-1",{RUBY_EXTRA}}}'
)
"""A payload written the way Ruby's JSON.generate can write it: exponent floats, a bignum, escapes."""

KEPT = [f'"args":{ARGS}', RUBY_EXTRA, '"created_at":1795823117.2612543', '"bid":"b-1"']


def assert_kept(text: str) -> None:
    for fragment in KEPT:
        assert fragment in text, f"{fragment!r} changed in {text!r}"
    assert text.count('"enqueued_at"') <= 1


def test_unknown_fields_keep_every_byte_through_every_move(store: RedisStore, raw: Redis) -> None:
    raw.lpush("queue:default", RUBY_JOB)
    raw.sadd("queues", "default")
    beat(store)

    [job] = store.claim(["default"], 1, OWNER, 0)
    assert job.raw == RUBY_JOB and job.payload is not None
    assert store.retry(OWNER, job, record_failure(job.payload, RuntimeError("boom"), time.time()), 1.0)
    [in_retry] = raw.zrange("retry", 0, -1)
    assert_kept(in_retry)

    assert store.promote_due(time.time()) == 1
    [promoted] = raw.lrange("queue:default", 0, -1)
    assert_kept(promoted)
    assert json.loads(promoted)["enqueued_at"] == pytest.approx(time.time(), abs=5)

    claimed = store.claim(["default"], 1, OWNER, 0)
    assert store.requeue(OWNER, claimed) == 1
    [requeued] = raw.lrange("queue:default", 0, -1)
    assert requeued == promoted

    beat(store, ttl=0.2)
    store.claim(["default"], 1, OWNER, 0)
    time.sleep(0.3)
    assert store.rescue_orphans(time.time()).requeued == 1
    [rescued] = raw.lrange("queue:default", 0, -1)
    assert_kept(rescued)
    assert json.loads(rescued)["orphan_count"] == 1

    beat(store)
    [job] = store.claim(["default"], 1, OWNER, 0)
    assert job.payload is not None
    assert store.kill(
        OWNER, job, record_failure(job.payload, RuntimeError("again"), time.time()), time.time()
    )
    [entry] = store.list_set("dead")
    assert_kept(entry.raw)
    assert store.retry_now([entry]) == 1
    [retried] = raw.lrange("queue:default", 0, -1)
    assert_kept(retried)
    assert json.loads(retried)["retry_count"] == 0  # 1 after the second failure, minus one


@pytest.mark.parametrize(
    "args",
    [[], [[]], [{}], [[], {}, [[], [{}]]], [0.1, 1795823117.2612543, 1e-7, 2.5e300], ["[]", "{}", '"', "\\"]],
)
def test_cjson_pitfalls_do_not_reach_payloads_moved_by_lua(
    client: Client, store: RedisStore, raw: Redis, args: list[object]
) -> None:
    client.push({"class": "HardJob", "args": args, "at": time.time() + 3600})
    [scheduled] = raw.zrange("schedule", 0, -1)
    assert store.promote_due(time.time() + 7200) == 1
    [promoted] = raw.lrange("queue:default", 0, -1)
    assert promoted.startswith(scheduled[:-1])  # everything before, byte for byte; enqueued_at appended
    assert json.loads(promoted)["args"] == args
    beat(store, ttl=0.2)
    store.claim(["default"], 1, OWNER, 0)
    time.sleep(0.3)
    store.rescue_orphans(time.time())
    [rescued] = raw.lrange("queue:default", 0, -1)
    assert rescued == promoted[:-1] + ',"orphan_count":1}'


PROMOTIONS = [
    # (stored text, queue it lands in, text after promotion at 1.5)
    ('{"queue":"q","args":[]}', "q", '{"queue":"q","args":[],"enqueued_at":1.5}'),
    (
        '{"args":[],"queue":"q","enqueued_at":1.0,"x":1}',
        "q",
        '{"args":[],"queue":"q","enqueued_at":1.5,"x":1}',
    ),
    # a later "enqueued_at" (nested, or a duplicate key) needs the full scan: parsers read the last one
    (
        '{"queue":"q","enqueued_at":1.0,"x":{"enqueued_at":2}}',
        "q",
        '{"queue":"q","enqueued_at":1.5,"x":{"enqueued_at":2}}',
    ),
    (
        '{"queue":"q","enqueued_at":1.0,"enqueued_at":2}',
        "q",
        '{"queue":"q","enqueued_at":1.0,"enqueued_at":1.5}',
    ),
    ('{"args":[{"queue":"no"}],"x":{"enqueued_at":2}}', "default", None),  # no queue: Sidekiq's default
    (
        '{ "class" : "HardJob" ,\n "args" : [{"enqueued_at": 5}, "\\"enqueued_at\\": 6"],\n'
        ' "enqueued_at" : 1.0 , "queue" : "q", "jid": "0123456789abcdef01234567" }',
        "q",
        None,
    ),
]


@pytest.mark.parametrize(("text", "queue", "expected"), PROMOTIONS)
def test_promotion_sets_the_top_level_enqueued_at_only(
    store: RedisStore, raw: Redis, text: str, queue: str, expected: str | None
) -> None:
    raw.zadd("schedule", {text: 1})
    assert store.promote_due(1.5) == 1
    [promoted] = raw.lrange(f"queue:{queue}", 0, -1)
    if expected is not None:
        assert promoted == expected
    parsed, before = json.loads(promoted), json.loads(text)
    assert parsed == {**before, "enqueued_at": 1.5}


def test_a_scheduled_entry_that_is_not_a_job_goes_to_the_dead_set_instead_of_being_lost(
    store: RedisStore, raw: Redis
) -> None:
    raw.zadd("schedule", {"not json at all": 10, '["an array"]': 11})
    assert store.promote_due(time.time()) == 0
    assert set(raw.zrange("dead", 0, -1)) == {"not json at all", '["an array"]'}
    assert raw.zcard("schedule") == 0


LIBRARY_CASES = [
    ("{}", '{"enqueued_at":1.5}'),
    ('{"a":1}', '{"a":1,"enqueued_at":1.5}'),
    ('{"enqueued_at":1}', '{"enqueued_at":1.5}'),
    ('{"enqueued_at":"x,}"}', '{"enqueued_at":1.5}'),
    ('{"enqueued_at":[1,{"b":"]"}],"z":0}', '{"enqueued_at":1.5,"z":0}'),
    ('{"enqueued_at":1,"enqueued_at":2}', '{"enqueued_at":1,"enqueued_at":1.5}'),  # parsers keep the last
    ('  {"a":"\\\\","b":{"enqueued_at":3}}  ', '  {"a":"\\\\","b":{"enqueued_at":3},"enqueued_at":1.5}  '),
    ("[1]", None),
    ('"text"', None),
    ('{"a":}', None),
    ('{"a":1', None),
    ("", None),
]


@pytest.mark.parametrize(("text", "expected"), LIBRARY_CASES)
def test_the_lua_payload_editor_handles_any_json_object_and_refuses_the_rest(
    raw: Redis, text: str, expected: str | None
) -> None:
    library = resources.files("sidequest.stores.redis").joinpath("lua/json_fields.lua").read_text()
    script = library + "\nreturn json_set(ARGV[1], {'enqueued_at'}, {'1.5'}) or false"
    assert raw.eval(script, 0, text) == expected


def test_python_keeps_the_text_of_unchanged_fields_and_writes_changed_ones() -> None:
    original = json.loads(RUBY_JOB)
    updated = {**original, "queue": "low", "retry_count": 0}
    del updated["bid"]
    text = patch_payload(RUBY_JOB, original, updated)
    assert_kept(text.replace('"bid":"b-1"', "") + '"bid":"b-1"')
    assert '"bid"' not in text
    assert json.loads(text) == updated
    assert '"queue":"low"' in text and text.endswith(',"retry_count":0}')
    assert patch_payload("not json", None, {"a": 1}) == '{"a":1}'


def test_a_job_whose_bytes_are_not_utf8_reaches_the_dead_set_byte_for_byte(
    store: RedisStore, redis_url: str
) -> None:
    binary = Redis.from_url(redis_url)  # bytes in, bytes out
    text = b'{"class":"HardJob","args":["\xff\xfe"],"queue":"default","jid":"0123456789abcdef01234567"}'
    binary.lpush("queue:default", text)
    beat(store)
    [job] = store.claim(["default"], 1, OWNER, 0)
    assert job.payload is None  # not a valid job: the runtime sends it to the dead set as it is
    assert store.kill(OWNER, job, None, time.time())
    assert binary.zrange("dead", 0, -1) == [text]
    binary.close()
