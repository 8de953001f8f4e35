"""The staged stop of a :class:`~sidequest.runtime.launcher.Launcher` (its order and why is in
``launcher.py``'s docstring): quiet the fetcher, give back prefetched jobs, wait for running ones, record
their outcomes, push back what is left, stop the pool, the threads and the loops, and say goodbye to
the store. Every store call may hang, so :meth:`Launcher.stop` runs this in a thread of its own and
gives up on it at its deadline.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from sidequest.errors import PermanentStoreError, StoreError

if TYPE_CHECKING:
    from sidequest.runtime.launcher import Launcher

log = logging.getLogger("sidequest")


def stop_in_stages(launcher: Launcher, jobs_deadline: float, deadline: float) -> None:
    """The staged stop; its store calls may hang, which is why :meth:`Launcher.stop` runs it in a
    thread."""
    try:
        _stages(launcher, jobs_deadline, deadline)
    except Exception:
        # A defect in the stop itself: what is still held stays leased and is rescued.
        log.exception("shutdown failed; held jobs stay leased to this process and will be rescued")
        launcher._fail()


def _stages(launcher: Launcher, jobs_deadline: float, deadline: float) -> None:
    def left(limit: float = deadline) -> float:
        return max(0.0, min(limit, deadline) - time.monotonic())

    log.info(
        "shutting down: waiting up to %.1f s for %d running jobs",
        left(jobs_deadline),
        len(launcher.tracker.running()),
    )
    # Asked now, joined at the end: a pass stuck in a hung store call must not delay the stop.
    for loop in launcher._loops[1:]:
        loop.stop(timeout=0)
    # A claim in flight (blocked on a frozen store) must not hold up the stop: it requeues its own
    # jobs when it returns, as it sees the quiet flag.
    launcher.fetcher.stop(timeout=min(launcher.config.fetch_timeout + 1.0, left(jobs_deadline)))
    waiting = launcher.threads.take_waiting()
    if waiting:  # prefetched, never started: back to the front of their queues at once
        launcher._requeue(waiting)
    launcher.tracker.wait_until_nothing_runs(left(jobs_deadline))
    _flush_outcomes(launcher, timeout=min(2.0, left()))
    leftover = launcher.tracker.held()
    if leftover:
        log.warning("terminating %d busy jobs: pushing them back to the front of their queues", len(leftover))
        if launcher.async_processor is not None:
            launcher.async_processor.cancel_all()
        launcher._requeue(leftover)
    if launcher.pool is not None:  # children still busy are killed; their jobs were pushed back above
        launcher.pool.stop(left())
    # A claim still in flight (it waits up to the fetch timeout, which may be longer than -t) can take
    # a job just pushed back; the fetcher gives it back itself when its claim returns. Wait for that
    # before deciding whether anything is still held (else a clean stop could exit 1).
    launcher.fetcher.stop(timeout=left())
    launcher.threads.stop()
    launcher.acker.stop(timeout=min(2.0, left()))
    launcher._loops[0].stop(timeout=min(1.0, left()))
    try:
        launcher.heartbeat.run_once(time.time())
    except PermanentStoreError as exc:
        log.error("could not send the last heartbeat (%s)", exc)
    try:
        launcher.store.unregister(launcher.identity)
    except StoreError as exc:
        log.error("could not unregister from the store (%s); it will expire on its own", exc)
    if launcher.async_processor is not None:
        launcher.async_processor.stop()
    for loop in launcher._loops[1:]:
        loop.stop(timeout=min(1.0, left()))
    if launcher.tracker.held():
        launcher._fail()


def _flush_outcomes(launcher: Launcher, timeout: float) -> None:
    """Wait until every finished job's outcome is recorded (the acker drains its queue)."""
    deadline = time.monotonic() + timeout
    running = {id(run.claimed) for run in launcher.tracker.running()}
    while time.monotonic() < deadline:
        # A parked outcome (one key of the wrong type) is not waited for: its job is requeued.
        skip = running | launcher.acker.parked_jobs()
        finished = [job for job in launcher.tracker.held() if id(job) not in skip]
        if not finished:
            return
        time.sleep(0.01)
