"""The Redis store: Sidekiq's own data model, plus reliable fetch.

Everything Ruby Sidekiq (6.x/7.x) and its Web UI read is written exactly as Sidekiq writes it (see
:mod:`sidequest.stores.redis.keys`), so Ruby and Python processes can share one Redis.

Reliable fetch (what Sidekiq's free version lacks): a claim moves jobs atomically (one Lua call, up to
``limit`` jobs across the queues in order) from ``queue:NAME`` into the owner's in-flight list
``queue:sq|<owner>|NAME``. A job leaves that list only through ack, retry, kill or requeue, each a Lua
script that first removes the exact job text from the list and writes nothing if it is not there. The
owner's lease is its heartbeat hash ``<owner>``, which expires ``ttl`` seconds after its last beat; any
process's :meth:`RedisStore.rescue_orphans` then pushes the in-flight jobs back to their queues. At no
instant is a job only in a process's memory, so a kill -9 anywhere loses nothing.

Blocking when every queue is empty (no busy loop, no job held only in memory):

* one queue: ``BLMOVE queue:NAME -> in-flight list``, so a new job is claimed about 1 ms after its push;
* several queues: ``BLMOVE`` on the first queue (the most important in strict order) for
  :attr:`RedisStore.poll_interval` (50 ms, which Redis rounds up to its next ~100 ms cron tick), then
  one batched claim over all the queues. The first queue is served in about 1 ms, the others within
  ~100 ms, at the cost of ~10 cheap round trips a second per idle fetcher. Redis cannot block on
  several lists and move atomically at once: BLMPOP would hold the job only in this process's memory,
  and notifications would miss jobs pushed by Ruby clients.

The in-flight registry is SADDed before any job can land in a list (inside the claim script, and just
before the BLMOVE in the same pipeline), so rescuers can always find it. A process must beat before its
first claim: an owner without a heartbeat hash has no lease and its jobs count as orphans.

If Redis runs a claim but its reply is lost (the connection drops at that instant), the jobs sit in
the caller's in-flight list under its live lease; the runtime then lists them with
:meth:`RedisStore.owned` and requeues those it never received.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Sequence
from datetime import date

import orjson
from redis.exceptions import NoPermissionError

from sidequest.errors import PermanentStoreError, StoreError
from sidequest.job import (
    Claimed,
    ClassMetrics,
    Counts,
    JobEntry,
    NewJob,
    Payload,
    ProcessInfo,
    QueueInfo,
    SetName,
    WorkInfo,
)
from sidequest.retry import DEAD_MAX_JOBS, DEAD_TIMEOUT_SECONDS
from sidequest.stores.base import CronState, Heartbeat, RescueResult, Store
from sidequest.stores.redis import facts as redis_facts
from sidequest.stores.redis import keys
from sidequest.stores.redis import metrics as redis_metrics
from sidequest.stores.redis.admin import RedisAdmin, score_text
from sidequest.stores.redis.batches import RedisBatches
from sidequest.stores.redis.beat import beat_commands, lease_commands, written_types
from sidequest.stores.redis.claim import RedisClaims, parse_claimed
from sidequest.stores.redis.conn import (
    CHECKED_ARGS,
    Command,
    RedisConnection,
)
from sidequest.stores.redis.cron import RedisCron
from sidequest.stores.redis.errors import KeyTypeError
from sidequest.stores.redis.feature_methods import RedisFeatureMethods
from sidequest.stores.redis.job_states import RedisJobStates
from sidequest.stores.redis.limiters import RedisLimiters
from sidequest.stores.redis.payload_json import patch_payload
from sidequest.stores.redis.scripts import Scripts
from sidequest.stores.redis.unique import RedisUniqueLocks

PROMOTE_CHUNK = 250
"""Jobs one promote script moves at most: ~7 us (scheduled) to ~14 us (retry, a longer text scan) each,
so Redis is never busy with one call for more than a few milliseconds."""

PROMOTE_SKIP_LIMIT = 2000
"""Due entries one :meth:`RedisStore.promote_due` passes over at most (their queue's key holds another
type) before it stops: the entries behind them are still reached, at a bounded cost per call."""

RESCUE_CHUNK = 500
"""Jobs one rescue call moves at most."""

EVICTION_WARNING = (
    "Your Redis instance will evict Sidekiq data under heavy load. The 'noeviction' maxmemory policy is "
    "recommended (current policy: {policy!r}): jobs can vanish. Set maxmemory-policy noeviction."
)
"""Sidekiq's own warning (sidekiq/cli.rb), with what to do."""


def chunked(command: tuple[str, str], values: Sequence[bytes | str], size: int) -> list[Command]:
    """``command`` over ``values`` as several commands of at most ``size`` values each (LPUSH a b is
    LPUSH a then LPUSH b, so order is kept)."""
    return [(*command, *values[first : first + size]) for first in range(0, len(values), size)]


class RedisStore(RedisFeatureMethods, Store):
    """Jobs in Redis, in Sidekiq's data model, with reliable fetch. Thread-safe; one per process."""

    poll_interval: float = 0.05
    """With several queues, how long each BLMOVE on the first queue waits before every queue is looked
    at again. Redis checks blocking timeouts on its cron tick (``hz``, 10 a second by default), so the
    real wait, and the latency of a job pushed to a queue other than the first, is up to ~100 ms."""

    def __init__(self, url: str) -> None:
        self._conn = RedisConnection(url)
        self.url = url
        """The URL as given; logs and errors show :attr:`safe_url` (``redis://user:***@host``)."""
        self._scripts = Scripts()
        self._admin = RedisAdmin(self._conn, self._scripts)
        self._cron = RedisCron(self._conn)
        self._unique = RedisUniqueLocks(self._conn)
        self._limiters = RedisLimiters(self._conn)
        self._batches = RedisBatches(self._conn)
        self._closing = threading.Event()
        self._claims = RedisClaims(self._conn, self._scripts, self._closing)
        self._job_states = RedisJobStates(self._conn)

    def __repr__(self) -> str:
        return f"RedisStore({self._conn.safe_url!r})"

    # -- client side ---------------------------------------------------------------------------------

    def push(self, jobs: Sequence[NewJob]) -> None:
        """Store jobs in one round trip and one atomic step: Sidekiq's commands, run by the checked
        script (``lua/checked.lua``) once every key they write is known to hold its type, so a key of
        the wrong type raises :class:`StoreDataError` with nothing written (MULTI would have applied
        the other commands).

        Immediate jobs: one SADD of their queue names, then one variadic LPUSH per queue (per 1,000
        jobs), in the order given (the first job runs first). Scheduled jobs: ZADD to ``schedule``.
        """
        if not jobs:
            return
        by_queue: dict[str, list[bytes]] = {}
        scheduled: list[bytes | str] = []
        for job in jobs:
            data = orjson.dumps(job.payload)
            if job.at is None:
                by_queue.setdefault(str(job.payload.get("queue") or "default"), []).append(data)
            else:
                scheduled += [score_text(job.at), data]
        commands: list[Command] = []
        types: list[tuple[str, str]] = []
        if by_queue:
            # SADD first, so a job is never in a queue Sidekiq's UI does not list.
            types.append((keys.QUEUES, "set"))
            commands += chunked(("SADD", keys.QUEUES), list(by_queue), CHECKED_ARGS)
            for name, texts in by_queue.items():
                types.append((keys.queue(name), "list"))
                commands += chunked(("LPUSH", keys.queue(name)), texts, CHECKED_ARGS)
        if scheduled:
            types.append((keys.SCHEDULE, "zset"))
            commands += chunked(("ZADD", keys.SCHEDULE), scheduled, 2 * CHECKED_ARGS)
        with self._conn.errors(f"push of {len(jobs)} job(s)"):
            self._conn.checked(types, commands)

    def push_unique(self, job: NewJob, key: str, ttl: float) -> bool:
        """SET NX PX of ``sq|unique|<key>`` and the push in one Lua call (see ``redis_unique.py``); the
        lock expires by the Redis server's clock."""
        return self._unique.push_unique(job, key, ttl)

    def release_unique(self, locks: Sequence[tuple[str, str]]) -> int:
        """Compare-and-delete each lock by jid, in one Lua call."""
        return self._unique.release_unique(locks)

    # -- processing ----------------------------------------------------------------------------------

    def claim(self, queues: Sequence[str], limit: int, owner: str, timeout: float) -> list[Claimed]:
        """Move up to ``limit`` jobs to ``owner``'s in-flight lists; block up to ``timeout`` when idle.

        See the module docstring for how the wait works with one queue and with several.
        """
        names = list(dict.fromkeys(queues))
        if not names or limit <= 0:
            return []
        deadline = time.monotonic() + max(timeout, 0.0)
        try:
            return self._claims.claim(names, limit, owner, deadline, self.poll_interval)
        except StoreError:
            if self._closing.is_set():
                # close() from another thread cut the connection a claim was waiting on: that is how
                # a stopping process wakes its fetcher, not an outage. (A job Redis moved just then
                # stays in the in-flight list and is rescued once this process's lease ends.)
                return []
            raise

    def ack(self, owner: str, jobs: Sequence[Claimed]) -> int:
        """Remove finished jobs still in ``owner``'s in-flight lists, in one Lua call."""
        if not jobs:
            return 0
        with self._conn.errors(f"ack of {len(jobs)} job(s)"):
            inflight = [keys.inflight(owner, job.queue) for job in jobs]
            removed, report = self._conn.run(self._scripts.ack, inflight, [job.raw for job in jobs])
        # An in-flight key of another type holds none of our jobs (as after a lost lease): the others
        # are acked, and a person is told.
        self._conn.report(f"ack of {len(jobs)} job(s)", report, "its jobs were not acked; the others were")
        return int(removed)

    def retry(self, owner: str, job: Claimed, payload: Payload, at: float) -> bool:
        """Move the job from ``owner``'s in-flight list to the ``retry`` set, due at ``at``."""
        text = patch_payload(job.raw, job.payload, payload)
        with self._conn.errors(f"retry of job {job.jid}"):
            moved = self._conn.run(
                self._scripts.retry,
                [keys.inflight(owner, job.queue), keys.RETRY],
                [job.raw, text, score_text(at)],
            )
        return bool(moved)

    def kill(self, owner: str, job: Claimed, payload: Payload | None, at: float) -> bool:
        """Move the job from ``owner``'s in-flight list to the ``dead`` set, then trim the dead set."""
        text = job.raw if payload is None else patch_payload(job.raw, job.payload, payload)
        with self._conn.errors(f"kill of job {job.jid}"):
            moved = self._conn.run(
                self._scripts.kill,
                [keys.inflight(owner, job.queue), keys.DEAD],
                [job.raw, text, score_text(at), score_text(at - DEAD_TIMEOUT_SECONDS), DEAD_MAX_JOBS],
            )
        return bool(moved)

    def requeue(self, owner: str, jobs: Sequence[Claimed]) -> int:
        """RPUSH jobs ``owner`` still holds back to the fetch end of their queues, oldest rightmost."""
        if not jobs:
            return 0
        script_keys = [keys.QUEUES]
        args: list[str] = []
        for job in reversed(jobs):
            script_keys += [keys.inflight(owner, job.queue), keys.queue(job.queue)]
            args += [job.raw, job.queue]
        with self._conn.errors(f"requeue of {len(jobs)} job(s)"):
            moved, report = self._conn.run(self._scripts.requeue, script_keys, args)
        self._conn.report(
            f"requeue of {len(jobs)} job(s)",
            report,
            "the jobs for it stay in the in-flight list, to be rescued once it is fixed; the others moved",
        )
        return int(moved)

    def owned(self, owner: str) -> list[Claimed]:
        """Every job in ``owner``'s in-flight lists, by queue name, oldest claim first in each queue (to
        reconcile a claim whose reply was lost: those jobs are under a live lease, where no rescuer
        looks)."""
        with self._conn.errors(f"listing the jobs {owner} holds"):
            lists = [
                (key, parsed[1])
                for key in sorted(self._conn.call("SMEMBERS", keys.INFLIGHT_REGISTRY))
                if (parsed := keys.parse_inflight(key)) is not None and parsed[0] == owner
            ]
            replies = self._conn.pipeline([("LRANGE", key, 0, -1) for key, _ in lists]) if lists else []
        return [
            parse_claimed(raw, queue)
            for (_, queue), raws in zip(lists, replies, strict=True)
            for raw in reversed(raws)
        ]

    # -- process lifecycle and maintenance -----------------------------------------------------------

    def beat(self, heartbeat: Heartbeat) -> list[str]:
        """Sidekiq's heartbeat in one checked call: counters, busy jobs, process hash, lease, signals.
        When another key of the beat holds the wrong type, the lease is still renewed before the
        :class:`StoreDataError` is raised."""
        identity = heartbeat.process.identity
        with self._conn.errors(f"heartbeat of {identity}"):
            started = time.perf_counter()
            self._conn.call("PING")  # Sidekiq publishes the round-trip time it measures this way
            rtt_us = int((time.perf_counter() - started) * 1_000_000)
            now = time.time()
            commands = beat_commands(heartbeat, now, rtt_us)
            try:
                results = self._conn.checked(written_types(commands), commands)
            except KeyTypeError:
                # A stats, busy or processes key of the wrong type: nothing was written. Renew the
                # lease alone, then report the bad key (the deltas are given back and counted later).
                lease = lease_commands(heartbeat, now, rtt_us)
                with contextlib.suppress(KeyTypeError):
                    self._conn.checked(written_types(lease), lease)
                raise
        return list(results[-1] or [])

    def unregister(self, identity: str) -> None:
        """Sidekiq's clear_heartbeat, and the lease ends now: held jobs become orphans at once."""
        with self._conn.errors(f"unregister of {identity}"):
            self._conn.checked(
                [(keys.PROCESSES, "set")],
                [
                    ("SREM", keys.PROCESSES, identity),
                    ("DEL", keys.process(identity), keys.work(identity), keys.workers(identity)),
                ],
            )

    def promote_due(self, now: float, limit: int = 1000) -> int:
        """Move due ``retry`` and ``schedule`` jobs, soonest first, to their queues: Lua scripts of up
        to :data:`PROMOTE_CHUNK` jobs each, until ``limit`` jobs moved or none is due."""
        moved = passed_retry = passed_scheduled = 0
        with self._conn.errors("promotion of due jobs"):
            while limit > 0 and passed_retry + passed_scheduled < PROMOTE_SKIP_LIMIT:
                chunk = min(limit, PROMOTE_CHUNK)
                done, buried, passed_r, passed_s, report = self._conn.run(
                    self._scripts.promote_due,
                    [keys.QUEUES, keys.RETRY, keys.SCHEDULE, keys.DEAD],
                    [
                        *(score_text(now), chunk, score_text(now - DEAD_TIMEOUT_SECONDS), DEAD_MAX_JOBS),
                        *(passed_retry, passed_scheduled),
                    ],
                )
                self._conn.report(
                    "promotion of due jobs",
                    report,
                    "the due jobs it concerns stay in their set; every other due job moves",
                )
                moved += int(done)
                limit -= int(done) + int(buried)
                # Entries passed over stay at the front of their set: the next call starts after them.
                passed_retry += int(passed_r)
                passed_scheduled += int(passed_s)
                if int(done) + int(buried) + int(passed_r) + int(passed_s) < chunk:
                    break
        return moved

    def end_lease(self, identity: str) -> None:
        """The heartbeat hash is the lease: removing it (as a clean exit does) makes the jobs orphans."""
        self.unregister(identity)

    def rescue_orphans(
        self, now: float, max_orphaned: int = 3, *, exclude: str | None = None
    ) -> RescueResult:
        """Give back the in-flight jobs of owners whose heartbeat hash has expired.

        Redis expires the hash, so the server's clock decides when a lease is over; ``now`` is the time
        of death written on poison pills. Each list is emptied by Lua calls that re-check the lease.
        """
        requeued = killed = 0
        with self._conn.errors("rescue of orphaned jobs"):
            lists = self._conn.call("SMEMBERS", keys.INFLIGHT_REGISTRY)
            by_owner: dict[str, list[tuple[str, str]]] = {}
            for key in lists:
                parsed = keys.parse_inflight(key)
                if parsed is not None:
                    by_owner.setdefault(parsed[0], []).append((key, parsed[1]))
            owners = list(by_owner)
            alive = self._conn.pipeline([("EXISTS", keys.process(owner)) for owner in owners])
            for owner, lives in zip(owners, alive, strict=True):
                if lives or owner == exclude:
                    continue
                cutoff = score_text(now - DEAD_TIMEOUT_SECONDS)
                for key, queue_name in by_owner[owner]:
                    script_keys = [keys.INFLIGHT_REGISTRY, keys.process(owner), key, keys.queue(queue_name)]
                    script_keys += [keys.QUEUES, keys.DEAD]
                    args = [score_text(now), max_orphaned, queue_name, cutoff, DEAD_MAX_JOBS, RESCUE_CHUNK]
                    left = 1
                    while left > 0:
                        done, dead, left, report = self._conn.run(self._scripts.rescue, script_keys, args)
                        requeued += int(done)
                        killed += int(dead)
                        self._conn.report(
                            "rescue of orphaned jobs",
                            report,
                            f"the jobs in {key!r} stay there until it is fixed; other lists were rescued",
                        )
        return RescueResult(requeued=requeued, killed=killed)

    # -- periodic (cron) jobs (see RedisCron) -----------------------------------------------------------

    def enqueue_tick(self, entry: str, tick: float, job: NewJob) -> bool:
        """SET NX of ``sq|cron|<entry>|<tick>`` and the push in one Lua call (see ``redis_cron.py``)."""
        if job.at is not None:
            raise ValueError("enqueue_tick pushes an immediate job; job.at must be None")
        return self._cron.enqueue_tick(entry, int(tick), job)

    def cron_state(self, entries: Sequence[str]) -> dict[str, CronState]:
        """The ``sq|cron|<entry>`` hashes, in one round trip."""
        return self._cron.cron_state(entries)

    def pause_cron(self, entry: str, paused: bool) -> None:
        """HSET ``paused`` on ``sq|cron|<entry>``."""
        self._cron.pause(entry, paused)

    # -- admin reads and actions (see RedisAdmin) ----------------------------------------------------

    def queues(self) -> list[QueueInfo]:
        """Every queue in ``queues`` with LLEN and the latency of its oldest job."""
        return self._admin.queues()

    def pause_queue(self, name: str, paused: bool) -> None:
        """Sidekiq Pro's pause: SADD / SREM the name in the ``paused`` SET, which claims skip."""
        self._admin.pause_queue(name, paused)

    def counts(self) -> Counts:
        """Sidekiq's Stats: counters, queue and set sizes, live processes and their busy jobs."""
        return self._admin.counts()

    def history(self, days: int, today: date) -> list[tuple[date, int, int]]:
        """Sidekiq's Stats::History: the dated counters, newest first."""
        return self._admin.history(days, today)

    def list_queue(self, queue: str, offset: int = 0, limit: int = 25) -> list[JobEntry]:
        """A page of ``queue:NAME`` read from the right (the next job first)."""
        return self._admin.list_queue(queue, offset, limit)

    def list_set(self, name: SetName, offset: int = 0, limit: int = 25) -> list[JobEntry]:
        """A page of ``schedule``/``retry`` (soonest first) or ``dead`` (latest first)."""
        return self._admin.list_set(name, offset, limit)

    def processes(self) -> list[ProcessInfo]:
        """Sidekiq's ProcessSet: live processes (dead members are pruned, as Sidekiq does)."""
        return self._admin.processes()

    def busy(self) -> list[WorkInfo]:
        """Sidekiq's WorkSet: the busy jobs of live processes."""
        return self._admin.busy()

    def delete(self, entries: Sequence[JobEntry]) -> int:
        """LREM / ZREM each entry by its exact text."""
        return self._admin.delete(entries)

    def retry_now(self, entries: Sequence[JobEntry]) -> int:
        """Sidekiq's "Retry Now" / "Add to queue"."""
        return self._admin.retry_now(entries)

    def kill_entries(self, entries: Sequence[JobEntry], now: float) -> int:
        """Sidekiq's "Kill" on scheduled or retry entries."""
        return self._admin.kill_entries(entries, now)

    def clear(self, where: str) -> int:
        """Sidekiq's Queue#clear or JobSet#clear."""
        return self._admin.clear(where)

    def signal(self, identity: str, signal: str) -> None:
        """LPUSH ``<identity>-signals`` + EXPIRE 60, as Sidekiq's Web UI does (in one checked call)."""
        self._admin.signal(identity, signal)

    def metrics(self, since: float, until: float) -> list[ClassMetrics]:
        """Sidekiq's metrics hashes and histograms (see :mod:`sidequest.stores.redis.metrics`)."""
        with self._conn.errors("reading the per-class metrics"):
            return redis_metrics.read(self._conn, since, until, time.time())

    def server_facts(self) -> dict[str, str]:
        """Sidekiq's Redis panel: version, uptime, clients, used and peak memory, from ``INFO``."""
        with self._conn.errors("reading the server's INFO"):
            return redis_facts.server_facts(str(self._conn.call("INFO")))

    def startup_warnings(self) -> list[str]:
        """Sidekiq's warning when ``maxmemory-policy`` is not ``noeviction`` (Redis may then delete
        jobs), read from ``INFO memory``: managed Redis services often disable CONFIG GET."""
        try:
            with self._conn.errors("reading the maxmemory-policy"):
                try:
                    info = str(self._conn.call("INFO", "memory"))
                except NoPermissionError as exc:  # a check, not a need: a user without INFO may run
                    return [f"could not check the Redis maxmemory-policy: this user may not run INFO ({exc})"]
        except PermanentStoreError:
            raise  # a wrong password or database: the process cannot work, say so at once
        except StoreError as exc:
            return [f"could not check the Redis maxmemory-policy ({exc})"]
        for line in info.splitlines():
            if line.startswith("maxmemory_policy:"):
                policy = line.split(":", 1)[1].strip()
                return [] if policy == "noeviction" else [EVICTION_WARNING.format(policy=policy)]
        return []

    def close(self) -> None:
        """Close every connection of this store; a claim waiting in another thread returns ``[]``."""
        self._closing.set()
        self._conn.close()
