"""Admin reads and actions of the Redis store, with the semantics of Sidekiq's ``Sidekiq::API``
(``Stats``, ``Queue``, ``JobSet``, ``ProcessSet``, ``WorkSet``) so the CLI and the dashboard show what
Sidekiq's Web UI would, for Ruby processes as well as Python ones.

Entries are matched by their exact stored text (LREM / ZREM member), so an entry someone else has
already moved or deleted is skipped rather than guessed at. An action over several entries acts on each
one by itself: when a key one of them needs holds another type (another application wrote it), the
others are done and :class:`~sidequest.errors.StoreDataError` then names the key and says how many moved.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sidequest import serializer
from sidequest.job import (
    Counts,
    JobEntry,
    ProcessInfo,
    QueueInfo,
    SetName,
    WorkInfo,
    timestamp_seconds,
)
from sidequest.retry import DEAD_MAX_JOBS, DEAD_TIMEOUT_SECONDS
from sidequest.stores import payloads
from sidequest.stores.base import clear_target
from sidequest.stores.redis import keys
from sidequest.stores.redis.conn import Command, RedisConnection
from sidequest.stores.redis.errors import KeyTypeError
from sidequest.stores.redis.payload_json import patch_payload
from sidequest.stores.redis.scripts import Script, Scripts

SET_STATES: dict[str, SetName] = {"scheduled": "scheduled", "retry": "retry", "dead": "dead"}


def score_text(value: float) -> str:
    """A float-seconds time as Redis and JSON text, always with a decimal point or exponent
    (``1700000000.0``): Sidekiq 8 reads a JSON integer as milliseconds."""
    return repr(float(value))


def raise_bad_keys(replies: list[Any], done: int, total: int, verb: str) -> None:
    """Raise one :class:`KeyTypeError` naming every bad key among ``replies``, if any; re-raise any
    other error reply."""
    for reply in replies:
        if isinstance(reply, Exception) and not isinstance(reply, KeyTypeError):
            raise reply
    errors = [reply for reply in replies if isinstance(reply, KeyTypeError)]
    if errors:
        unique = list({item.key: item for error in errors for item in error.bad}.values())
        raise KeyTypeError(unique, f"{verb} {done} of {total} job(s); the others stay where they were")


def seconds(value: Any) -> float:
    """A time Sidekiq wrote into a hash or info JSON: float seconds, or integer seconds or ms."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0.0
    # Integer milliseconds (Sidekiq 8) are 1000 times bigger than any plausible epoch second.
    return float(value) / 1000.0 if value > 100_000_000_000 else float(value)


def to_int(value: Any) -> int:
    """An integer field that may be missing or garbled (Ruby writes some as strings)."""
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return 0


class RedisAdmin:
    """The admin half of :class:`~sidequest.stores.redis.RedisStore` (same connection and scripts)."""

    def __init__(self, conn: RedisConnection, scripts: Scripts) -> None:
        self._conn = conn
        self._scripts = scripts

    # -- reads ---------------------------------------------------------------------------------------

    def queues(self) -> list[QueueInfo]:
        """Every queue in ``queues`` or ``paused``, sorted by name, with its size, its oldest job's
        latency and its paused flag (a paused queue is listed even once cleared, so it can be resumed)."""
        with self._conn.errors("listing queues"):
            known, paused = self._conn.pipeline_replies(
                [("SMEMBERS", keys.QUEUES), ("SMEMBERS", keys.PAUSED)]
            )
            if isinstance(known, Exception):
                raise known
            # Another application wrote `paused` as another type: list the queues (none paused), as the
            # claim script reads it.
            paused_names = set() if isinstance(paused, Exception) else set(paused)
            names = sorted(set(known) | paused_names)
            commands: list[Command] = []
            for name in names:
                commands += [("LLEN", keys.queue(name)), ("LINDEX", keys.queue(name), -1)]
            replies = self._conn.pipeline(commands) if commands else []
        now = time.time()
        infos = []
        for index, name in enumerate(names):
            size, oldest = replies[2 * index], replies[2 * index + 1]
            latency = 0.0
            if oldest is not None:
                payload = payloads.job_or_none(oldest)
                enqueued = timestamp_seconds(payload.get("enqueued_at")) if payload else None
                latency = max(0.0, now - enqueued) if enqueued is not None else 0.0
            infos.append(QueueInfo(name=name, size=int(size), latency=latency, paused=name in paused_names))
        return infos

    def pause_queue(self, name: str, paused: bool) -> None:
        """Sidekiq Pro's ``Queue#pause!`` / ``#unpause!``: SADD / SREM ``name`` in ``paused``."""
        verb = "pausing" if paused else "resuming"
        with self._conn.errors(f"{verb} queue {name!r}"):
            # One command: a `paused` key of another type fails with KeyTypeError naming it.
            self._conn.call("SADD" if paused else "SREM", keys.PAUSED, name)

    def counts(self) -> Counts:
        """Totals as Sidekiq's ``Stats`` computes them (busy = sum of live processes' ``busy``)."""
        with self._conn.errors("reading stats"):
            processed, failed, scheduled, retry, dead, names = self._conn.pipeline(
                [
                    ("GET", keys.STAT_PROCESSED),
                    ("GET", keys.STAT_FAILED),
                    ("ZCARD", keys.SCHEDULE),
                    ("ZCARD", keys.RETRY),
                    ("ZCARD", keys.DEAD),
                    ("SMEMBERS", keys.QUEUES),
                ]
            )
            sizes = self._conn.pipeline([("LLEN", keys.queue(name)) for name in names]) if names else []
        live = self.processes()
        return Counts(
            processed=to_int(processed),
            failed=to_int(failed),
            enqueued=sum(int(size) for size in sizes),
            scheduled=int(scheduled),
            retry=int(retry),
            dead=int(dead),
            processes=len(live),
            busy=sum(process.busy for process in live),
        )

    def history(self, days: int, today: date) -> list[tuple[date, int, int]]:
        """``stat:processed:<day>`` and ``stat:failed:<day>`` for ``days`` days up to ``today``."""
        if days <= 0:
            return []
        dates = [today - timedelta(days=offset) for offset in range(days)]
        with self._conn.errors("reading stats history"):
            processed, failed = self._conn.pipeline(
                [
                    ("MGET", *[keys.stat_processed_on(day) for day in dates]),
                    ("MGET", *[keys.stat_failed_on(day) for day in dates]),
                ]
            )
        return [(day, to_int(p), to_int(f)) for day, p, f in zip(dates, processed, failed, strict=True)]

    def list_queue(self, queue: str, offset: int = 0, limit: int = 25) -> list[JobEntry]:
        """A page of a queue from its fetch (right) end: the job that runs next comes first."""
        if limit <= 0 or offset < 0:
            return []
        with self._conn.errors(f"listing queue {queue}"):
            raws = self._conn.call("LRANGE", keys.queue(queue), -(offset + limit), -(offset + 1))
        return [
            JobEntry(state="enqueued", queue=queue, raw=raw, payload=payloads.job_or_none(raw))
            for raw in reversed(raws)
        ]

    def list_set(self, name: SetName, offset: int = 0, limit: int = 25) -> list[JobEntry]:
        """A page of ``schedule`` or ``retry`` (soonest due first) or ``dead`` (latest death first)."""
        if limit <= 0 or offset < 0:
            return []
        key = keys.SET_KEYS[name]
        command = "ZREVRANGE" if name == "dead" else "ZRANGE"
        with self._conn.errors(f"listing the {name} set"):
            flat = self._conn.call(command, key, offset, offset + limit - 1, "WITHSCORES")
        entries = []
        for raw, score in zip(flat[::2], flat[1::2], strict=True):
            payload = payloads.job_or_none(raw)
            queue = str(payload.get("queue", "")) if payload else ""
            entries.append(JobEntry(state=name, queue=queue, raw=raw, payload=payload, score=float(score)))
        return entries

    def processes(self) -> list[ProcessInfo]:
        """Live processes, sorted by identity. Members of ``processes`` whose hash expired are removed,
        as Sidekiq's ``ProcessSet.cleanup`` does (a killed process never removes itself)."""
        fields = ("info", "busy", "beat", "quiet", "rss", "concurrency")
        with self._conn.errors("listing processes"):
            identities = sorted(self._conn.call("SMEMBERS", keys.PROCESSES))
            rows = (
                self._conn.pipeline([("HMGET", keys.process(i), *fields) for i in identities])
                if identities
                else []
            )
            gone = [identity for identity, row in zip(identities, rows, strict=True) if row[0] is None]
            if gone:
                self._conn.call("SREM", keys.PROCESSES, *gone)
        found = []
        for identity, (info_text, busy, beat, quiet, rss, concurrency) in zip(identities, rows, strict=True):
            if info_text is None:
                continue
            try:
                info = serializer.loads(info_text)
            except ValueError:
                info = {}
            if not isinstance(info, dict):
                info = {}
            found.append(
                ProcessInfo(
                    identity=identity,
                    hostname=str(info.get("hostname", "")),
                    pid=to_int(info.get("pid")),
                    started_at=seconds(info.get("started_at")),
                    concurrency=to_int(concurrency if concurrency is not None else info.get("concurrency")),
                    queues=[str(queue) for queue in info.get("queues") or []],
                    busy=to_int(busy),
                    beat=seconds(beat),
                    quiet=quiet == "true",
                    tag=str(info.get("tag") or ""),
                    labels=[str(label) for label in info.get("labels") or []],
                    rss_kb=to_int(rss),
                    version=str(info.get("version") or ""),
                    boot_id=str(info.get("sq_boot_id") or ""),
                    pid_namespace=str(info.get("sq_pid_namespace") or ""),
                    pid_started=to_int(info.get("sq_pid_started")),
                    process_pool=to_int(info.get("sq_process_pool")),
                    weights=_weights(info.get("weights")),
                )
            )
        return found

    def busy(self) -> list[WorkInfo]:
        """The busy jobs of live processes: ``<id>:work``, or ``<id>:workers`` (Sidekiq 6.4.1)."""
        identities = [process.identity for process in self.processes()]
        if not identities:
            return []
        with self._conn.errors("listing busy jobs"):
            commands: list[Command] = []
            for identity in identities:
                commands += [("HGETALL", keys.work(identity)), ("HGETALL", keys.workers(identity))]
            flat = self._conn.pipeline(commands)
        hashes = [dict(zip(pairs[::2], pairs[1::2], strict=True)) for pairs in flat]
        found = []
        for index, identity in enumerate(identities):
            entries: dict[str, str] = hashes[2 * index] or hashes[2 * index + 1]
            for thread_id, text in sorted(entries.items()):
                try:
                    work = serializer.loads(text)
                except ValueError:
                    continue
                if not isinstance(work, dict):
                    continue
                payload = work.get("payload")
                raw = payload if isinstance(payload, str) else serializer.dumps(payload)
                found.append(
                    WorkInfo(
                        identity=identity,
                        thread_id=thread_id,
                        queue=str(work.get("queue", "")),
                        payload=payloads.job_or_none(raw),
                        raw=raw,
                        run_at=seconds(work.get("run_at")),
                    )
                )
        return found

    # -- actions -------------------------------------------------------------------------------------

    def delete(self, entries: Sequence[JobEntry]) -> int:
        """LREM a queued entry, ZREM a set entry, each by its exact text; returns how many went."""
        commands: list[Command] = []
        for entry in entries:
            if entry.state == "enqueued":
                commands.append(("LREM", keys.queue(entry.queue), 1, entry.raw))
            elif entry.state in SET_STATES:
                commands.append(("ZREM", keys.SET_KEYS[entry.state], entry.raw))
        if not commands:
            return 0
        with self._conn.errors(f"deleting {len(commands)} job(s)"):
            replies = self._conn.pipeline_replies(commands)
            removed = sum(int(reply) for reply in replies if isinstance(reply, int))
            raise_bad_keys(replies, removed, len(commands), "deleted")
        return removed

    def retry_now(self, entries: Sequence[JobEntry]) -> int:
        """Push set entries to the back of their queues now, as Sidekiq's ``SortedEntry#retry`` (retry
        and dead: ``retry_count`` - 1) and ``ScheduledSet#add_to_queue`` do; ``enqueued_at`` = now."""
        now = time.time()
        calls: list[tuple[list[str], list[Any]]] = []
        for entry in entries:
            if entry.state not in SET_STATES:
                continue
            payload = payloads.job_or_none(entry.raw)
            if payload is None:
                continue  # no queue to send it to; it stays where people can see it
            updated = payloads.retried_now(payload, entry.state, now)
            queue = str(updated.get("queue") or "default")
            text = patch_payload(entry.raw, payload, updated)
            calls.append(
                ([keys.SET_KEYS[entry.state], keys.QUEUES, keys.queue(queue)], [entry.raw, text, queue])
            )
        return self._run_many("retrying jobs now", self._scripts.set_to_queue, calls)

    def kill_entries(self, entries: Sequence[JobEntry], now: float) -> int:
        """Move scheduled or retry entries, unchanged, to the dead set at ``now``; then trim it."""
        calls = [
            (
                [keys.SET_KEYS[entry.state], keys.DEAD],
                [entry.raw, score_text(now), score_text(now - DEAD_TIMEOUT_SECONDS), DEAD_MAX_JOBS],
            )
            for entry in entries
            if entry.state in ("scheduled", "retry")
        ]
        return self._run_many("killing jobs", self._scripts.set_to_dead, calls)

    def _run_many(self, action: str, script: Script, calls: list[tuple[list[str], list[Any]]]) -> int:
        if not calls:
            return 0
        with self._conn.errors(action):
            # SCRIPT LOAD first in the same pipeline: the script exists before the first EVALSHA, even
            # just after a Redis restart; loading a cached script again is only a hash lookup.
            commands: list[Command] = [("SCRIPT", "LOAD", script.source)]
            commands += [("EVALSHA", script.sha, len(k), *k, *a) for k, a in calls]
            replies = self._conn.pipeline_replies(commands)[1:]
            moved = sum(int(reply) for reply in replies if isinstance(reply, int))
            raise_bad_keys(replies, moved, len(calls), "moved")
        return moved

    def clear(self, where: str) -> int:
        """Empty ``queue:NAME`` (and drop NAME from ``queues``) or a set; returns how many jobs went."""
        kind, name = clear_target(where)
        if kind == "queue":
            # Checked first: UNLINK of a key another application wrote would delete its data.
            types = [(keys.queue(name), "list"), (keys.QUEUES, "set")]
            commands: list[Command] = [
                ("LLEN", keys.queue(name)),
                ("UNLINK", keys.queue(name)),
                ("SREM", keys.QUEUES, name),
            ]
        else:
            types = [(keys.SET_KEYS[name], "zset")]
            commands = [("ZCARD", keys.SET_KEYS[name]), ("UNLINK", keys.SET_KEYS[name])]
        with self._conn.errors(f"clearing {where}"):
            return int(self._conn.checked(types, commands)[0])

    def signal(self, identity: str, signal: str) -> None:
        """Queue a signal for a process's next beat: LPUSH + EXPIRE 60, as Sidekiq's Web UI (which uses
        MULTI; here one checked call, so a signals key of another type writes nothing)."""
        with self._conn.errors(f"signalling {identity}"):
            key = keys.signals(identity)
            self._conn.checked([(key, "list")], [("LPUSH", key, signal), ("EXPIRE", key, keys.SIGNALS_TTL)])


def _weights(value: Any) -> dict[str, int]:
    """Sidekiq 7.3+'s ``weights``: a list of ``{queue: weight}`` objects, one per capsule, merged."""
    merged: dict[str, int] = {}
    for capsule in value if isinstance(value, list) else []:
        if isinstance(capsule, dict):
            merged.update({str(name): to_int(weight) for name, weight in capsule.items()})
    return merged
