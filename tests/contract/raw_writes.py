"""What another application, a hand edit or an older sidequest could leave in a store: text written past
the contract, straight into each store's own tables or keys. The scenarios then ask the contract what
becomes of it. This is the one contract module that knows which store it talks to."""

from __future__ import annotations

import sqlite3

import redis
from sidequest.stores.base import Store
from sidequest.stores.postgres.store import PostgresStore
from sidequest.stores.redis import keys
from sidequest.stores.sqlite import SQLiteStore


def put_in_set(store: Store, state: str, raw: str, score: float, queue: str = "default") -> None:
    """Write ``raw`` as an entry of the ``state`` set (scheduled, retry or dead) due or dead at ``score``."""
    if isinstance(store, SQLiteStore):
        with sqlite3.connect(store.path) as conn:
            insert = "INSERT INTO jobs (queue, state, payload, score) VALUES (?, ?, ?, ?)"
            conn.execute(insert, (queue, state, raw, score))
    elif isinstance(store, PostgresStore):
        with store._tx() as conn:
            conn.execute(
                f"INSERT INTO {store.s}.jobs (queue, state, payload, score) VALUES (%s, %s, %s, %s)",
                (queue, state, raw, score),
            )
    else:
        client = redis.Redis.from_url(store.url)
        try:
            client.zadd(keys.SET_KEYS[state], {raw: score})
        finally:
            client.close()
