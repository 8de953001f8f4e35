"""The Redis store's periodic (cron) jobs: a tick's unique key and its job are written by one Lua
script (``lua/cron_enqueue.lua``), so exactly one of any number of processes and machines offering
the same tick pushes it. No leader: every process offers every tick, and Redis orders the offers.

Keys (see :mod:`sidequest.stores.redis.keys`): ``sq|cron|<entry>`` (a HASH with the latest enqueue
and the paused flag) and ``sq|cron|<entry>|<tick>`` (the tick's key, kept for
:data:`~sidequest.stores.base.CRON_TICK_MEMORY`). The job itself goes to ``queue:<name>`` exactly as a
push would write it, so Ruby Sidekiq and its Web UI see an ordinary job.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import orjson

from sidequest.job import NewJob
from sidequest.stores.base import CRON_TICK_MEMORY, CronState
from sidequest.stores.redis import keys
from sidequest.stores.redis.admin import score_text
from sidequest.stores.redis.conn import RedisConnection
from sidequest.stores.redis.scripts import load_script

STATE_FIELDS = ("last_tick", "last_jid", "enqueued_at", "paused")


class RedisCron:
    """Periodic-job commands over one store's connection (the store delegates to this)."""

    def __init__(self, conn: RedisConnection) -> None:
        self._conn = conn
        self._enqueue = load_script("cron_enqueue")

    def enqueue_tick(self, entry: str, tick: int, job: NewJob) -> bool:
        """Run the enqueue script: True when this call pushed the tick's job."""
        queue = str(job.payload.get("queue") or "default")
        jid = str(job.payload.get("jid", ""))
        script_keys = [keys.cron_entry(entry), keys.cron_tick(entry, tick), keys.QUEUES, keys.queue(queue)]
        args = [
            tick,
            jid,
            orjson.dumps(job.payload),
            queue,
            math.ceil(CRON_TICK_MEMORY),
            score_text(time.time()),
        ]
        with self._conn.errors(f"enqueue of tick {tick} of periodic entry {entry!r}"):
            return bool(self._conn.run(self._enqueue, script_keys, args))

    def cron_state(self, entries: Sequence[str]) -> dict[str, CronState]:
        """One HMGET per entry, pipelined in one round trip."""
        names = list(dict.fromkeys(entries))
        if not names:
            return {}
        with self._conn.errors("reading periodic entries"):
            replies = self._conn.pipeline([("HMGET", keys.cron_entry(name), *STATE_FIELDS) for name in names])
        return {name: _state(name, reply) for name, reply in zip(names, replies, strict=True)}

    def pause(self, entry: str, paused: bool) -> None:
        """HSET the paused flag."""
        with self._conn.errors(f"{'pausing' if paused else 'resuming'} periodic entry {entry!r}"):
            self._conn.call("HSET", keys.cron_entry(entry), "paused", "1" if paused else "0")


def _state(name: str, reply: list[str | None]) -> CronState:
    last_tick, last_jid, enqueued_at, paused = reply
    return CronState(
        name,
        last_tick=float(last_tick) if last_tick is not None else None,
        last_jid=last_jid,
        enqueued_at=float(enqueued_at) if enqueued_at is not None else None,
        paused=paused == "1",
    )
