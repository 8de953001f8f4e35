"""Every Redis key the Redis store reads or writes, in one place.

Sidekiq's own keys (no prefix, no namespace; see the project's ``sidekiq-wire.md``), so Ruby Sidekiq,
its Web UI and ``Sidekiq::API`` read sidequest's data and the other way round:

=============================  ======  ==================================================================
``queues``                     SET     names of the queues jobs were pushed to
``queue:<name>``               LIST    jobs; clients LPUSH at the left, the next job is at the RIGHT end
``schedule``                   ZSET    scheduled jobs, score = due time (float seconds)
``retry``                      ZSET    failed jobs waiting for a retry, score = due time
``dead``                       ZSET    jobs out of retries, score = time of death
``processes``                  SET     identities of live processes
``<identity>``                 HASH    a process's heartbeat: info, busy, beat, quiet, rtt_us, rss, ...
``<identity>:work``            HASH    its busy jobs, thread id -> JSON (Sidekiq 6.4.2+ readers)
``<identity>:workers``         HASH    the same (Sidekiq 6.4.1 and earlier readers)
``<identity>-signals``         LIST    remote signals (TSTP, TERM, TTIN), LPUSHed by the Web UI
``stat:processed|failed``      STRING  counters (failed jobs count in processed too)
``stat:processed:YYYY-MM-DD``  STRING  the same per UTC day, kept 5 years
``j|...``                      HASH    per-class execution metrics (Sidekiq 7 and 8 layouts)
``<Class>-D-H:M``              STRING  per-class execution-time histogram (Sidekiq 7's BITFIELD, 26 u16)
``paused``                     SET     names of paused queues (Sidekiq Pro's ``Queue#pause!``)
``it-<jid>``                   HASH    a job's record (Sidekiq 7.3's iterable state): ``ex``, ``c``
                                       (cursor JSON), ``rt``, ``cancelled`` (epoch second); 30 days TTL
``stat:expired``               STRING  jobs dropped unrun past their ``expires_at``
=============================  ======  ==================================================================

sidequest's own keys, for reliable fetch (Sidekiq Pro's super_fetch layout), unique jobs and periodic jobs:

=============================  ======  ==================================================================
``queue:sq|<owner>|<queue>``   LIST    jobs ``owner`` claimed from ``queue`` and has not finished; newest
                                       at the left. Not in ``queues``, so Sidekiq never lists or fetches it.
``sq|inflight``                SET     every in-flight list key: where rescuers look for orphans
``sq|unique|<digest>``         STRING  a unique job's lock: the jid holding it, with a TTL (PX)
``sq|cron|<entry>``            HASH    a periodic entry: last_tick, last_jid, enqueued_at, paused
``sq|cron|<entry>|<tick>``     STRING  the jid enqueued for that tick (epoch second); expires after an hour
``sq|limiters``                SET     ``<kind>|<name>`` of every rate limiter used (``sidequest.limiter``)
``sq|limiter|<kind>|<name>``   HASH    a limiter: size, period, mark, level, allowed, refused, last_used
``sq|limiter|<k>|<n>|uses``    ZSET    concurrent holders (score: lock expiry) or window uses (score: time)
=============================  ======  ==================================================================
"""

from __future__ import annotations

from datetime import date, datetime

QUEUES = "queues"
SCHEDULE = "schedule"
RETRY = "retry"
DEAD = "dead"
PROCESSES = "processes"
STAT_PROCESSED = "stat:processed"
STAT_FAILED = "stat:failed"
INFLIGHT_REGISTRY = "sq|inflight"
PAUSED = "paused"

QUEUE_PREFIX = "queue:"
INFLIGHT_PREFIX = "queue:sq|"
UNIQUE_PREFIX = "sq|unique|"
CRON_PREFIX = "sq|cron|"
LIMITER_REGISTRY = "sq|limiters"
LIMITER_PREFIX = "sq|limiter|"
JOB_STATE_PREFIX = "it-"

STATS_TTL = 5 * 365 * 24 * 60 * 60
"""Sidekiq's ``Launcher::STATS_TTL``: dated counters live five years."""

SIGNALS_TTL = 60
"""Sidekiq's Web UI expires a process's signal list after a minute."""

METRICS_TTL = 8 * 60 * 60
"""Per-minute execution metrics live 8 hours (Sidekiq 7 and 8)."""

METRICS_COARSE_TTL = 72 * 60 * 60
"""Sidekiq 8's 10-minute metrics buckets live 3 days."""

SET_KEYS = {"scheduled": SCHEDULE, "retry": RETRY, "dead": DEAD}
"""The contract's set names and the Sidekiq keys behind them."""

STATS_PREFIX = "stat:"
METRICS_PREFIX = "j|"


def expected_type(key: str) -> str | None:
    """The Redis type (as ``TYPE`` names it) sidequest and Sidekiq keep in ``key``; None when the name
    alone does not tell (a process's heartbeat hash is named by its identity only)."""
    if key in (QUEUES, PROCESSES, INFLIGHT_REGISTRY, PAUSED, LIMITER_REGISTRY):
        return "set"
    if key in (SCHEDULE, RETRY, DEAD):
        return "zset"
    if key.startswith(QUEUE_PREFIX) or key.endswith("-signals"):
        return "list"  # queues and in-flight lists alike
    if key.startswith((UNIQUE_PREFIX, STATS_PREFIX)):
        return "string"
    if key.startswith(CRON_PREFIX):
        return "string" if "|" in key[len(CRON_PREFIX) :] else "hash"
    if key.startswith((METRICS_PREFIX, JOB_STATE_PREFIX)) or key.endswith((":work", ":workers")):
        return "hash"
    if key.startswith(LIMITER_PREFIX):
        return "zset" if key.endswith("|uses") else "hash"
    return None


def is_sidequest_own(key: str) -> bool:
    """True for the keys only sidequest writes (reliable fetch, unique and cron); Sidekiq writes the rest."""
    return key.startswith(("sq|", INFLIGHT_PREFIX))


def queue(name: str) -> str:
    """``queue:<name>``: the list a queue's jobs wait in."""
    return QUEUE_PREFIX + name


def inflight(owner: str, queue_name: str) -> str:
    """``queue:sq|<owner>|<queue>``: the jobs ``owner`` claimed from ``queue_name``."""
    return f"{INFLIGHT_PREFIX}{owner}|{queue_name}"


def parse_inflight(key: str) -> tuple[str, str] | None:
    """``(owner, queue)`` for an in-flight list key, or None for a key of another shape.

    Identities may contain ``|`` in theory, queue names may not (Sidekiq's Web UI refuses them), so
    the queue is whatever follows the last ``|``.
    """
    if not key.startswith(INFLIGHT_PREFIX):
        return None
    owner, sep, queue_name = key[len(INFLIGHT_PREFIX) :].rpartition("|")
    if not sep or not owner or not queue_name:
        return None
    return owner, queue_name


def unique_lock(digest: str) -> str:
    """``sq|unique|<digest>``: the lock of the unique jobs whose class, queue and args make ``digest``."""
    return f"{UNIQUE_PREFIX}{digest}"


def cron_entry(entry: str) -> str:
    """``sq|cron|<entry>``: a periodic entry's latest enqueue and paused flag."""
    return f"{CRON_PREFIX}{entry}"


def cron_tick(entry: str, tick: int) -> str:
    """``sq|cron|<entry>|<tick>``: the unique key of one tick. Entry names hold no ``|``."""
    return f"{CRON_PREFIX}{entry}|{tick}"


def process(identity: str) -> str:
    """``<identity>``: a process's heartbeat hash, whose existence is its lease."""
    return identity


def work(identity: str) -> str:
    """``<identity>:work``: busy jobs, as Sidekiq 6.4.2+ reads them."""
    return f"{identity}:work"


def workers(identity: str) -> str:
    """``<identity>:workers``: busy jobs, as Sidekiq 6.4.1 and earlier read them."""
    return f"{identity}:workers"


def signals(identity: str) -> str:
    """``<identity>-signals``: remote signals waiting for the process's next beat."""
    return f"{identity}-signals"


def stat_processed_on(day: date) -> str:
    """``stat:processed:YYYY-MM-DD`` (UTC day)."""
    return f"{STAT_PROCESSED}:{day.isoformat()}"


def stat_failed_on(day: date) -> str:
    """``stat:failed:YYYY-MM-DD`` (UTC day)."""
    return f"{STAT_FAILED}:{day.isoformat()}"


def metrics_keys(at: datetime) -> list[tuple[str, int]]:
    """The per-class metrics hashes for a UTC time, with their TTLs.

    Sidekiq 7 reads ``j|%Y%m%d|%-H:%-M``; Sidekiq 8 reads ``j|%y%m%d|%-H:%M`` and a 10-minute bucket
    made by dropping the last digit. Fields are ``<Class>|p``, ``<Class>|f`` and ``<Class>|ms``.
    """
    sidekiq7 = f"j|{at:%Y%m%d}|{at.hour}:{at.minute}"
    sidekiq8 = f"j|{at:%y%m%d}|{at.hour}:{at.minute:02d}"
    return [(sidekiq7, METRICS_TTL), (sidekiq8, METRICS_TTL), (sidekiq8[:-1], METRICS_COARSE_TTL)]


def histogram_keys(name: str, at: datetime) -> list[str]:
    """A class's execution-time histogram keys for a UTC minute: Sidekiq 7's ``<Class>-%d-%H:%-M`` and
    Sidekiq 8's ``h|<Class>-%-d-%-H:%-M`` (each a BITFIELD of 26 u16 counters)."""
    return [f"{name}-{at:%d}-{at:%H}:{at.minute}", f"h|{name}-{at.day}-{at.hour}:{at.minute}"]


def limiter(kind: str, name: str) -> str:
    """``sq|limiter|<kind>|<name>``: a rate limiter's settings, counters and bucket state."""
    return f"{LIMITER_PREFIX}{kind}|{name}"


def limiter_uses(kind: str, name: str) -> str:
    """``sq|limiter|<kind>|<name>|uses``: a concurrent limiter's holders or a window limiter's uses."""
    return f"{LIMITER_PREFIX}{kind}|{name}|uses"
