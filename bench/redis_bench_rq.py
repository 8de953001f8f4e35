"""RQ's side of the Redis benchmark: ``Queue.enqueue_many`` (one pipeline per batch) and a ``SimpleWorker``
in burst mode.

RQ has no concurrency inside one worker process: its forking ``Worker`` forks per job and its
``SimpleWorker`` runs jobs one at a time in the process, so the drain runs at concurrency 1.
Run by ``bench/redis_bench.py``; see ``bench/redis_bench_common.py`` for the command line.
"""

from __future__ import annotations

import time

from redis_bench_common import PhaseArgs, Result, batches, run_child, timed_loop
from rq import Queue, SimpleWorker

from redis import Redis

QUEUE = "default"


def noop(n: int) -> None:
    """The job: RQ imports it by its dotted name, ``redis_bench_rq.noop``."""


def open_queue(url: str) -> Queue:
    """The ``default`` queue on the benchmark's Redis."""
    return Queue(QUEUE, connection=Redis.from_url(url))


def phase_bulk(args: PhaseArgs) -> Result:
    """``Queue.enqueue_many`` of 10,000 ``Queue.prepare_data`` items per call (one pipeline each)."""
    from redis_bench_rq import noop as job  # by module name, not __main__, so the worker can import it

    queue = open_queue(args.url)
    started = time.perf_counter()
    for batch in batches(args.jobs):
        queue.enqueue_many([Queue.prepare_data(job, (n,)) for n in batch])
    return {"jobs": args.jobs, "seconds": time.perf_counter() - started, "kind": "enqueue_many"}


def phase_drain(args: PhaseArgs) -> Result:
    """``SimpleWorker.work(burst=True)``: returns once the queue is empty and every job has run (the
    finished-job registry, which keeps jobs for RQ's default result_ttl of 500 s, counts them)."""
    queue = open_queue(args.url)
    worker = SimpleWorker([queue], connection=queue.connection)
    started = time.perf_counter()
    worker.work(burst=True, logging_level="WARNING")
    seconds = time.perf_counter() - started
    performed = queue.finished_job_registry.count
    if performed != args.jobs:
        raise RuntimeError(f"RQ performed {performed} jobs, expected {args.jobs}")
    return {"jobs": performed, "seconds": seconds, "left": queue.count, "concurrency": 1}


def phase_single(args: PhaseArgs) -> Result:
    """``Queue.enqueue(noop, n)`` in a loop."""
    from redis_bench_rq import noop as job

    queue = open_queue(args.url)
    return timed_loop(args.single, lambda n: queue.enqueue(job, n))


if __name__ == "__main__":
    run_child({"bulk": phase_bulk, "drain": phase_drain, "single": phase_single})
