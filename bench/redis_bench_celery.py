"""Celery's side of the Redis benchmark: the Redis broker (kombu) and an in-process worker with the
``threads`` pool at concurrency 10, results ignored.

Celery has no multi-message enqueue for distinct tasks (a ``group`` publishes one message per task and
measured slower), so "bulk" is an ``apply_async`` loop sharing one producer, as Celery's docs suggest
for sending many tasks. Run by ``bench/redis_bench.py``; see ``bench/redis_bench_common.py``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from celery import Celery
from celery.worker import WorkController
from redis_bench_common import FinishLine, PhaseArgs, Result, connect, run_child, timed_loop

QUEUE = "celery"
"""Celery's default queue: a Redis list of that name."""


def make_app(url: str, finish: FinishLine | None = None) -> tuple[Celery, Any]:
    """A Celery app on the benchmark's Redis and its no-op task (counting in the draining process)."""
    app = Celery("bench", broker=url, set_as_current=False)
    app.conf.update(
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )

    def noop(n: int) -> None:
        if finish is not None:
            finish.hit()

    return app, app.task(name="noop", ignore_result=True)(noop)


def send_loop(app: Celery, task: Any, count: int) -> Result:
    """``task.apply_async((n,), producer=producer)`` for ``count`` jobs over one producer."""
    with app.producer_or_acquire() as producer:
        send: Callable[[int], object] = lambda n: task.apply_async((n,), producer=producer)  # noqa: E731
        return timed_loop(count, send)


def phase_bulk(args: PhaseArgs) -> Result:
    """An ``apply_async`` loop over one producer."""
    app, task = make_app(args.url)
    return {**send_loop(app, task, args.jobs), "kind": "apply_async loop"}


def phase_drain(args: PhaseArgs) -> Result:
    """A ``WorkController`` (the worker without its CLI) with the threads pool, in this process."""
    finish = FinishLine(args.jobs)
    app, _ = make_app(args.url, finish)
    worker = WorkController(
        app=app,
        pool_cls="threads",
        concurrency=args.concurrency,
        loglevel="WARNING",
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
    )
    thread = threading.Thread(target=worker.start, name="celery-worker", daemon=True)
    started = time.perf_counter()
    thread.start()
    try:
        seconds = finish.wait() - started
    finally:
        worker.stop(in_sighandler=False)
        thread.join(10)
    left = int(connect(args.url).llen(QUEUE))
    return {"jobs": args.jobs, "seconds": seconds, "left": left}


def phase_single(args: PhaseArgs) -> Result:
    """``task.delay(n)`` in a loop (each call checks a producer out of the pool)."""
    _, task = make_app(args.url)
    return timed_loop(args.single, task.delay)


if __name__ == "__main__":
    run_child({"bulk": phase_bulk, "drain": phase_drain, "single": phase_single})
