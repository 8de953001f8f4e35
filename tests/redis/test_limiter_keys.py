"""Rate limiters on Redis: the keys are sidequest's own (``sq|limiter|...``), and a limiter key that
another application gave another type makes the use fail with StoreDataError naming the key, with
nothing written, until the key is fixed."""

from __future__ import annotations

import pytest
from redis.client import Redis

from sidequest.errors import StoreDataError
from sidequest.limits import Limit
from sidequest.stores.redis import RedisStore, keys

EMAIL = Limit("concurrent", "email", 2, 30.0)


def test_a_concurrent_limiter_is_a_hash_a_sorted_set_of_holders_and_a_registry_entry(
    store: RedisStore, raw: Redis
) -> None:
    assert store.limiter_acquire(EMAIL, "holder-1", 1000.0).allowed
    assert raw.smembers("sq|limiters") == {"concurrent|email"}
    assert raw.zrange("sq|limiter|concurrent|email|uses", 0, -1, withscores=True) == [("holder-1", 1030.0)]
    fields = raw.hgetall("sq|limiter|concurrent|email")
    assert (fields["size"], fields["allowed"], float(fields["period"])) == ("2", "1", 30.0)
    assert keys.expected_type("sq|limiter|concurrent|email") == "hash"
    assert keys.expected_type("sq|limiter|concurrent|email|uses") == "zset"
    assert keys.expected_type("sq|limiters") == "set"


@pytest.mark.parametrize(
    "key", ["sq|limiter|concurrent|email", "sq|limiter|concurrent|email|uses", "sq|limiters"]
)
def test_a_limiter_key_of_another_type_fails_the_use_naming_it_and_writes_nothing(
    store: RedisStore, raw: Redis, key: str
) -> None:
    raw.set(key, "x")
    with pytest.raises(StoreDataError) as raised:
        store.limiter_acquire(EMAIL, "holder-1", 1000.0)
    assert f"Redis key {key!r} holds" in str(raised.value)
    assert sorted(raw.keys("*")) == [key]
    raw.delete(key)
    assert store.limiter_acquire(EMAIL, "holder-1", 1000.0).allowed
