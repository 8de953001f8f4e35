"""The processors: a pool of threads for plain ``perform`` and one event loop for ``async def perform``.

Both take jobs the fetcher hands them, run them through the executor, and pass each outcome to the
acker. A job's slot is freed the moment ``perform`` returns, before the store hears of it, so the
fetcher can claim the next job while the acker batches the acks.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future

from sidequest.job import Claimed
from sidequest.runtime.executor import Executor, Outcome
from sidequest.runtime.interrupt import InterruptibleSpan
from sidequest.runtime.tracker import Tracker

log = logging.getLogger("sidequest")

OutcomeSink = Callable[[Outcome], None]


def thread_id(ident: int | None = None, pid: int | None = None) -> str:
    """Sidekiq's thread id format: ``(thread id XOR pid)`` in base 36, of the calling thread unless
    ``ident`` (a ``threading.get_ident()``) and ``pid`` name another."""
    value = (threading.get_ident() if ident is None else ident) ^ (os.getpid() if pid is None else pid)
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while value:
        value, rest = divmod(value, 36)
        text = digits[rest] + text
    return text or "0"


class ThreadProcessors:
    """``concurrency`` daemon threads performing sync jobs from a local queue."""

    def __init__(self, executor: Executor, tracker: Tracker, sink: OutcomeSink, concurrency: int) -> None:
        self.executor = executor
        self.tracker = tracker
        self.sink = sink
        self._work: queue.SimpleQueue[Claimed | None] = queue.SimpleQueue()
        self._stopping = False
        self._lock = threading.Lock()
        self._retired: set[str] = set()
        self._threads = [self._thread(n) for n in range(concurrency)]

    def _thread(self, number: int) -> threading.Thread:
        return threading.Thread(target=self._loop, name=f"sidequest-processor-{number}", daemon=True)

    def start(self) -> None:
        """Start the threads."""
        for thread in self._threads:
            thread.start()

    def replace_stuck(self) -> None:
        """Start one more thread, for the slot of a thread stuck past a job's time limit (that thread
        retires if its job ever returns), so the pool keeps its size."""
        with self._lock:
            thread = self._thread(len(self._threads))
            self._threads.append(thread)
        if not self._stopping:
            thread.start()

    def submit(self, job: Claimed) -> None:
        """Hand a claimed job to the next free thread."""
        self._work.put(job)

    def take_waiting(self) -> list[Claimed]:
        """Remove and return the jobs handed over that no thread has started yet."""
        waiting: list[Claimed] = []
        while True:
            try:
                job = self._work.get_nowait()
            except queue.Empty:
                return waiting
            if job is not None:
                waiting.append(job)

    def stop(self) -> None:
        """Ask every thread to exit after its current job (threads stuck in a job are abandoned)."""
        self._stopping = True
        with self._lock:
            count = len(self._threads)
        for _ in range(count):
            self._work.put(None)

    def dead_threads(self) -> list[str]:
        """Names of started threads that ended without being asked to stop (a defect)."""
        if self._stopping:
            return []
        with self._lock:
            threads = list(self._threads)
        return [
            t.name
            for t in threads
            if t.ident is not None and not t.is_alive() and t.name not in self._retired
        ]

    def _loop(self) -> None:
        tid = thread_id()
        span = InterruptibleSpan()
        while True:
            job = self._work.get()
            if job is None:
                return
            self.tracker.start_running(job, tid, span)
            try:
                outcome = self.executor.run(job, span)
            except BaseException as exc:  # the executor catches job errors: a sidequest bug
                outcome = self.executor.crashed(job, exc)
            if outcome is None:  # the process pool stopped under it: the launcher requeues the job
                self.tracker.release_slot(job)
                continue
            if not self.tracker.finish_running(job, outcome.failed, outcome.ran):
                # Abandoned at its time limit: its failure is recorded and a new thread has this slot.
                log.warning("a thread stuck past a job's time limit got free; it retires")
                self._retired.add(threading.current_thread().name)
                return
            self.sink(outcome)


class AsyncProcessor:
    """One event loop thread running every ``async def perform`` job of the process."""

    def __init__(self, executor: Executor, tracker: Tracker, sink: OutcomeSink) -> None:
        self.executor = executor
        self.tracker = tracker
        self.sink = sink
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name="sidequest-asyncio", daemon=True)
        self._tasks: set[Future[None]] = set()
        self._lock = threading.Lock()
        self._cancelling = threading.Event()
        self._stopping = threading.Event()

    def start(self) -> None:
        """Start the event loop thread."""
        self._thread.start()

    def submit(self, job: Claimed) -> None:
        """Schedule a claimed job on the loop."""
        future = asyncio.run_coroutine_threadsafe(self._perform(job), self.loop)
        with self._lock:
            self._tasks.add(future)
        future.add_done_callback(self._forget)

    def _forget(self, future: Future[None]) -> None:
        with self._lock:
            self._tasks.discard(future)

    async def _perform(self, job: Claimed) -> None:
        self.tracker.start_running(job, f"async-{id(job) % 100000}")
        try:
            outcome = await self.executor.run_async(job, self._cancelling.is_set)
        except asyncio.CancelledError:
            # Cancelled at shutdown: the job was requeued by the launcher; record nothing.
            self.tracker.release_slot(job)
            raise
        except BaseException as exc:  # the executor catches job errors: a sidequest bug
            outcome = self.executor.crashed(job, exc)
        self.tracker.finish_running(job, outcome.failed)
        self.sink(outcome)

    def cancel_all(self) -> None:
        """Cancel running async jobs (shutdown deadline passed; they have been requeued)."""
        self._cancelling.set()
        with self._lock:
            tasks = list(self._tasks)
        for task in tasks:
            task.cancel()

    def stop(self) -> None:
        """Stop the event loop."""
        self._stopping.set()
        self.loop.call_soon_threadsafe(self.loop.stop)

    def dead_threads(self) -> list[str]:
        """The loop thread's name if it ended without being asked to stop (a defect)."""
        if self._stopping.is_set() or self._thread.ident is None or self._thread.is_alive():
            return []
        return [self._thread.name]

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self.loop)
        while not self._stopping.is_set():
            try:
                self.loop.run_forever()
            except Exception:
                # A callback or a task the job started raised out of the loop (asyncio lets
                # KeyboardInterrupt and SystemExit through): log it and run the loop again, or every
                # async job would stall while the process kept beating and holding their leases.
                log.exception("the event loop stopped on an error; restarting it")
            except BaseException as exc:  # same, for what asyncio re-raises on purpose
                log.error("the event loop stopped on %s; restarting it", type(exc).__name__)
