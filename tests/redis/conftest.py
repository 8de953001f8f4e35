"""Fixtures of the Redis store's own scenarios: the store under test on a flushed real redis-server and
a plain redis-py client to look at exactly what it wrote (helpers live in ``redis_helpers.py``).

No ``__init__.py`` in this folder: a test package named ``redis`` would shadow redis-py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from redis.client import Redis

from sidequest.client import Client
from sidequest.stores.redis import RedisStore


@pytest.fixture
def store(redis_url: str) -> Iterator[RedisStore]:
    """The Redis store on a flushed database (overrides the suite's store-kind parametrization)."""
    opened = RedisStore(redis_url)
    yield opened
    opened.close()


@pytest.fixture
def raw(redis_url: str) -> Iterator[Redis]:
    """A plain client that shows the bytes the store wrote, as text."""
    client = Redis.from_url(redis_url, decode_responses=True, protocol=2)
    yield client
    client.close()


@pytest.fixture
def client(store: RedisStore) -> Client:
    """sidequest's own client on the store under test."""
    return Client(store)
