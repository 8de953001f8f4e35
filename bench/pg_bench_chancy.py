"""chancy's side of ``bench/pg_bench.py`` (run in ``bench/.venvs/chancy``; see pg_bench_peers).

Configured as its docs recommend for this work: a queue with ``concurrency=10`` on the asyncio executor
(``Chancy.Executor.Async``, for ``async`` jobs; the default process pool is for CPU-bound ones) and
``eager_polling=True`` (its docs: poll again as soon as a job completes "where jobs are expected to be
continuously available"; the default 5 s polling interval stays), the default connection pool (1-10) and
notifications on; bulk enqueue with ``push_many`` and its default ``batch_size=1000``.
"""

from __future__ import annotations

import time

LABEL = "chancy 0.26.0"
PYTHON = "3.11"
REQUIREMENTS = ["chancy==0.26.0", "psycopg[binary]==3.3.9", "psycopg-pool==3.3.3"]
SETTINGS = "Async executor, queue concurrency=10, eager_polling, pool 1-10, notifications on, log WARNING"
BULK = "push_many (batch_size=1,000, its default)"
SINGLE = "await push(job)"
LEFT_SQL = "SELECT count(*) FROM chancy_jobs WHERE state IN ('pending', 'running', 'retrying')"
DONE_SQL = "SELECT count(*) FROM chancy_jobs WHERE state = 'succeeded'"


async def noop(n: int) -> None:
    """The job: does nothing with one int."""


def _chancy(dsn: str):  # type: ignore[no-untyped-def]
    import logging

    from chancy import Chancy

    # Its default logger writes a line per job at INFO; sidequest runs at WARNING, so chancy does too.
    log = logging.getLogger("pg_bench_chancy")
    log.setLevel(logging.WARNING)
    log.addHandler(logging.StreamHandler())
    return Chancy(dsn, log=log)


def _job(n: int):  # type: ignore[no-untyped-def]
    from chancy import Job

    return Job(func="pg_bench_chancy.noop", kwargs={"n": n}, queue="default")


async def setup(dsn: str, count: int, concurrency: int) -> float:
    from chancy import Chancy, Queue

    async with _chancy(dsn) as chancy:
        await chancy.migrate()
        await chancy.declare(
            Queue("default", concurrency=concurrency, executor=Chancy.Executor.Async, eager_polling=True)
        )
    return 0.0


async def bulk(dsn: str, count: int, concurrency: int) -> float:
    async with _chancy(dsn) as chancy:
        jobs = [_job(n) for n in range(count)]
        started = time.perf_counter()
        async for _ in chancy.push_many(jobs):
            pass
        return time.perf_counter() - started


async def single(dsn: str, count: int, concurrency: int) -> float:
    async with _chancy(dsn) as chancy:
        started = time.perf_counter()
        for n in range(count):
            await chancy.push(_job(n))
        return time.perf_counter() - started


async def drain(dsn: str, count: int, concurrency: int) -> float:
    from chancy import Worker

    async with _chancy(dsn) as chancy, Worker(chancy) as worker:
        await worker.wait_for_shutdown()
    return 0.0


if __name__ == "__main__":
    from pg_bench_peers import child_main

    child_main({"setup": setup, "bulk": bulk, "single": single, "drain": drain})
