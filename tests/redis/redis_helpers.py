"""Helpers of the Redis store's scenarios: publish a process as the runtime does, push raw payloads."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from sidequest.job import Claimed, NewJob, Payload, ProcessInfo, WorkInfo
from sidequest.stores.base import Heartbeat
from sidequest.stores.redis import RedisStore

OWNER = "test-host:4242:0123456789ab"


def process_info(
    identity: str = OWNER, queues: Sequence[str] = ("default",), quiet: bool = False
) -> ProcessInfo:
    """What a sidequest process publishes."""
    return ProcessInfo(
        identity=identity,
        hostname="test-host",
        pid=os.getpid(),
        started_at=1795823124.538,
        concurrency=3,
        queues=list(queues),
        quiet=quiet,
        tag="mytag",
        labels=["blue"],
        rss_kb=51234,
        version="0.1.0",
    )


def beat(
    store: RedisStore,
    identity: str = OWNER,
    busy: Sequence[Claimed] = (),
    processed: int = 0,
    failed: int = 0,
    ttl: float = 60.0,
    quiet: bool = False,
) -> list[str]:
    """Beat as the runtime does, with ``busy`` running on threads ``tid-0``, ``tid-1``..."""
    work = [
        WorkInfo(identity, f"tid-{index}", job.queue, job.payload, job.raw, time.time())
        for index, job in enumerate(busy)
    ]
    heartbeat = Heartbeat(process_info(identity, quiet=quiet), work, processed, failed, ttl)
    return store.beat(heartbeat)


def push_raw(store: RedisStore, payload: Payload, at: float | None = None) -> None:
    """Push one payload through the store (not the client), exactly as given."""
    store.push([NewJob(payload, at)])
