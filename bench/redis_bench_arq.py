"""arq's side of the Redis benchmark: ``ArqRedis.enqueue_job`` and an in-process ``arq.Worker`` in burst
mode with ``max_jobs=10`` (asyncio) and ``poll_delay=0.01`` (the default 0.5 s caps a drain near 200
jobs/s: arq polls a sorted set rather than blocking on a list).

arq has no multi-job enqueue, so "bulk" runs ``enqueue_job`` calls concurrently with ``asyncio.gather``,
500 at a time. Run by ``bench/redis_bench.py``; see ``bench/redis_bench_common.py``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from arq import Worker, create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.worker import func
from redis_bench_common import PhaseArgs, Result, batches, run_child

GATHER = 500
"""Enqueues in flight at once in the bulk phase (each holds a pooled connection)."""


async def noop(ctx: dict[str, Any], n: int) -> None:
    """The job."""


async def open_pool(url: str) -> ArqRedis:
    """arq's Redis pool on the benchmark's Redis, big enough for ``GATHER`` enqueues at once."""
    settings = RedisSettings.from_dsn(url)
    settings.max_connections = GATHER + 10
    return await create_pool(settings)


async def bulk(args: PhaseArgs) -> Result:
    pool = await open_pool(args.url)
    started = time.perf_counter()
    for batch in batches(args.jobs, GATHER):
        await asyncio.gather(*(pool.enqueue_job("noop", n) for n in batch))
    seconds = time.perf_counter() - started
    await pool.aclose()
    return {"jobs": args.jobs, "seconds": seconds, "kind": "gather enqueue_job"}


async def drain(args: PhaseArgs) -> Result:
    worker = Worker(
        functions=[func(noop, name="noop")],
        redis_settings=RedisSettings.from_dsn(args.url),
        burst=True,
        max_jobs=args.concurrency,
        poll_delay=0.01,
        handle_signals=False,
    )
    started = time.perf_counter()
    await worker.main()  # burst mode: returns when the queue is empty and every job has finished
    seconds = time.perf_counter() - started
    performed = worker.jobs_complete
    left = int(await worker.pool.zcard(worker.queue_name))
    await worker.close()
    if performed != args.jobs:
        raise RuntimeError(f"arq performed {performed} jobs, expected {args.jobs}")
    return {"jobs": performed, "seconds": seconds, "left": left}


async def single(args: PhaseArgs) -> Result:
    pool = await open_pool(args.url)
    started = time.perf_counter()
    for n in range(args.single):
        await pool.enqueue_job("noop", n)
    seconds = time.perf_counter() - started
    await pool.aclose()
    return {"jobs": args.single, "seconds": seconds}


def phase_bulk(args: PhaseArgs) -> Result:
    """``enqueue_job`` 500 at a time under ``asyncio.gather``."""
    return asyncio.run(bulk(args))


def phase_drain(args: PhaseArgs) -> Result:
    """``Worker(burst=True, max_jobs=10, poll_delay=0.01).main()``."""
    logging.getLogger("arq").setLevel(logging.WARNING)
    return asyncio.run(drain(args))


def phase_single(args: PhaseArgs) -> Result:
    """``await enqueue_job("noop", n)`` one after the other."""
    return asyncio.run(single(args))


if __name__ == "__main__":
    run_child({"bulk": phase_bulk, "drain": phase_drain, "single": phase_single})
