"""Unique-job locks in the Redis store (``Store.push_unique`` / ``Store.release_unique``).

A lock is the string key ``sq|unique|<digest>`` holding the jid that took it, with a TTL set by
``SET NX PX``: Redis's clock expires it, and the push runs in the same Lua script as the SET, so the
lock and the job are written together or not at all (``lua/push_unique.lua``). A release is a
compare-and-delete by jid (``lua/release_unique.lua``), batched like acks.

The key is sidequest's own: Sidekiq Enterprise's unique jobs (closed source) name theirs differently,
so a Ruby Enterprise client and sidequest never block each other's pushes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import orjson

from sidequest.job import NewJob
from sidequest.stores.redis import keys
from sidequest.stores.redis.admin import score_text
from sidequest.stores.redis.conn import RedisConnection
from sidequest.stores.redis.scripts import load_script


class RedisUniqueLocks:
    """The unique-lock half of one :class:`~sidequest.stores.redis.RedisStore`, on its connection."""

    def __init__(self, conn: RedisConnection) -> None:
        self._conn = conn
        # Loaded here rather than in Scripts: they belong to this one feature, and each store instance
        # still loads its own copy (no module state).
        self._push = load_script("push_unique")
        self._release = load_script("release_unique")

    def push_unique(self, job: NewJob, key: str, ttl: float) -> bool:
        """Run ``push_unique.lua``: SET NX PX of the lock, then LPUSH (or ZADD) of the job."""
        queue = str(job.payload.get("queue") or "default")
        target = keys.queue(queue) if job.at is None else keys.SCHEDULE
        # PX takes whole milliseconds >= 1; rounding up never lets a lock end before its time.
        ttl_ms = max(1, math.ceil(ttl * 1000))
        due = "" if job.at is None else score_text(job.at)
        with self._conn.errors(f"unique push of job {job.payload.get('jid')}"):
            pushed = self._conn.run(
                self._push,
                [keys.unique_lock(key), keys.QUEUES, target],
                [str(job.payload["jid"]), ttl_ms, orjson.dumps(job.payload), queue, due],
            )
        return bool(pushed)

    def release_unique(self, locks: Sequence[tuple[str, str]]) -> int:
        """Run ``release_unique.lua`` for every ``(key, jid)`` pair in one call."""
        if not locks:
            return 0
        with self._conn.errors(f"release of {len(locks)} unique lock(s)"):
            released, report = self._conn.run(
                self._release, [keys.unique_lock(key) for key, _ in locks], [jid for _, jid in locks]
            )
        # A lock key of another type holds no jid of ours: nothing to release there; the others go.
        self._conn.report(
            f"release of {len(locks)} unique lock(s)", report, "it was left alone; the others were released"
        )
        return int(released)
