"""Iterable jobs (Sidekiq 7.3's ``Sidekiq::IterableJob``): a long walk over many items, cut into runs
that each fit under a deploy's shutdown timeout, resumed where the last one stopped.

::

    class BackfillWorker(sidequest.IterableWorker):
        def build_enumerator(self, shop_id, *, cursor):
            return sidequest.iteration.over_range(0, 10_000, cursor=cursor)

        def each_iteration(self, number, shop_id):
            backfill(shop_id, number)

``build_enumerator(*args, cursor)`` returns an iterator of ``(item, cursor)`` pairs, where ``cursor``
is the JSON value from which the enumerator can start again *after* that item (None the first time);
:mod:`sidequest.iteration` has them for a range, a list, and rows by key from a DB-API connection or
a SQLAlchemy query. ``each_iteration(item, *args)`` handles one item.

After each item the cursor is kept in memory and written to the store every
:attr:`IterableWorker.state_flush_interval` seconds (so a kill -9 repeats at most that much work),
and always when the run stops. Between two items the run stops and the job goes back to the front of
its queue, same jid, no failure recorded, when the process is stopping (TERM, quiet, ``--max-jobs`` /
``--max-memory`` recycling), when it has run ``max_iteration_runtime`` seconds in one go, or when its
``time_limit`` is near; a run the time limit cuts mid-item resumes from the last saved cursor (that
item is done again). A cancelled job (``sidequest.cancel(jid)``) stops at the next item by itself.

Hooks: :meth:`on_start` (first run), :meth:`on_resume` (every later run), :meth:`on_stop` (each run's
end: interrupted, cancelled or finished), :meth:`on_complete` (once, after the last item).

A failure in an item saves the cursor first, so the retry resumes after the last item that succeeded.
The progress lives in the store's job record (``it-<jid>`` on Redis, as Sidekiq's), deleted when the
job completes. Outside a sidequest process (``perform`` called directly, the testing modes) the whole
walk runs in one go.
"""

from __future__ import annotations

import inspect
import logging
import math
import time
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

import orjson

from sidequest.errors import JobTimeoutError, StoreError, WorkerDefinitionError
from sidequest.iterable_errors import IterationInterrupted
from sidequest.job_context import CancelCheck
from sidequest.job_state import STATE_TTL, JobState
from sidequest.stores.base import Store
from sidequest.worker import Worker, _arity

log = logging.getLogger("sidequest")

STATE_FLUSH_INTERVAL = 5.0
"""Seconds between two writes of a running job's cursor (Sidekiq's ``STATE_FLUSH_INTERVAL``)."""

TIME_LIMIT_MARGIN = 1.0
"""A run stops this many seconds (or twice its longest item, if more) before its ``time_limit``."""


class IterableWorker(Worker, abstract=True):
    """Base class of iterable jobs: define ``build_enumerator`` and ``each_iteration``, not ``perform``.

    Options as for any worker, plus ``max_iteration_runtime`` (seconds a run may last before the job
    re-enqueues itself to go on; None: no limit but the process's stop and the time limit)."""

    state_flush_interval: ClassVar[float] = STATE_FLUSH_INTERVAL
    """Seconds between two writes of the cursor while the job runs."""

    cursor: Any = None
    """The cursor of the last item handled (None before the first)."""
    executions: int = 0
    """Which run this is: 1 for the first, 2 after one interruption, ..."""

    def __init_subclass__(cls, abstract: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(abstract=abstract, **kwargs)
        if abstract:
            return
        cls.__sidequest_abstract__ = True
        for name in ("build_enumerator", "each_iteration"):
            method = getattr(cls, name, None)
            if getattr(IterableWorker, name) is method:
                raise WorkerDefinitionError(
                    f"{cls.__qualname__} is an IterableWorker without {name}: define "
                    "build_enumerator(self, *args, cursor) returning an iterator of (item, cursor) and "
                    "each_iteration(self, item, *args)."
                )
            if inspect.iscoroutinefunction(method):
                raise WorkerDefinitionError(f"{cls.__qualname__}.{name} must be a plain def, not async def.")
        if "perform" in cls.__dict__:
            raise WorkerDefinitionError(
                f"{cls.__qualname__} defines perform: an IterableWorker's perform walks the enumerator; "
                "put the work for one item in each_iteration instead."
            )
        if cls.__sidequest_resolved__.get("isolation") == "process":
            raise WorkerDefinitionError(
                f"{cls.__qualname__}: an IterableWorker runs on a thread; isolation='process' is not "
                "supported for it."
            )
        if "cursor" not in inspect.signature(cls.build_enumerator).parameters:
            raise WorkerDefinitionError(
                f"{cls.__qualname__}.build_enumerator must take a keyword argument cursor "
                "(def build_enumerator(self, *args, cursor): ...), the value to resume after."
            )
        # The job's arguments are each_iteration's, after the item.
        signature = inspect.signature(cls.each_iteration)
        params = list(signature.parameters.values())
        if len(params) < 2:
            raise WorkerDefinitionError(
                f"{cls.__qualname__}.each_iteration must take the item: "
                "def each_iteration(self, item, *args)."
            )
        cls.__sidequest_signature__ = signature.replace(parameters=[params[0], *params[2:]])
        cls.__sidequest_arity__ = _arity(cls.__sidequest_signature__)
        cls.__sidequest_abstract__ = False

    # -- what a subclass defines -------------------------------------------------------------------

    def build_enumerator(self, *args: Any, cursor: Any) -> Iterable[tuple[Any, Any]] | None:
        """The items still to handle, as ``(item, cursor)`` pairs, starting after ``cursor`` (None:
        from the start). None or an empty iterator: nothing to do."""
        raise NotImplementedError

    def each_iteration(self, item: Any, *args: Any) -> None:
        """Handle one item. ``args`` are the job's arguments."""
        raise NotImplementedError

    def on_start(self) -> None:
        """Called once, before the first item of the first run."""

    def on_resume(self) -> None:
        """Called at the start of every run after the first (the job was interrupted)."""

    def on_stop(self) -> None:
        """Called at the end of every run: interrupted, cancelled, or finished."""

    def on_complete(self) -> None:
        """Called once, after the last item (not when the job is cancelled)."""

    # -- the walk ------------------------------------------------------------------------------------

    def perform(self, *args: Any) -> None:
        """Walk the enumerator from the saved cursor; see the module's documentation."""
        run = self._sidequest_run
        store = run.store if run is not None else None
        jid = self.jid if store is not None else None
        state = _load(store, jid)
        if state is not None and state.cancelled_at is not None:
            log.info("cancelled before it ran: not started", extra=self._fields())
            return
        self.cursor = orjson.loads(state.cursor) if state is not None and state.cursor else None
        self.executions = (state.executions if state is not None else 0) + 1
        previous_runtime = state.runtime if state is not None else 0.0
        started = time.monotonic()
        if state is None:
            self.on_start()
        else:
            self.on_resume()
        walk = _Walk(self, store, jid, started, previous_runtime)
        walk.cancel.set(False)  # just read with the progress
        walk.save()  # the execution count (and a record to cancel) exists from the first item on
        enumerator = self.build_enumerator(*args, cursor=self.cursor)
        items: Iterator[tuple[Any, Any]] = iter(enumerator if enumerator is not None else ())
        try:
            while True:
                reason = walk.stop_reason()
                if reason == "cancelled":
                    walk.save()
                    log.info("cancelled: stopping between two iterations", extra=self._fields())
                    self.on_stop()
                    return
                if reason is not None:
                    walk.save()
                    self.on_stop()
                    raise IterationInterrupted(reason)
                try:
                    item, cursor = next(items)
                except StopIteration:
                    break
                began = time.monotonic()
                self.each_iteration(item, *args)
                self.cursor = cursor
                walk.handled(time.monotonic() - began)
        except IterationInterrupted:
            raise
        except JobTimeoutError as exc:  # cut mid-item by the time limit
            if not walk.progressed:
                raise  # not one item fits in the limit: a plain failure, or it would loop forever
            walk.save()
            self.on_stop()
            raise IterationInterrupted(
                "its time_limit was reached; resuming from the last item saved"
            ) from exc
        except BaseException:
            walk.save()  # the retry resumes after the last item that succeeded
            raise
        self.on_stop()
        self.on_complete()
        if store is not None and jid:
            store.clear_job_state(jid)

    def _fields(self) -> dict[str, Any]:
        return {"jid": self.jid, "job_class": type(self).sidequest_name()}


class _Walk:
    """One run's bookkeeping: when to save, when to stop."""

    def __init__(
        self, worker: IterableWorker, store: Store | None, jid: str | None, started: float, before: float
    ) -> None:
        self.worker = worker
        self.store = store
        self.jid = jid
        self.started = started
        self.before = before
        self.saved_at = started
        self.progressed = False
        self.longest = 0.0
        self.cancel = CancelCheck()
        payload = worker._sidequest_payload or {}
        run = worker._sidequest_run
        self.max_runtime = _seconds(payload.get("max_iteration_runtime"))
        if self.max_runtime is None:
            self.max_runtime = _seconds(type(worker).get_sidequest_options().get("max_iteration_runtime"))
        limit = _seconds(payload.get("time_limit"))
        self.time_limit = limit if limit is not None else (run.time_limit if run is not None else None)
        self.stopping = run.stopping if run is not None else None

    def handled(self, took: float) -> None:
        self.progressed = True
        self.longest = max(self.longest, took)
        now = time.monotonic()
        if now - self.saved_at >= self.worker.state_flush_interval:
            self.save(now)

    def stop_reason(self) -> str | None:
        """Why the run must stop before the next item, or None to go on."""
        if self.stopping is not None and self.stopping():
            return "the process is stopping"
        if self.store is not None and self.jid and self.cancel.cancelled(self.store, self.jid):
            return "cancelled"
        if not self.progressed:
            return None
        elapsed = time.monotonic() - self.started
        if self.max_runtime is not None and elapsed >= self.max_runtime:
            return f"it ran max_iteration_runtime ({self.max_runtime:g} s)"
        if self.time_limit is not None:
            margin = max(TIME_LIMIT_MARGIN, 2 * self.longest)
            if self.time_limit - elapsed < margin:
                return f"its time_limit ({self.time_limit:g} s) is near"
        return None

    def save(self, now: float | None = None) -> None:
        """Write the cursor, the execution count and the runtime to the job's record."""
        now = time.monotonic() if now is None else now
        self.saved_at = now
        if self.store is None or not self.jid:
            return
        cursor = orjson.dumps(self.worker.cursor).decode() if self.worker.cursor is not None else None
        runtime = self.before + (now - self.started)
        try:
            self.store.save_job_state(self.jid, cursor, self.worker.executions, runtime, STATE_TTL)
        except StoreError as exc:  # the next save tries again; a stop without one repeats some items
            log.warning(
                "could not save the job's cursor (%s); it is tried again", exc, extra=self.worker._fields()
            )


def _load(store: Store | None, jid: str | None) -> JobState | None:
    if store is None or not jid:
        return None
    return store.job_state(jid)


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if 0 < value < math.inf else None
