"""sidequest's side of the Redis benchmark: bulk enqueue, drain, single enqueue and idle latency (the
scale check is in ``bench/redis_bench_scale.py``).

Run by ``bench/redis_bench.py``; see ``bench/redis_bench_common.py`` for the command line.
"""

from __future__ import annotations

import logging
import statistics
import time
from contextlib import AbstractContextManager
from typing import Any

from noop_workers import NoopWorker
from redis_bench_common import (
    BULK_BATCH,
    FinishLine,
    PhaseArgs,
    Result,
    batches,
    connect,
    run_child,
    timed_loop,
)

import sidequest
from sidequest.job import Payload
from sidequest.registry import WorkerRegistry
from sidequest.runtime import Launcher, ProcessConfig
from sidequest.stores import open_store
from sidequest.stores.redis import keys as redis_keys
from sidequest.worker import Worker

QUEUE = "default"
LATENCY_INTERVAL = 0.01
"""Seconds between two enqueues in the idle-latency probe."""

LATENCY_SAMPLES = 250


class CountPerformed:
    """Server middleware that counts each job whose ``perform`` returned (the drain's finish line).

    The same object is the context manager for every job: it holds no per-job state, so entering it
    from ten threads at once is safe, and it costs less than a generator-based middleware.
    """

    def __init__(self, finish: FinishLine) -> None:
        self.finish = finish

    def __call__(self, worker: Worker, payload: Payload) -> AbstractContextManager[None]:
        return self

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        self.finish.hit()


class RecordLatency:
    """Server middleware that records, as each job starts, how long ago its argument (an enqueue-time
    ``time.time()``) was taken."""

    def __init__(self) -> None:
        self.samples: list[float] = []

    def __call__(self, worker: Worker, payload: Payload) -> AbstractContextManager[None]:
        self.samples.append(time.time() - float(payload["args"][0]))
        return self

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def quiet_logs() -> None:
    """Warnings and errors only, as a production process would log."""
    logging.getLogger("sidequest").setLevel(logging.WARNING)


def launcher_for(url: str, concurrency: int, middleware: Any, fetch_timeout: float = 2.0) -> Launcher:
    """One sidequest process (reliable fetch is how the Redis store always claims) running NoopWorker,
    with the default configuration."""
    return Launcher(
        open_store(url),
        WorkerRegistry.of(NoopWorker),
        ProcessConfig(concurrency=concurrency, fetch_timeout=fetch_timeout),
        middleware=[middleware],
    )


def drain_seconds(url: str, jobs: int, concurrency: int, fetch_timeout: float = 2.0) -> float:
    """Start one process, time it until ``jobs`` jobs have been performed, then shut it down."""
    finish = FinishLine(jobs)
    launcher = launcher_for(url, concurrency, CountPerformed(finish), fetch_timeout)
    started = time.perf_counter()
    launcher.start()
    try:
        finished = finish.wait()
    finally:
        launcher.stop()
        launcher.store.close()
    return finished - started


def unacked(url: str) -> int:
    """Jobs still in any in-flight list (claimed but never acked): must be 0 after a clean drain."""
    conn = connect(url)
    lists = conn.smembers(redis_keys.INFLIGHT_REGISTRY)
    return sum(int(conn.llen(key)) for key in lists)


# -- the three phases every system runs -------------------------------------------------------------


def phase_bulk(args: PhaseArgs) -> Result:
    """``NoopWorker.perform_bulk`` in batches of 10,000: one MULTI/EXEC (SADD + LPUSH) per batch."""
    sidequest.configure(args.url)
    started = time.perf_counter()
    for batch in batches(args.jobs):
        NoopWorker.perform_bulk([[n] for n in batch], batch_size=BULK_BATCH)
    return {"jobs": args.jobs, "seconds": time.perf_counter() - started, "kind": "perform_bulk"}


def phase_drain(args: PhaseArgs) -> Result:
    """One process, ``--concurrency`` threads, until every job has been performed and acked."""
    quiet_logs()
    seconds = drain_seconds(args.url, args.jobs, args.concurrency)
    waiting = int(connect(args.url).llen(redis_keys.queue(QUEUE)))
    return {"jobs": args.jobs, "seconds": seconds, "left": waiting, "unacked": unacked(args.url)}


def phase_single(args: PhaseArgs) -> Result:
    """``NoopWorker.perform_async(n)`` in a loop: one MULTI/EXEC round trip per job."""
    sidequest.configure(args.url)
    return timed_loop(args.single, NoopWorker.perform_async)


# -- sidequest-only checks --------------------------------------------------------------------------


def phase_latency(args: PhaseArgs) -> Result:
    """Enqueue a job every 10 ms to an idle running process; each job's delay from the enqueue call
    to its perform starting (the job's argument is ``time.time()`` taken just before the enqueue)."""
    quiet_logs()
    probe = RecordLatency()
    launcher = launcher_for(args.url, args.concurrency, probe)
    launcher.start()
    sidequest.configure(args.url)
    try:
        time.sleep(0.5)  # let the fetcher settle into its blocking wait: the process is idle
        for _ in range(LATENCY_SAMPLES):
            NoopWorker.perform_async(time.time())
            time.sleep(LATENCY_INTERVAL)
        deadline = time.monotonic() + 5.0
        while len(probe.samples) < LATENCY_SAMPLES and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        launcher.stop()
    samples_ms = sorted(sample * 1000 for sample in probe.samples)
    cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return {
        "jobs": len(samples_ms),
        "p50_ms": round(cuts[49], 3),
        "p99_ms": round(cuts[98], 3),
        "max_ms": round(samples_ms[-1], 3),
    }


if __name__ == "__main__":
    run_child(
        {
            "bulk": phase_bulk,
            "drain": phase_drain,
            "single": phase_single,
            "latency": phase_latency,
        }
    )
