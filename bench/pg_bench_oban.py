"""Oban for Python's side of ``bench/pg_bench.py`` (run in ``bench/.venvs/oban``, Python 3.12, which it
needs; see pg_bench_peers).

Configured as its docs recommend: ``Oban.create_pool(dsn)`` (psycopg async pool, 1-10 connections),
``Oban(pool=pool, queues={"default": 10})`` (a queue limit of 10 is its concurrency), its default stager,
pruner, lifeline and PostgreSQL notifier, and a ``@job`` function; bulk enqueue with ``enqueue_many``.
"""

from __future__ import annotations

import time

LABEL = "oban 0.7.0 (Python)"
PYTHON = "3.12"
REQUIREMENTS = ["oban==0.7.0", "psycopg[binary]==3.3.9", "psycopg-pool==3.3.3"]
SETTINGS = "queues={'default': 10}, create_pool defaults (1-10), default stager/notifier"
BULK = f"enqueue_many, {5_000:,} per call"
SINGLE = "await noop.enqueue(n)"
LEFT_SQL = "SELECT count(*) FROM oban_jobs WHERE state NOT IN ('completed', 'discarded', 'cancelled')"
DONE_SQL = "SELECT count(*) FROM oban_jobs WHERE state = 'completed'"


def _noop():  # type: ignore[no-untyped-def]
    from oban import job

    @job(queue="default")
    def noop(n: int) -> None:
        pass

    return noop


async def setup(dsn: str, count: int, concurrency: int) -> float:
    from oban import Oban
    from oban.schema import install

    pool = await Oban.create_pool(dsn)
    try:
        await install(pool)
    finally:
        await pool.close()
    return 0.0


async def bulk(dsn: str, count: int, concurrency: int) -> float:
    from oban import Oban
    from pg_bench_peers import BATCH

    noop = _noop()
    pool = await Oban.create_pool(dsn)
    try:
        async with Oban(pool=pool) as oban:
            started = time.perf_counter()
            for first in range(0, count, BATCH):
                await oban.enqueue_many([noop.new(n) for n in range(first, min(first + BATCH, count))])
            return time.perf_counter() - started
    finally:
        await pool.close()


async def single(dsn: str, count: int, concurrency: int) -> float:
    from oban import Oban

    noop = _noop()
    pool = await Oban.create_pool(dsn)
    try:
        async with Oban(pool=pool):
            started = time.perf_counter()
            for n in range(count):
                await noop.enqueue(n)
            return time.perf_counter() - started
    finally:
        await pool.close()


async def drain(dsn: str, count: int, concurrency: int) -> float:
    import asyncio

    from oban import Oban

    _noop()
    pool = await Oban.create_pool(dsn)
    async with Oban(pool=pool, queues={"default": concurrency}):
        await asyncio.Event().wait()  # until terminated
    return 0.0


if __name__ == "__main__":
    from pg_bench_peers import child_main

    child_main({"setup": setup, "bulk": bulk, "single": single, "drain": drain})
