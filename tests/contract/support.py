"""What the contract scenarios are built from: real payloads (made by sidequest's own Client), beats
published like a running process publishes them, and small drains. Nothing here knows which store
it talks to."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

from sidequest.client import Client
from sidequest.job import Claimed, NewJob, Payload, ProcessInfo, WorkInfo
from sidequest.serializer import loads
from sidequest.stores.base import Heartbeat, Store

WORKER = "tests.contract.NoopWorker"
"""Jobs name a worker by string: the store never imports it."""


class JobMaker:
    """Builds payloads exactly as ``Client.push`` does and pushes them to one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.client = Client(store)  # never closed: the store fixture closes the store

    def payload(self, *args: Any, queue: str = "default", at: float | None = None, **options: Any) -> Payload:
        """A Sidekiq-format payload for ``WORKER(*args)``; scheduled ones (``at``) have no enqueued_at."""
        payload = self.client.build_payload(WORKER, list(args), {"queue": queue, **options}, at)
        assert payload is not None
        return payload

    def push(self, *args: Any, queue: str = "default", **options: Any) -> str:
        """Enqueue one job now; returns its jid."""
        payload = self.payload(*args, queue=queue, **options)
        self.store.push([NewJob(payload)])
        return str(payload["jid"])

    def push_many(self, count: int, queue: str = "default") -> list[str]:
        """Enqueue ``count`` jobs (args 0..count-1) in one push; returns their jids in push order."""
        payloads = [self.payload(number, queue=queue) for number in range(count)]
        self.store.push([NewJob(payload) for payload in payloads])
        return [str(payload["jid"]) for payload in payloads]

    def schedule(self, at: float, *args: Any, queue: str = "default", **options: Any) -> str:
        """Push one job due at ``at``; returns its jid."""
        payload = self.payload(*args, queue=queue, at=at, **options)
        self.store.push([NewJob(payload, at)])
        return str(payload["jid"])

    def schedule_many(self, count: int, at: float, queue: str = "default") -> list[str]:
        """Push ``count`` jobs due at ``at`` in one push; returns their jids."""
        payloads = [self.payload(number, queue=queue, at=at) for number in range(count)]
        self.store.push([NewJob(payload, at) for payload in payloads])
        return [str(payload["jid"]) for payload in payloads]


def process_info(
    identity: str, queues: Sequence[str] = ("default",), busy: int = 0, quiet: bool = False
) -> ProcessInfo:
    """The ProcessInfo a sidequest process would publish."""
    return ProcessInfo(
        identity=identity,
        hostname="contract-host",
        pid=os.getpid(),
        started_at=time.time(),
        concurrency=5,
        queues=list(queues),
        busy=busy,
        beat=time.time(),
        quiet=quiet,
        tag="contract",
        labels=["a", "b"],
        version="0.1.0",
    )


def beat(
    store: Store,
    identity: str,
    ttl: float = 60.0,
    busy: Sequence[WorkInfo] = (),
    processed: int = 0,
    failed: int = 0,
    quiet: bool = False,
) -> list[str]:
    """Beat as process ``identity`` would: publish it, renew its lease for ``ttl`` seconds."""
    info = process_info(identity, busy=len(busy), quiet=quiet)
    return store.beat(Heartbeat(info, busy, processed, failed, ttl))


def let_lease_lapse(store: Store, identity: str, ttl: float = 0.3) -> None:
    """Beat with a real short lease and wait past it (a Redis store keeps leases as key TTLs, so the
    lease must really expire; a fake ``now`` would not do)."""
    beat(store, identity, ttl=ttl)
    time.sleep(ttl + 0.15)


def claim_all(
    store: Store, owner: str, queues: Sequence[str] = ("default",), batch: int = 100
) -> list[Claimed]:
    """Claim until every queue is empty, without waiting."""
    claimed: list[Claimed] = []
    while True:
        got = store.claim(queues, batch, owner, 0)
        if not got:
            return claimed
        claimed.extend(got)


def jids(jobs: Sequence[Claimed]) -> list[str | None]:
    """The jids of claimed jobs, in order."""
    return [job.jid for job in jobs]


def raw_payload(raw: str) -> Payload:
    """A stored job text as a dict (for payloads claimed with payload=None)."""
    value = loads(raw)
    assert isinstance(value, dict)
    return value
