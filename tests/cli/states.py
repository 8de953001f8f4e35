"""Jobs in every state, built through the store's own calls (no store is mocked).

A failed job is made the way a process makes one: pushed, claimed, then given to ``retry`` or
``kill`` with Sidekiq's failure fields.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

from click.testing import Result

from sidequest.client import Client
from sidequest.job import ProcessInfo, WorkInfo
from sidequest.stores.base import Heartbeat, Store

OWNER = "test-host:1:owner"

Sidequest = Callable[..., Result]
"""The ``sidequest`` fixture: run the command with string arguments, get click's Result."""


def enqueue(
    store: Store, cls: str = "app.workers.OrderWorker", args: Sequence[Any] = (), **options: Any
) -> str:
    """Push a job to its queue now and return its jid."""
    jid = Client(store).enqueue(cls, list(args), options=options)
    assert jid is not None
    return jid


def schedule(
    store: Store,
    in_seconds: float,
    cls: str = "app.workers.OrderWorker",
    args: Sequence[Any] = (),
    **options: Any,
) -> str:
    """Push a job due ``in_seconds`` from now and return its jid."""
    jid = Client(store).enqueue(cls, list(args), options=options, at=time.time() + in_seconds)
    assert jid is not None
    return jid


def failed(
    store: Store,
    state: Literal["retry", "dead"],
    cls: str = "app.workers.OrderWorker",
    args: Sequence[Any] = (),
    queue: str = "default",
    error: str = "boom",
) -> str:
    """A job that failed once and now waits in the retry set (due in an hour) or lies in the dead set.
    Its queue must hold no other job, since the helper claims the job at the front."""
    jid = enqueue(store, cls, args, queue=queue)
    [claimed] = store.claim([queue], 1, OWNER, 1.0)
    assert claimed.jid == jid, "failed() needs an otherwise empty queue"
    assert claimed.payload is not None
    payload = {
        **claimed.payload,
        "error_class": "RuntimeError",
        "error_message": error,
        "failed_at": time.time(),
        "retry_count": 0,
    }
    if state == "retry":
        assert store.retry(OWNER, claimed, payload, time.time() + 3600)
    else:
        assert store.kill(OWNER, claimed, payload, time.time())
    return jid


def process(identity: str = "web-1:4242:abc", queues: Sequence[str] = ("default",)) -> ProcessInfo:
    """A process as its heartbeat publishes it (its busy count comes from the beat's busy list)."""
    now = time.time()
    return ProcessInfo(
        identity=identity,
        hostname=socket.gethostname(),
        pid=os.getpid(),
        started_at=now - 60,
        concurrency=10,
        queues=list(queues),
        beat=now,
    )


def running(identity: str, count: int) -> list[WorkInfo]:
    """``count`` jobs a process publishes as running, one per thread."""
    jobs = [
        {"jid": f"run{n}", "class": "app.workers.OrderWorker", "args": [n], "queue": "default"}
        for n in range(count)
    ]
    return [
        WorkInfo(identity, f"t{n}", "default", job, json.dumps(job), time.time())
        for n, job in enumerate(jobs)
    ]


def beat(
    store: Store, info: ProcessInfo, busy: Sequence[WorkInfo] = (), processed: int = 0, failed_jobs: int = 0
) -> list[str]:
    """One heartbeat of ``info``; returns the signals queued for it."""
    return store.beat(Heartbeat(info, busy=busy, processed=processed, failed=failed_jobs))
