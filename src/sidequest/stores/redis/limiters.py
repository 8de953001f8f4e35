"""Rate limiters in the Redis store (``Store.limiter_acquire`` / ``limiter_release`` / ``limiters``).

A limiter is the hash ``sq|limiter|<kind>|<name>`` (settings, counters, bucket state) and, for the
concurrent and window kinds, the sorted set ``sq|limiter|<kind>|<name>|uses``; ``sq|limiters`` lists
them. Each acquire is one Lua call (``lua/limiter_acquire.lua``) that prunes, counts, decides and
records, so racing acquires from every machine are ordered by Redis; the clock is Redis's ``TIME``
unless the caller gives one. Sidekiq Enterprise's limiters (closed source) name their keys
differently, so the two never share a limit.
"""

from __future__ import annotations

from typing import cast

from sidequest.limits import KINDS, Limit, LimiterKind, LimiterStats, Verdict, bucket_start, leaky_level
from sidequest.stores.redis import keys
from sidequest.stores.redis.conn import RedisConnection
from sidequest.stores.redis.scripts import load_script

FIELDS = ("size", "period", "mark", "level", "allowed", "refused", "last_used")


class RedisLimiters:
    """The limiter half of one :class:`~sidequest.stores.redis.RedisStore`, on its connection."""

    def __init__(self, conn: RedisConnection) -> None:
        self._conn = conn
        # Loaded here rather than in Scripts: they belong to this one feature.
        self._acquire = load_script("limiter_acquire")
        self._release = load_script("limiter_release")

    def acquire(self, limit: Limit, token: str, now: float | None, final: bool) -> Verdict:
        """Run ``limiter_acquire.lua``."""
        with self._conn.errors(f"use of {limit.kind} limiter {limit.name!r}"):
            allowed, wait, at = self._conn.run(
                self._acquire,
                [
                    keys.limiter(limit.kind, limit.name),
                    keys.limiter_uses(limit.kind, limit.name),
                    keys.LIMITER_REGISTRY,
                ],
                [
                    limit.kind,
                    limit.size,
                    repr(float(limit.period)),
                    token,
                    "" if now is None else repr(float(now)),
                    "1" if final else "0",
                    f"{limit.kind}|{limit.name}",
                ],
            )
        return Verdict(int(allowed) == 1, float(wait), float(at))

    def release(self, limit: Limit, token: str, now: float | None) -> bool:
        """Run ``limiter_release.lua``."""
        if limit.kind != "concurrent":
            return False
        with self._conn.errors(f"release of concurrent limiter {limit.name!r}"):
            released = self._conn.run(
                self._release,
                [keys.limiter_uses(limit.kind, limit.name)],
                [token, "" if now is None else repr(float(now))],
            )
        return int(released) == 1

    def stats(self, now: float | None) -> list[LimiterStats]:
        """SMEMBERS of the registry, one pipelined HMGET per limiter, and a ZCOUNT per concurrent or
        window limiter (a read of several keys, not one snapshot)."""
        with self._conn.errors("reading rate limiters"):
            if now is None:
                seconds, micros = self._conn.call("TIME")
                now = int(seconds) + int(micros) / 1_000_000
            members = sorted(str(member) for member in self._conn.call("SMEMBERS", keys.LIMITER_REGISTRY))
            named = [tuple(member.split("|", 1)) for member in members if "|" in member]
            named = [(kind, name) for kind, name in named if kind in KINDS]
            if not named:
                return []
            replies = self._conn.pipeline(
                [("HMGET", keys.limiter(kind, name), *FIELDS) for kind, name in named]
            )
            found: list[LimiterStats] = []
            for (kind, name), reply in zip(named, replies, strict=True):
                size, period, mark, level, allowed, refused, last_used = reply
                if size is None or period is None:
                    continue
                limit = Limit(cast(LimiterKind, kind), name, int(size), float(period))
                found.append(
                    LimiterStats(
                        limit.kind,
                        name,
                        limit.size,
                        limit.period,
                        self._in_use(limit, float(mark or 0), float(level or 0), now),
                        int(allowed or 0),
                        int(refused or 0),
                        None if last_used is None else float(last_used),
                    )
                )
            return found

    def _in_use(self, limit: Limit, mark: float, level: float, now: float) -> float:
        if limit.kind in ("concurrent", "window"):
            since = now if limit.kind == "concurrent" else now - limit.period
            uses = keys.limiter_uses(limit.kind, limit.name)
            return float(self._conn.call("ZCOUNT", uses, f"({since!r}", "+inf"))
        if limit.kind == "bucket":
            return level if abs(mark - bucket_start(limit.period, now)) < 1e-6 else 0.0
        return leaky_level(limit, level, mark, now)
