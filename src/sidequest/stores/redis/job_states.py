"""The Redis store's job records (iterable progress, cancelled flag), cancel and the expired counter.

A record is Sidekiq 7.3's ``it-<jid>`` HASH (fields ``ex``, ``c``, ``rt`` and ``cancelled``, the
cancel's epoch second), so Ruby's ``Sidekiq::Job::Iterable`` and sidequest read each other's; it
expires by the Redis server's clock. The expired counter is the STRING ``stat:expired``.

A cancel sets the flag first (HSETNX, as Sidekiq's ``cancel!`` does, with the expiry), then reads
the queues, the scheduled and retry sets page by page for the job's text and takes it out by that
exact text with its record (``lua/cancel_remove.lua``); a job that moved in between (promoted, claimed)
is looked for again. A job found in an in-flight list is running: it stays flagged.
"""

from __future__ import annotations

import math
from typing import Any

from sidequest.job_state import CancelResult, JobState
from sidequest.stores.payloads import decode
from sidequest.stores.redis import keys
from sidequest.stores.redis.conn import RedisConnection
from sidequest.stores.redis.scripts import load_script
from sidequest.stores.shared_job_states import holds_jid, jid_needle

STAT_EXPIRED = "stat:expired"
PAGE = 1000
"""Jobs read per LRANGE / ZRANGE while a cancel looks for one."""
ATTEMPTS = 5
"""How many times a cancel looks again for a job that moved while it was being taken out."""


def state_key(jid: str) -> str:
    """``it-<jid>``: Sidekiq 7.3's record of an iterable job and its cancelled flag."""
    return keys.JOB_STATE_PREFIX + jid


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisJobStates:
    """The job-record half of one :class:`~sidequest.stores.redis.RedisStore`, on its connection."""

    def __init__(self, conn: RedisConnection) -> None:
        self._conn = conn
        self._remove = load_script("cancel_remove")

    def job_state(self, jid: str) -> JobState | None:
        """HGETALL of ``it-<jid>``."""
        with self._conn.errors("read of a job's record"):
            reply = self._conn.call("HGETALL", state_key(jid))
        if not reply:
            return None
        fields = {_text(reply[i]): _text(reply[i + 1]) for i in range(0, len(reply), 2)}
        cancelled = fields.get("cancelled")
        return JobState(
            fields.get("c"),
            int(float(fields.get("ex") or 0)),
            float(fields.get("rt") or 0.0),
            float(cancelled) if cancelled else None,
        )

    def save_job_state(
        self, jid: str, cursor: str | None, executions: int, runtime: float, ttl: float
    ) -> None:
        """HSET ex, c, rt and EXPIRE, in one checked step (the cancelled field stays)."""
        key = state_key(jid)
        command: list[Any] = ["HSET", key, "ex", str(executions), "rt", repr(float(runtime))]
        if cursor is not None:
            command += ["c", cursor]
        with self._conn.errors("save of a job's record"):
            self._conn.checked([(key, "hash")], [tuple(command), ("EXPIRE", key, _whole(ttl))])

    def clear_job_state(self, jid: str) -> None:
        """DEL ``it-<jid>``."""
        with self._conn.errors("delete of a job's record"):
            self._conn.call("DEL", state_key(jid))

    def cancel(self, jid: str, now: float, ttl: float) -> CancelResult:
        """Flag, then look for the job and take it out if it waits."""
        needle = jid_needle(jid)
        key = state_key(jid)
        with self._conn.errors("cancel of a job"):
            self._conn.checked(
                [(key, "hash")],
                [("HSETNX", key, "cancelled", str(int(now))), ("EXPIRE", key, _whole(ttl))],
            )
            for _ in range(ATTEMPTS):
                found = self._find(needle, jid)
                if found is None:
                    return CancelResult("flagged" if self._running(needle, jid) else "not_found")
                where, kind, raw = found
                if self._conn.run(self._remove, [where, key], [kind, raw]) == 1:
                    return CancelResult("removed", decode(raw))
        return CancelResult("flagged" if self._running(needle, jid) else "not_found")

    def _find(self, needle: str, jid: str) -> tuple[str, str, str] | None:
        """Where the waiting job is, as (key, type, exact text); None when it waits nowhere."""
        names = sorted(_text(name) for name in self._conn.call("SMEMBERS", keys.QUEUES))
        for name in names:
            raw = self._scan_list(keys.queue(name), needle, jid)
            if raw is not None:
                return keys.queue(name), "list", raw
        for zset in (keys.SCHEDULE, keys.RETRY):
            start = 0
            while True:
                page = self._conn.call("ZRANGE", zset, start, start + PAGE - 1)
                for item in page or []:
                    text = _text(item)
                    if needle in text and holds_jid(text, jid):
                        return zset, "zset", text
                if not page or len(page) < PAGE:
                    break
                start += PAGE
        return None

    def _scan_list(self, key: str, needle: str, jid: str) -> str | None:
        start = 0
        while True:
            page = self._conn.call("LRANGE", key, start, start + PAGE - 1)
            for item in page or []:
                text = _text(item)
                if needle in text and holds_jid(text, jid):
                    return text
            if not page or len(page) < PAGE:
                return None
            start += PAGE

    def _running(self, needle: str, jid: str) -> bool:
        """True when the job is in some process's in-flight list."""
        lists = self._conn.call("SMEMBERS", keys.INFLIGHT_REGISTRY) or []
        return any(self._scan_list(_text(name), needle, jid) is not None for name in lists)

    def add_expired(self, count: int) -> None:
        """INCRBY ``stat:expired``."""
        if count:
            with self._conn.errors("count of expired jobs"):
                self._conn.checked([(STAT_EXPIRED, "integer")], [("INCRBY", STAT_EXPIRED, str(count))])

    def expired_count(self) -> int:
        """GET ``stat:expired``."""
        with self._conn.errors("read of the expired count"):
            value = self._conn.call("GET", STAT_EXPIRED)
        try:
            return int(_text(value)) if value is not None else 0
        except ValueError:
            return 0


def _whole(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
