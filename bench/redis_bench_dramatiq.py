"""Dramatiq's side of the Redis benchmark: RedisBroker, an in-process ``dramatiq.Worker`` with 10 threads.

Dramatiq has no multi-message enqueue (each ``send`` is one Lua call), so "bulk" is a ``send`` loop.
Run by ``bench/redis_bench.py``; see ``bench/redis_bench_common.py`` for the command line.
"""

from __future__ import annotations

import logging
import time

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from redis_bench_common import FinishLine, PhaseArgs, Result, connect, run_child, timed_loop

QUEUE = "default"


def open_broker(url: str) -> RedisBroker:
    """Dramatiq's Redis broker on the benchmark's Redis, with its default middleware."""
    return RedisBroker(url=url)  # type: ignore[no-untyped-call]


def noop_actor(broker: RedisBroker, finish: FinishLine | None = None) -> dramatiq.Actor[[int], None]:
    """The no-op actor; in the draining process it counts each performed message."""

    def noop(n: int) -> None:
        if finish is not None:
            finish.hit()

    declare = dramatiq.actor(broker=broker, actor_name="noop", queue_name=QUEUE, max_retries=0)
    return declare(noop)


def phase_bulk(args: PhaseArgs) -> Result:
    """``actor.send(n)`` in a loop: Dramatiq has no bulk enqueue."""
    actor = noop_actor(open_broker(args.url))
    result = timed_loop(args.jobs, actor.send)
    return {**result, "kind": "send loop"}


def phase_drain(args: PhaseArgs) -> Result:
    """``dramatiq.Worker(broker, worker_threads=10)`` in this process until every message ran."""
    logging.getLogger("dramatiq").setLevel(logging.WARNING)
    broker = open_broker(args.url)
    finish = FinishLine(args.jobs)
    noop_actor(broker, finish)
    worker = dramatiq.Worker(broker, worker_threads=args.concurrency)
    started = time.perf_counter()
    worker.start()
    try:
        seconds = finish.wait() - started
    finally:
        worker.stop()
        broker.close()
    left = int(connect(args.url).llen(f"dramatiq:{QUEUE}"))
    return {"jobs": args.jobs, "seconds": seconds, "left": left}


def phase_single(args: PhaseArgs) -> Result:
    """``actor.send(n)`` in a loop."""
    return timed_loop(args.single, noop_actor(open_broker(args.url)).send)


if __name__ == "__main__":
    run_child({"bulk": phase_bulk, "drain": phase_drain, "single": phase_single})
