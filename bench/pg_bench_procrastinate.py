"""procrastinate's side of ``bench/pg_bench.py`` (run in ``bench/.venvs/procrastinate``; see pg_bench_peers).

Configured as its docs recommend: ``PsycopgConnector`` (psycopg 3 async pool, its defaults), an ``async``
task (the docs: concurrency is for async tasks), ``run_worker_async(concurrency=10)`` with LISTEN/NOTIFY on
(the default) and the default polling interval; bulk enqueue with ``batch_defer_async``.
"""

from __future__ import annotations

import time

LABEL = "procrastinate 3.10.0"
PYTHON = "3.11"
REQUIREMENTS = ["procrastinate==3.10.0", "psycopg[binary]==3.3.9"]
SETTINGS = "async task, worker concurrency=10, listen_notify on, PsycopgConnector pool defaults"
BULK = f"batch_defer_async, {5_000:,} per call"
SINGLE = "await defer_async(n=n)"
LEFT_SQL = "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"
DONE_SQL = "SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'"


def _app(dsn: str):  # type: ignore[no-untyped-def]
    import procrastinate

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=dsn))

    @app.task(name="noop", queue="default")
    async def noop(n: int) -> None:
        pass

    return app, noop


async def setup(dsn: str, count: int, concurrency: int) -> float:
    app, _ = _app(dsn)
    async with app.open_async():
        await app.schema_manager.apply_schema_async()
    return 0.0


async def bulk(dsn: str, count: int, concurrency: int) -> float:
    from pg_bench_peers import BATCH

    app, noop = _app(dsn)
    async with app.open_async():
        started = time.perf_counter()
        for first in range(0, count, BATCH):
            await noop.batch_defer_async(*({"n": n} for n in range(first, min(first + BATCH, count))))
        return time.perf_counter() - started


async def single(dsn: str, count: int, concurrency: int) -> float:
    app, noop = _app(dsn)
    async with app.open_async():
        started = time.perf_counter()
        for n in range(count):
            await noop.defer_async(n=n)
        return time.perf_counter() - started


async def drain(dsn: str, count: int, concurrency: int) -> float:
    app, _ = _app(dsn)
    async with app.open_async():
        await app.run_worker_async(queues=["default"], concurrency=concurrency)
    return 0.0


if __name__ == "__main__":
    from pg_bench_peers import child_main

    child_main({"setup": setup, "bulk": bulk, "single": single, "drain": drain})
