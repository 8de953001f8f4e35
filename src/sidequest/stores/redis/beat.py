"""The heartbeat in Redis: what a process publishes on every beat, exactly as Sidekiq's ``Launcher#❤``
writes it (6.4 fields, plus what 7.x/8.x readers look for), so Sidekiq's Busy page lists sidequest
processes and their running jobs.

One beat is one atomic step (built here as a list of commands, run by ``lua/checked.lua``): the stats
deltas, the busy hashes, the ``processes`` SET, the ``<identity>`` hash with its TTL (the lease), and
popping the remote signals. Every key it writes is checked for its type first (:func:`written_types`),
so if it fails, nothing was counted and the caller adds the deltas to its next beat. (MULTI/EXEC would
have counted the stats and then failed on a ``processes`` key of another type.)
"""

from __future__ import annotations

from datetime import UTC, datetime

from sidequest import serializer
from sidequest.job import ProcessInfo, WorkInfo
from sidequest.stores.base import Heartbeat
from sidequest.stores.redis import keys
from sidequest.stores.redis import metrics as redis_metrics
from sidequest.stores.redis.admin import score_text
from sidequest.stores.redis.conn import Command

HSET_FIELDS = 500
"""Busy jobs written per HSET command."""

MAX_SIGNALS = 100
"""Signals taken per beat (Sidekiq takes one; a burst of TSTP then TERM should not wait a beat)."""


def lease_ms(ttl: float) -> int:
    """A TTL in milliseconds for PEXPIRE (tests use sub-second leases), at least 1 ms."""
    return max(1, int(ttl * 1000))


def beat_commands(heartbeat: Heartbeat, now: float, rtt_us: int) -> list[Command]:
    """Every command of one beat at ``now``; the last one's reply is the list of signals."""
    identity = heartbeat.process.identity
    return [
        *stats_commands(heartbeat, now),
        ("SADD", keys.PROCESSES, identity),
        *lease_commands(heartbeat, now, rtt_us),
        ("RPOP", keys.signals(identity), MAX_SIGNALS),
    ]


def lease_commands(heartbeat: Heartbeat, now: float, rtt_us: int) -> list[Command]:
    """The busy jobs, the ``<identity>`` hash and its TTL: the lease itself. Written alone when another
    key of the beat holds the wrong type, so one bad key never lets a live process's lease lapse (its
    jobs would be rescued and run twice)."""
    process = heartbeat.process
    identity = process.identity
    return [
        *work_commands(heartbeat, lease_ms(heartbeat.ttl)),
        (
            "HSET",
            keys.process(identity),
            *("info", process_info_json(process)),
            *("busy", len(heartbeat.busy), "beat", score_text(now)),
            *("quiet", "true" if process.quiet else "false"),
            *("rtt_us", rtt_us, "rss", process.rss_kb),
            # Sidekiq 8.1.2+ reads concurrency from its own field (a missing one shows as 0).
            *("concurrency", process.concurrency),
        ),
        ("PEXPIRE", keys.process(identity), lease_ms(heartbeat.ttl)),
    ]


def written_types(commands: list[Command]) -> list[tuple[str, str]]:
    """The type each key the beat's ``commands`` write must hold beforehand: counters hold integers,
    the process hash is a hash. Keys the beat deletes first (the busy hashes) hold anything."""
    deleted = {str(key) for command in commands if command[0] == "DEL" for key in command[1:]}
    types: dict[str, str] = {}
    for command in commands:
        key = str(command[1])
        if key in deleted or key in types:
            continue
        if command[0] == "INCRBY":
            types[key] = "integer"
        elif command[0] == "BITFIELD":
            types[key] = "string"  # a histogram, named by its class: the name alone does not tell
        else:
            types[key] = keys.expected_type(key) or "hash"  # the process hash is named by its identity
    return list(types.items())


def stats_commands(heartbeat: Heartbeat, now: float) -> list[Command]:
    """INCRBY the processed/failed deltas into the totals and the UTC day's counters (kept 5 years),
    and the per-class metrics into Sidekiq 7's and 8's hashes."""
    moment = datetime.fromtimestamp(now, UTC)
    day = moment.date()
    commands: list[Command] = []
    for count, total, dated in (
        (heartbeat.processed, keys.STAT_PROCESSED, keys.stat_processed_on(day)),
        (heartbeat.failed, keys.STAT_FAILED, keys.stat_failed_on(day)),
    ):
        if count:
            commands += [("INCRBY", total, count), ("INCRBY", dated, count)]
            commands.append(("EXPIRE", dated, keys.STATS_TTL))
    commands += redis_metrics.record_commands(heartbeat.class_metrics(now), now)
    return commands


def work_commands(heartbeat: Heartbeat, ttl_ms: int) -> list[Command]:
    """Replace the busy-jobs hash, under both names Sidekiq readers use (6.4.1 and 6.4.2+)."""
    identity = heartbeat.process.identity
    both = (keys.work(identity), keys.workers(identity))
    commands: list[Command] = [("DEL", *both)]
    if heartbeat.busy:
        fields: list[str] = []
        for work in heartbeat.busy:
            fields += [work.thread_id, work_json(work)]
        for key in both:
            # At most HSET_FIELDS fields per HSET: the checked script unpacks each command's arguments,
            # and Lua's unpack stops near 8,000 (a process with thousands of threads would never beat).
            step = 2 * HSET_FIELDS
            commands += [("HSET", key, *fields[at : at + step]) for at in range(0, len(fields), step)]
            commands.append(("PEXPIRE", key, ttl_ms))
    return commands


def process_info_json(process: ProcessInfo) -> str:
    """The ``info`` field: Sidekiq 6.4's keys in its order, plus 7.3+'s ``version`` and ``embedded``."""
    return serializer.dumps(
        {
            "hostname": process.hostname,
            "started_at": float(process.started_at),
            "pid": process.pid,
            "tag": process.tag,
            "concurrency": process.concurrency,
            "queues": list(dict.fromkeys(process.queues)),
            "labels": list(process.labels),
            "identity": process.identity,
            "version": process.version or _sidequest_version(),
            "embedded": False,
            # Sidekiq 7.3+'s form: one {queue: weight} object per capsule (a process is one capsule).
            "weights": [dict(process.weights)],
            # sidequest's own: lets a process on the same machine prove this one dead (Sidekiq ignores them).
            "sq_boot_id": process.boot_id,
            "sq_pid_namespace": process.pid_namespace,
            "sq_pid_started": process.pid_started,
            "sq_process_pool": process.process_pool,
        }
    )


def work_json(work: WorkInfo) -> str:
    """A busy job as Sidekiq's Processor#stats writes it: the payload is the raw job text."""
    return serializer.dumps({"queue": work.queue, "payload": work.raw, "run_at": int(work.run_at)})


def _sidequest_version() -> str:
    from sidequest import __version__

    return __version__
