"""Per-class execution metrics in Redis, in Sidekiq's own keys (``lib/sidekiq/metrics/``), so Sidekiq's
Web UI shows sidequest's classes and sidequest's dashboard shows Ruby's:

* counts: HASH fields ``<Class>|p`` (runs, failures included), ``<Class>|f`` and ``<Class>|ms`` (total ms
  of successful runs) in Sidekiq 7's ``j|%Y%m%d|%-H:%-M`` and Sidekiq 8's ``j|%y%m%d|%-H:%M`` minute
  hashes (8 hours) and Sidekiq 8's 10-minute hash (that key minus its last digit, 3 days);
* histograms: 26 saturating u16 counters (``BITFIELD ... OVERFLOW SAT``) in Sidekiq 7's
  ``<Class>-%d-%H:%-M`` and Sidekiq 8's ``h|<Class>-%-d-%-H:%-M`` keys (8 hours).

Each minute's keys expire at that minute plus their lifetime, so a minute a failed beat carried over
expires when it would have; one already past its lifetime is not written at all (an EXPIREAT in the
past would delete the key, and the other classes' counts in it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime

from sidequest.job import METRIC_BUCKETS_MS, METRICS_RETENTION, ClassMetrics
from sidequest.stores.redis import keys
from sidequest.stores.redis.conn import Command, RedisConnection

COARSE = 600
"""Seconds in one of Sidekiq 8's coarse buckets."""

HISTOGRAM_GETS: list[str | int] = [
    part for index in range(len(METRIC_BUCKETS_MS)) for part in ("GET", "u16", f"#{index}")
]


def utc(seconds: float) -> datetime:
    """An epoch second as an aware UTC datetime."""
    return datetime.fromtimestamp(seconds, UTC)


def record_commands(metrics: Sequence[ClassMetrics], now: float) -> list[Command]:
    """The HINCRBY / BITFIELD / EXPIREAT commands that add ``metrics`` to Sidekiq's keys."""
    commands: list[Command] = []
    expiries: dict[str, int] = {}
    for item in metrics:
        at = utc(item.minute)
        fields = [("p", item.processed), ("f", item.failed), ("ms", round(item.ms))]
        for key, ttl in keys.metrics_keys(at):
            if item.minute + ttl <= now:
                continue
            commands += [("HINCRBY", key, f"{item.name}|{kind}", count) for kind, count in fields if count]
            expiries[key] = max(expiries.get(key, 0), int(item.minute + ttl))
        if any(item.histogram) and item.minute + keys.METRICS_TTL > now:
            increments: list[str | int] = []
            for index, count in enumerate(item.histogram[: len(METRIC_BUCKETS_MS)]):
                if count:
                    increments += ["INCRBY", "u16", f"#{index}", count]
            for key in keys.histogram_keys(item.name, at):
                commands.append(("BITFIELD", key, "OVERFLOW", "SAT", *increments))
                expiries[key] = max(expiries.get(key, 0), int(item.minute + keys.METRICS_TTL))
    commands += [("EXPIREAT", key, when) for key, when in expiries.items()]
    return commands


def read(conn: RedisConnection, since: float, until: float, now: float) -> list[ClassMetrics]:
    """The metrics of the periods starting in ``[since, until)``: minutes from Sidekiq 8's minute hashes
    and histograms when the whole range is within their 8 hours, else Sidekiq 8's 10-minute hashes."""
    since = max(since, now - METRICS_RETENTION)
    fine = since > now - keys.METRICS_TTL
    step = 60 if fine else COARSE
    starts = list(range(math.ceil(since / step) * step, math.ceil(until / step) * step, step))
    if not starts:
        return []
    layout = 1 if fine else 2  # metrics_keys: Sidekiq 7's minute, Sidekiq 8's minute, Sidekiq 8's coarse
    hashes = conn.pipeline_replies(
        [("HGETALL", keys.metrics_keys(utc(start))[layout][0]) for start in starts]
    )
    found: list[ClassMetrics] = []
    for start, reply in zip(starts, hashes, strict=True):
        if not isinstance(reply, list):
            continue  # a key another application wrote as another type: that period shows nothing
        found += _parse(dict(zip(reply[::2], reply[1::2], strict=True)), float(start))
    if not fine:
        return found
    timed = [item for item in found if item.processed > item.failed]
    replies = conn.pipeline_replies(
        [("BITFIELD", keys.histogram_keys(item.name, utc(item.minute))[1], *HISTOGRAM_GETS) for item in timed]
    )
    histograms = {
        (item.name, item.minute): tuple(int(count) for count in reply)
        for item, reply in zip(timed, replies, strict=True)
        if isinstance(reply, list)
    }
    return [
        ClassMetrics(i.name, i.minute, i.processed, i.failed, i.ms, histograms.get((i.name, i.minute), ()))
        for i in found
    ]


def _parse(fields: dict[str, str], start: float) -> list[ClassMetrics]:
    counts: dict[str, dict[str, float]] = {}
    for field, value in fields.items():
        name, sep, kind = field.rpartition("|")
        if not sep or kind not in ("p", "f", "ms"):
            continue
        try:
            counts.setdefault(name, {})[kind] = float(value)
        except ValueError:
            continue
    return [
        ClassMetrics(name, start, int(c.get("p", 0)), int(c.get("f", 0)), c.get("ms", 0.0))
        for name, c in sorted(counts.items())
    ]
