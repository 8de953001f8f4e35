"""A pool of pre-started child processes that perform jobs, for workers with ``isolation="process"``.

The parent's processor threads call :meth:`ProcessPool.perform`; each call borrows an idle child (waiting
while all are busy), sends it the job and blocks until the child answers. A thread whose child just
answered hands it straight to the first waiting thread and sends that thread's job itself, so a child
never idles while the next thread wakes up. So CPU-bound Python code runs
on every core, a job can be stopped at its ``time_limit`` (its child is killed), a child that crashes
(segfault, ``os._exit``, the OOM killer) fails only its own job, and a child that grew past the memory
limit is replaced before its next job. The parent keeps the store, the leases and the acks: children
only perform.

::

    pool = ProcessPool(2, ["app.workers"], max_child_memory_mb=500)
    pool.start()                         # before the process starts its threads
    pool.perform("app.workers.Resize", [42], jid, time_limit=25)
    pool.stop(timeout=25)
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from sidequest.errors import ChildProcessDiedError, ConfigurationError, JobArgumentError
from sidequest.runtime.pool_child import PoolChild
from sidequest.runtime.pool_slots import AHEAD_BYTES, ChildStats, PoolStats, Slot, Waiter
from sidequest.runtime.remote_error import RemoteJobError

log = logging.getLogger("sidequest")

START_METHODS = ("forkserver", "spawn")
STOP_GRACE = 5.0
"""Seconds ``stop`` waits, after killing the children still busy at its deadline, for their callers."""


class PoolStoppedError(ChildProcessDiedError):
    """The pool was stopped: the job was not started, or its child was killed at the stop deadline.

    At shutdown the launcher requeues such jobs; they are not failures of the job.
    """


class ProcessPool:
    """``size`` pre-started child processes performing jobs for the calling threads.

    ``modules`` are the worker modules (the ``-r`` list) each child imports once, with ``cwd`` on
    ``sys.path``, as :func:`sidequest.loader.load_workers` does. ``store_url`` is the store a job
    enqueues to when it calls ``perform_async`` (children hold no connection until then). A child
    whose resident memory passes ``max_child_memory_mb`` after a job is replaced before its next one.
    ``start_method`` is ``forkserver`` (children are forked from a clean single-threaded server, never
    from this threaded process; the worker modules are preloaded there, so a replacement starts fast)
    or ``spawn``.
    """

    def __init__(
        self,
        size: int,
        modules: Sequence[str],
        *,
        cwd: Path | None = None,
        max_child_memory_mb: float | None = None,
        start_method: str = "forkserver",
        store_url: str | None = None,
    ) -> None:
        if size < 1:
            raise ConfigurationError(
                f"a process pool needs at least 1 child, not {size}: pass --process-pool 1 or more"
            )
        if start_method not in START_METHODS:
            raise ConfigurationError(
                f"unknown start method {start_method!r} for the process pool: use one of {START_METHODS}"
            )
        if max_child_memory_mb is not None and max_child_memory_mb <= 0:
            raise ConfigurationError(
                f"--max-child-memory must be a positive number of MB, not {max_child_memory_mb}"
            )
        self.size = size
        self.modules = list(modules)
        self.cwd = cwd
        self.max_child_memory_mb = max_child_memory_mb
        self.store_url = store_url
        self.start_method = start_method
        self._context = multiprocessing.get_context(start_method)
        self._slots = [Slot() for _ in range(size)]
        self._idle: deque[Slot] = deque()
        self._waiters: deque[Waiter] = deque()
        self._changed = threading.Condition()
        self._started = False
        self._stopping = False
        self._restarts = 0

    def start(self) -> None:
        """Start every child and wait until each has imported the worker modules.

        Call it before the process starts threads of its own. Raises :class:`ConfigurationError` when a
        worker module cannot be imported in a child (the children started so far are stopped).
        """
        if self._started:
            return
        if self.start_method == "forkserver":
            # Takes effect only if this start launches the forkserver (there is one per Python process);
            # preloading is a speed-up: a child imports whatever the forkserver has not.
            self._context.set_forkserver_preload(["sidequest.runtime.child", *self.modules])
        try:
            for slot in self._slots:
                slot.child = self._new_child()
        except BaseException:
            for slot in self._slots:
                if slot.child is not None:
                    slot.child.kill()
                    slot.child = None
            raise
        with self._changed:
            self._idle.extend(self._slots)
            self._started = True

    def perform(self, class_name: str, args: list[Any], jid: str | None, time_limit: float | None) -> float:
        """Perform one job in a child; block the calling thread until it is done.

        Returns the seconds the child spent on it, once ``perform`` returned there (the thread's own wait
        for a free child is not in it). Raises :class:`~sidequest.runtime.remote_error.
        RemoteJobError` when it raised there (its class, message and backtrace), :class:`JobTimeoutError`
        when it ran past ``time_limit`` seconds, :class:`ChildProcessDiedError` when its child died, and
        :class:`PoolStoppedError` when the pool is stopping. Children that time out or die are replaced.
        """
        try:
            request = orjson.dumps({"class": class_name, "args": args, "jid": jid})
        except TypeError as exc:
            raise JobArgumentError(f"the job's arguments cannot be sent to a child process: {exc}") from exc
        slot, sent = self._borrow(request)
        try:
            return self._run(slot, request, time_limit, sent)
        finally:
            self._release(slot)

    def stop(self, timeout: float) -> None:
        """Let running jobs finish for up to ``timeout`` seconds, then kill their children; stop the rest.

        New ``perform`` calls raise :class:`PoolStoppedError` at once. When ``stop`` returns, no child
        of the pool is left running.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            self._stopping = True
            waiters, self._waiters = list(self._waiters), deque()
            for waiter in waiters:
                waiter.ready.set()  # no child for them: they raise PoolStoppedError
            self._changed.notify_all()
            while any(slot.busy for slot in self._slots) and time.monotonic() < deadline:
                self._changed.wait(deadline - time.monotonic())
            busy = [slot for slot in self._slots if slot.busy]
            for slot in busy:
                slot.stopped = True
        for slot in busy:
            log.warning("process pool: killing child %s at the stop deadline", _pid(slot))
            if slot.child is not None:
                slot.child.signal_kill()
        with self._changed:
            grace = time.monotonic() + STOP_GRACE
            while any(slot.busy for slot in self._slots) and time.monotonic() < grace:
                self._changed.wait(grace - time.monotonic())
        for slot in self._slots:
            if slot.child is not None:
                slot.child.close(1.0)

    def stats(self) -> PoolStats:
        """The pool's size, busy children, replacements so far, and each child's pid, jobs and memory."""
        with self._changed:
            slots = [(slot.child, slot.busy) for slot in self._slots]
            restarts = self._restarts
        children = tuple(
            ChildStats(child.pid, busy, child.jobs, child.rss_mb())
            if child is not None
            else ChildStats(0, busy, 0, None)
            for child, busy in slots
        )
        return PoolStats(self.size, sum(1 for _, busy in slots if busy), restarts, children)

    def _borrow(self, request: bytes) -> tuple[Slot, bool]:
        """An idle child for ``request``, waiting while all are busy; True with it when the child was
        handed over with the request already sent."""
        with self._changed:
            if not self._started:
                raise ConfigurationError("ProcessPool.perform called before start()")
            if self._stopping:
                raise PoolStoppedError("the process pool is stopping: the job was not started")
            if self._idle and not self._waiters:
                slot = self._idle.popleft()
                slot.busy = True
                return slot, self._send_in_order(slot, request)
            waiter = Waiter(request)
            ahead = self._ahead_slot(request)
            if ahead is not None:
                self._send_ahead(ahead, waiter)
            else:
                self._waiters.append(waiter)
        try:
            waiter.ready.wait()
        except BaseException:  # interrupted while waiting: take the request back, or undo the handover
            self._withdraw(waiter)
            raise
        if waiter.slot is None:
            raise PoolStoppedError("the process pool is stopping: the job was not started")
        return waiter.slot, waiter.sent

    def _withdraw(self, waiter: Waiter) -> None:
        with self._changed:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
                return
        waiter.ready.wait()  # handed over: the handing thread sets it right after its send
        if waiter.slot is not None:
            if waiter.sent:  # the child works on a job nobody waits for: its answer must not reach another
                self._replace(waiter.slot, "the thread that waited for its job was interrupted")
            self._release(waiter.slot)

    def _release(self, slot: Slot) -> None:
        """The job in ``slot`` is done: hand its child to the thread whose request was sent ahead (the
        child already works on it), else to the first waiting thread, sending that thread's job from
        here (no thread wake-up between the child's answer and its next job), or make it idle. The
        next waiting thread's request is then sent ahead."""
        with self._changed:
            waiter, slot.next = slot.next, None
            slot.in_order = False
            if waiter is not None:  # sent ahead: even while stopping, its job may be running already
                waiter.slot = slot
                if waiter.sent_to is not slot.child:  # that child was replaced: send it again
                    waiter.sent = False
                slot.in_order = waiter.sent
            elif self._waiters and not self._stopping:
                waiter = self._waiters.popleft()
                waiter.slot = slot  # stays busy: it changes hands
                waiter.sent = self._send_in_order(slot, waiter.request)  # a big one: sent below
            else:
                slot.busy = False
                self._idle.append(slot)
                self._changed.notify_all()  # stop() waits here for the busy children
                return
            if self._waiters and self._can_take_ahead(slot, self._waiters[0].request):
                self._send_ahead(slot, self._waiters.popleft())
        if not waiter.sent and slot.child is not None and len(waiter.request) > AHEAD_BYTES:
            child = slot.child
            if child.is_alive():
                waiter.sent = child.send(waiter.request)  # False: the child is gone; its owner sees why
        waiter.ready.set()

    def _send_in_order(self, slot: Slot, request: bytes) -> bool:
        """Send a small ``request`` to the child of ``slot`` now (the pool's lock is held): True when it
        went down the pipe, so the slot's owner must not send it again."""
        child = slot.child
        sent = child is not None and len(request) <= AHEAD_BYTES and child.send(request)
        slot.in_order = sent
        return sent

    def _can_take_ahead(self, slot: Slot, request: bytes) -> bool:
        return (
            slot.busy
            and slot.in_order
            and slot.next is None
            and slot.child is not None
            and not slot.no_ahead
            and not slot.stopped
            and not self._stopping
            and len(request) <= AHEAD_BYTES
        )

    def _ahead_slot(self, request: bytes) -> Slot | None:
        """A busy child that can take ``request`` ahead of its turn, or None."""
        if self._waiters:  # the threads already waiting go first
            return None
        return next((slot for slot in self._slots if self._can_take_ahead(slot, request)), None)

    def _send_ahead(self, slot: Slot, waiter: Waiter) -> None:
        """Send ``waiter``'s request to the busy child of ``slot`` (the pool's lock is held); the child
        reads it when its job is done, and the slot's owner hands the child over at its release."""
        child = slot.child
        assert child is not None  # _can_take_ahead checked it
        slot.next = waiter
        waiter.sent_to = child
        waiter.sent = child.send(waiter.request)

    def _run(self, slot: Slot, request: bytes, time_limit: float | None, sent: bool = False) -> float:
        child = slot.child
        if child is None or not child.is_alive():  # its last replacement failed to start, or was cut short
            child = self._start_in(slot)
            sent = False
        try:
            ran = child.run(request, time_limit, sent=sent)
        except RemoteJobError:  # the job raised; the child is fine, unless it grew too big meanwhile
            self._recycle_if_too_big(slot, child)
            raise
        except ChildProcessDiedError as exc:
            if slot.stopped:
                raise PoolStoppedError(
                    "the pool stopped before the job finished: its child process was killed at the "
                    "shutdown deadline (the job goes back to its queue)"
                ) from exc
            self._replace(slot, str(exc))
            raise
        except BaseException as exc:  # JobTimeoutError (the child was killed), or this thread interrupted
            if not child.is_alive():
                self._replace(slot, repr(exc))
            raise
        self._recycle_if_too_big(slot, child)
        return ran

    def _start_in(self, slot: Slot) -> PoolChild:
        """Start a child in an empty slot for the job at hand; its start error is that job's error."""
        if slot.child is not None:
            slot.child.kill()
        child = self._new_child()
        with self._changed:
            slot.child = child
            # The owner sends its request to this child after the lock: nothing may go ahead of it.
            slot.in_order = False
            stopping = self._stopping
        if stopping:  # stop() ran while the child started, and may have missed it
            child.kill()
            raise PoolStoppedError("the process pool is stopping: the job was not started")
        return child

    def _recycle_if_too_big(self, slot: Slot, child: PoolChild) -> None:
        limit = self.max_child_memory_mb
        if limit is None or self._stopping:
            return
        rss = child.rss_mb()
        if rss is not None and rss > limit:
            with self._changed:
                slot.no_ahead = True
                if slot.next is not None:  # its job may be running: replaced after that one instead
                    return
            log.warning(
                "process pool: child %s uses %.0f MB, over --max-child-memory %g MB; replacing it",
                child.pid,
                rss,
                limit,
            )
            child.close(1.0)
            self._replace(slot, f"it used {rss:.0f} MB")

    def _replace(self, slot: Slot, reason: str) -> None:
        """Put a new child in ``slot`` (the old one is killed). A child that cannot start leaves the slot
        empty, logged: the next job in it tries again, so the pool never shrinks for good."""
        if slot.child is not None:
            slot.child.kill()
            slot.child = None
        with self._changed:
            slot.no_ahead = False
            if self._stopping:
                return
            self._restarts += 1
        try:
            child = self._new_child()
        except Exception:
            log.exception("process pool: could not start a child to replace one that ended (%s)", reason)
            return
        with self._changed:
            slot.child = child
            stopping = self._stopping
        if stopping:  # stop() ran while the child started, and may have missed it
            child.kill()

    def _new_child(self) -> PoolChild:
        return PoolChild(self._context, self.modules, self.cwd, self.store_url)


def _pid(slot: Slot) -> int:
    return slot.child.pid if slot.child is not None else 0
