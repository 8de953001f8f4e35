"""Batches in the Redis store, in Sidekiq Pro's key layout (``b-<bid>`` and its sets, the
``batches`` ZSET; see ``lua/batches.lua``). Adding jobs (with their pushes) and recording outcomes
(with every transition and callback push they cause) are each one Lua script, so a transition and the
push of its callback happen together or not at all, and the ``fired:<event>`` field written with
them keeps any later call from firing it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from sidequest.batch_records import (
    UNFINISHED_TTL,
    BatchAdd,
    BatchInfo,
    BatchOutcome,
    now_text,
)
from sidequest.errors import StoreError
from sidequest.stores.redis import keys
from sidequest.stores.redis.admin import score_text
from sidequest.stores.redis.conn import RedisConnection
from sidequest.stores.redis.scripts import load_script

BATCHES = "batches"
SUFFIXES = ("", "-pending", "-unrun", "-failed")
FAILED_JIDS_SHOWN = 1000


def batch_keys(bid: str) -> list[tuple[str, str]]:
    """The keys of one batch with their types."""
    base = f"b-{bid}"
    return [(base, "hash"), (base + "-pending", "set"), (base + "-unrun", "set"), (base + "-failed", "set")]


class RedisBatches:
    """The batch half of one :class:`~sidequest.stores.redis.RedisStore`, on its connection."""

    def __init__(self, conn: RedisConnection) -> None:
        self._conn = conn
        self._script = load_script("batches")

    def _run(self, mode: str, types: list[tuple[str, str]], now: float, ops: Any) -> Any:
        unique = list(dict.fromkeys(types))
        args = [
            mode,
            now_text(now),
            repr(UNFINISHED_TTL),
            orjson.dumps([kind for _, kind in unique]),
            orjson.dumps(ops),
        ]
        return self._conn.run(self._script, [key for key, _ in unique], args)

    def add(self, adds: Sequence[BatchAdd], now: float) -> None:
        """Run ``batches.lua`` in ``add`` mode for every addition at once."""
        if not adds:
            return
        types: list[tuple[str, str]] = [(BATCHES, "zset")]
        ops: list[dict[str, Any]] = []
        for add in adds:
            types += batch_keys(add.bid)
            queued: list[list[str]] = []
            scheduled: list[list[str]] = []
            for job in add.jobs:
                text = orjson.dumps(job.payload).decode()
                if job.at is None:
                    queue = str(job.payload.get("queue") or "default")
                    types += [(keys.QUEUES, "set"), (keys.queue(queue), "list")]
                    queued.append([queue, text])
                else:
                    types.append((keys.SCHEDULE, "zset"))
                    scheduled.append([score_text(job.at), text])
            op: dict[str, Any] = {
                "bid": add.bid,
                "jids": [str(job.payload["jid"]) for job in add.jobs],
                "queued": queued,
                "scheduled": scheduled,
            }
            new = add.new
            if new is not None:
                if new.parent is not None:
                    types += batch_keys(new.parent)
                callbacks = [[cb.event, cb.jid, cb.queue, cb.template] for cb in new.callbacks]
                for cb in new.callbacks:
                    types += [(keys.QUEUES, "set"), (keys.queue(cb.queue), "list")]
                op["new"] = {
                    "parent": new.parent,
                    "desc": new.description,
                    "created_at": score_text(new.created_at),
                    "linger": repr(float(new.linger)),
                    "tail": new.status_tail(),
                    "callbacks": orjson.dumps(callbacks).decode(),
                }
            ops.append(op)
        with self._conn.errors(f"adding jobs to batch {adds[0].bid}"):
            reply = self._run("add", types, now, ops)
        if isinstance(reply, list) and reply and reply[0] == "missing":
            raise StoreError(
                f"batch {reply[1]} is not open to new jobs (it succeeded, expired, or was deleted); "
                f"open a new Batch instead"
            )

    def record(self, outcomes: Sequence[BatchOutcome], now: float) -> int:
        """Run ``batches.lua`` in ``record`` mode for every outcome at once."""
        if not outcomes:
            return 0
        types: list[tuple[str, str]] = []
        for outcome in outcomes:
            types += batch_keys(outcome.bid)
        ops = [[o.bid, o.jid, o.kind] for o in outcomes]
        with self._conn.errors(f"recording {len(outcomes)} batch outcome(s)"):
            return int(self._run("record", types, now, ops))

    def status(self, bid: str, with_failed: bool = True) -> BatchInfo | None:
        """One batch's status, read in one round trip."""
        base = f"b-{bid}"
        commands: list[tuple[Any, ...]] = [
            ("HGETALL", base),
            ("SCARD", base + "-pending"),
            ("SCARD", base + "-unrun"),
            ("SMEMBERS", base + "-failed") if with_failed else ("SCARD", base + "-failed"),
        ]
        with self._conn.errors(f"reading batch {bid}"):
            meta, pending, unrun, failed = self._conn.pipeline(commands)
        return _info(bid, meta, int(pending), int(unrun), failed)

    def page(self, offset: int, limit: int) -> list[BatchInfo]:
        """A page of ``batches``, newest first; bids whose data expired are dropped from the ZSET."""
        if limit <= 0:
            return []
        with self._conn.errors("listing batches"):
            bids = self._conn.call("ZREVRANGE", BATCHES, max(0, offset), max(0, offset) + limit - 1)
        found: list[BatchInfo] = []
        gone: list[str] = []
        for bid in bids:
            info = self.status(str(bid), with_failed=False)
            if info is None:
                gone.append(str(bid))
            else:
                found.append(info)
        if gone:
            with self._conn.errors("forgetting expired batches"):
                self._conn.call("ZREM", BATCHES, *gone)
        return found

    def delete(self, bid: str) -> bool:
        """DEL of the batch's keys and ZREM from ``batches``."""
        with self._conn.errors(f"deleting batch {bid}"):
            removed = self._conn.call("DEL", *[f"b-{bid}{suffix}" for suffix in SUFFIXES])
            self._conn.call("ZREM", BATCHES, bid)
        return bool(removed)


def _info(bid: str, meta: Any, pending: int, unrun: int, failed: Any) -> BatchInfo | None:
    if not meta:
        return None
    flat = list(meta.items()) if isinstance(meta, dict) else list(zip(meta[::2], meta[1::2], strict=True))
    fields = {str(k): str(v) for k, v in flat}
    if isinstance(failed, (list, set)):
        failed_jids = sorted(str(j) for j in failed)
        failures = len(failed_jids)
    else:
        failed_jids, failures = [], int(failed)
    fired = {k.split(":", 1)[1]: _float(v) for k, v in fields.items() if k.startswith("fired:")}
    try:  # a batch hash another tool wrote (Sidekiq Pro's) lists no callbacks of ours
        listed = orjson.loads(fields.get("callbacks") or "[]")
        callbacks = [str(item[0]) for item in listed if isinstance(item, list) and item]
    except (orjson.JSONDecodeError, TypeError):
        callbacks = []
    return BatchInfo(
        bid=bid,
        description=fields.get("desc", ""),
        parent=fields.get("parent") or None,
        created_at=_float(fields.get("created_at")),
        total=int(_float(fields.get("total"))),
        pending=pending,
        failures=failures,
        unrun=unrun,
        failed_jids=failed_jids[:FAILED_JIDS_SHOWN],
        fired=fired,
        callbacks=callbacks,
    )


def _float(text: str | None) -> float:
    try:
        return float(text) if text else 0.0
    except ValueError:
        return 0.0
