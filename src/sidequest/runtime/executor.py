"""Run one job and say what happened. The executor writes nothing to the store: the acker does.

Class lookup goes through the process's :class:`~sidequest.registry.WorkerRegistry` only, so a payload
can never make the process import or call anything but a loaded Worker. Every failure, including an
unknown class or a malformed payload, becomes an :class:`Outcome`; nothing a job does can stop the
process. That includes every ``BaseException`` a job raises (``KeyboardInterrupt``, ``SystemExit``,
``GeneratorExit``, a ``CancelledError`` sidequest did not cause), a retry hook or ``retries_exhausted``
that raises, and an exception whose ``__str__`` or class name raises: each is that job's failure,
retried with backoff like any other.

An awaitable returned by ``perform`` is awaited whichever path ran it (a coroutine function hidden
under a decorator looks synchronous), so no job is logged "done" before its coroutine finished.

Time limits: a thread job runs inside its thread's :class:`InterruptibleSpan`, which the monitor may
interrupt with :class:`JobTimeoutError`; an ``async def perform`` runs under ``asyncio.timeout``; a job
with ``isolation="process"`` runs in the process pool, which kills its child at the limit. The server
middleware runs here in every case, so it sees the job and its failure the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sidequest.client import Client
from sidequest.defaults import DEFAULT
from sidequest.errors import JobTimeoutError, MalformedJobError, OverLimit, RemoteJobError
from sidequest.expiry import has_expired
from sidequest.iterable_errors import IterationInterrupted
from sidequest.job import Claimed, Payload
from sidequest.job_context import RunContext
from sidequest.middleware import ServerMiddleware, server_chain
from sidequest.registry import WorkerRegistry
from sidequest.retry import decide, default_delay, error_class, error_message, max_retries
from sidequest.runtime.interrupt import InterruptibleSpan
from sidequest.runtime.logs import CURRENT_JOB, JobLines, job_log_context, log_job_line
from sidequest.runtime.monitor import enforced_limit
from sidequest.runtime.overrated import over_limit, reschedule
from sidequest.worker import Worker

if TYPE_CHECKING:
    from sidequest.runtime.process_pool import ProcessPool

log = logging.getLogger("sidequest.job")


@dataclass(slots=True)
class Outcome:
    """What the store must record for a performed job.

    ``ack`` removes it (success, or a failure whose policy is to drop it); ``retry`` moves ``payload``
    to the retry set due at ``at``; ``kill`` moves ``payload`` (None = the raw text) to the dead set;
    ``requeue`` puts it back at the front of its queue unchanged (an iterable job interrupted between
    two iterations: not a failure); ``expire`` removes it unrun and counts it (its ``expires_at``
    passed before it started). ``overrated`` marks a ``retry`` that is not a failure: a rate limiter
    said no (:class:`~sidequest.errors.OverLimit`), the payload's ``overrated`` counter went up and
    ``failed`` is False; whoever records outcomes (batches, stats) must not count it as a failed run.

    Treat it as read-only. It is not a frozen dataclass because every job makes one, and a frozen
    one costs four times as much to build.
    """

    claimed: Claimed
    action: Literal["ack", "retry", "kill", "requeue", "expire"]
    payload: Payload | None = None
    at: float | None = None
    failed: bool = False
    overrated: bool = False
    ran: float | None = None
    """Seconds ``perform`` took where it ran, when that was not the calling thread (a process pool's
    child: the thread's own wait for a free child is not in it); None: the thread's time is the job's."""


class Executor:
    """Runs jobs for one process: lookup, server middleware, ``perform``, retry policy."""

    def __init__(
        self,
        registry: WorkerRegistry,
        client: Client,
        middleware: Sequence[ServerMiddleware] = (),
        max_retries: int = 25,
        rng: random.Random | None = None,
        time_limit: float | None = None,
        at_start: Callable[[Payload], None] | None = None,
    ) -> None:
        self.registry = registry
        self.client = client
        self.middleware = list(middleware)
        self._chain = server_chain(self.middleware)
        self.at_start = at_start
        """Called with each job's payload just before ``perform``, inside the middleware (the launcher's
        frees a ``unique_until="start"`` lock)."""
        self.max_retries = max_retries
        self.rng = rng or random.Random()
        self.time_limit = time_limit
        self.lines = JobLines(log)
        """Where the start and done lines of jobs go."""
        self.pool: ProcessPool | None = None
        """The process pool, set by the launcher when a loaded worker has ``isolation="process"``."""
        # The testing modes' clients have no store: their jobs keep no records.
        store = None if client.runs_in_this_process else client.store
        self.run_context = RunContext(store, time_limit=time_limit)
        """What every job's worker is handed (its ``stopping`` is set by the launcher)."""

    def in_child(self, payload: Payload | None) -> bool:
        """True when the job runs in the process pool (its ``isolation`` is ``"process"``)."""
        if payload is None or self.pool is None:
            return False
        isolation = payload.get("isolation")
        if isolation is None:
            name = payload.get("class")
            if not isinstance(name, str) or name not in self.registry:
                return False
            isolation = self.registry.get(name).get_sidequest_options().get("isolation")
        return isolation == "process"

    def is_async(self, claimed: Claimed) -> bool:
        """True when the job names a loaded worker whose ``perform`` is ``async def`` and runs in this
        process (a child process runs an async perform to the end itself)."""
        payload = claimed.payload
        if payload is None or self.in_child(payload):
            return False
        name = payload.get("class")
        return isinstance(name, str) and name in self.registry and self.registry.get(name).is_async()

    def run(self, claimed: Claimed, span: InterruptibleSpan | None = None) -> Outcome | None:
        """Perform a job on the calling thread and return its outcome; ``span`` is where the monitor
        may stop it at its time limit. Never raises. None only when the process pool stopped under a
        child-process job: the launcher pushes that job back, so nothing must be recorded."""
        started = time.perf_counter()
        prepared = self._prepare(claimed)
        if isinstance(prepared, Outcome):
            return prepared
        worker, payload = prepared
        lines = self.lines.sink()  # the start line (inline: every job passes here)
        if lines is not None:
            lines(None, payload)
        job = CURRENT_JOB.set((str(payload["class"]), str(payload.get("jid") or "")))
        client = DEFAULT.use(self.client)
        ran: float | None = None
        try:
            try:
                with DEFAULT.batches.running(payload), self._chain(worker, payload):
                    if self.at_start is not None:
                        self.at_start(payload)
                    if self.pool is not None and self.in_child(payload):
                        limit = enforced_limit(payload, self.time_limit)
                        ran = self.pool.perform(payload["class"], payload["args"], payload.get("jid"), limit)
                    elif span is not None and enforced_limit(payload, self.time_limit) is not None:
                        with span:  # only a job with a time limit is ever interrupted
                            _perform(worker, payload)
                    else:
                        _perform(worker, payload)
            finally:
                DEFAULT.reset(client)
                CURRENT_JOB.reset(job)
        except BaseException as exc:  # whatever a job raises is that job's failure
            if self.pool is not None and _pool_stopped(exc):
                return None
            if isinstance(exc, IterationInterrupted):
                return _interrupted(claimed, payload, exc, started)
            return self._failure(claimed, payload, exc, worker, started)
        if lines is not None:
            lines(time.perf_counter() - started, payload)
        # Only a pool job passes ran: a keyword argument costs the common outcome ~90 ns more to build.
        return Outcome(claimed, "ack") if ran is None else Outcome(claimed, "ack", ran=ran)

    def timed_out(self, claimed: Claimed) -> Outcome:
        """The outcome of a job whose thread is stuck past its time limit: a failure with
        :class:`JobTimeoutError`, through the retry policy and the worker's hooks."""
        payload = claimed.payload
        if payload is None:
            return Outcome(claimed, "kill", None, time.time(), failed=True)
        exc = JobTimeoutError(
            "the job ran past its time_limit and its thread did not stop (blocked in C code or I/O "
            "without a timeout); the thread was abandoned"
        )
        worker: Worker | None = None
        with contextlib.suppress(BaseException):
            worker = self.registry.get(payload["class"])()
            worker.jid = payload.get("jid")
        return self._failure(claimed, payload, exc, worker, time.perf_counter())

    async def run_async(self, claimed: Claimed, cancelled_by_us: Callable[[], bool] = bool) -> Outcome:
        """Perform a job whose ``perform`` is ``async def`` on the running event loop. Never raises,
        except ``CancelledError`` when ``cancelled_by_us()`` says sidequest's shutdown cancelled it."""
        started = time.perf_counter()
        prepared = self._prepare(claimed)
        if isinstance(prepared, Outcome):
            return prepared
        worker, payload = prepared
        lines = self.lines.sink()  # the start line (inline: every job passes here)
        if lines is not None:
            lines(None, payload)
        try:
            with (
                job_log_context(str(payload["class"]), str(payload.get("jid") or "")),
                DEFAULT.current(self.client),
                DEFAULT.batches.running(payload),
                self._chain(worker, payload),
            ):
                if self.at_start is not None:
                    self.at_start(payload)
                result = worker.perform(*payload["args"])
                if inspect.isawaitable(result):
                    limit = enforced_limit(payload, self.time_limit)
                    timer = asyncio.timeout(limit)
                    try:
                        async with timer:
                            await result
                    except TimeoutError as exc:
                        if not timer.expired():
                            raise  # the job's own TimeoutError
                        raise JobTimeoutError(
                            f"the job ran past its time_limit of {limit:g} s and was cancelled"
                        ) from exc
        except asyncio.CancelledError as exc:
            if cancelled_by_us():
                raise  # the launcher requeued the job at the shutdown deadline: record nothing
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()  # the job cancelled itself; that is its failure, not the loop's
            return self._failure(claimed, payload, exc, worker, started)
        except BaseException as exc:  # whatever a job raises is that job's failure
            return self._failure(claimed, payload, exc, worker, started)
        if lines is not None:
            lines(time.perf_counter() - started, payload)
        return Outcome(claimed, "ack")

    def crashed(self, claimed: Claimed, exc: BaseException) -> Outcome:
        """The outcome of a job whose run failed inside sidequest itself (a bug): a retry with the
        default backoff, so the job is recorded rather than left claimed until the process exits."""
        log.error("internal error while running a job; it is retried: %s", error_message(exc))
        payload = claimed.payload
        if payload is None:
            return Outcome(claimed, "kill", None, time.time(), failed=True)
        return self._fallback(claimed, payload, exc)

    def _prepare(self, claimed: Claimed) -> tuple[Worker, Payload] | Outcome:
        payload = claimed.payload
        if payload is None:
            exc = MalformedJobError(
                f"job payload in queue {claimed.queue!r} is not a valid job (JSON object with 'class' "
                f"and 'args'); moved to the dead set as it was: {claimed.raw[:200]}"
            )
            log.error("malformed job sent to the dead set: %s", exc, extra={"queue": claimed.queue})
            return Outcome(claimed, "kill", None, time.time(), failed=True)
        expires_at = payload.get("expires_at")
        if expires_at is not None and has_expired(expires_at, time.time()):
            log.warning(
                "expired: not started before its expires_at; dropped without running",
                extra=_fields(payload),
            )
            return Outcome(claimed, "expire")
        try:
            worker_class = self.registry.get(payload["class"])
            worker = worker_class()
            worker.jid = payload.get("jid")
            worker._sidequest_run = self.run_context
            worker._sidequest_payload = payload
        except BaseException as exc:  # a worker's __init__ may raise anything
            return self._failure(claimed, payload, exc, None, time.perf_counter())
        return worker, payload

    def _failure(
        self,
        claimed: Claimed,
        payload: Payload,
        exc: BaseException,
        worker: Worker | None,
        started: float,
    ) -> Outcome:
        if isinstance(exc, (OverLimit, RemoteJobError)):  # only on the failure path: plain jobs pay nothing
            limited = over_limit(exc)
            again = reschedule(payload, limited, self.rng) if limited is not None else None
            if again is not None:
                return Outcome(claimed, "retry", again[0], again[1], overrated=True)
        try:
            return self._decide(claimed, payload, exc, worker, started)
        except BaseException:  # the policy failing must not lose the job
            log.exception("retry policy failed; retrying with the default backoff", extra=_fields(payload))
            return self._fallback(claimed, payload, exc)

    def _decide(
        self,
        claimed: Claimed,
        payload: Payload,
        exc: BaseException,
        worker: Worker | None,
        started: float,
    ) -> Outcome:
        now = time.time()
        count = payload["retry_count"] + 1 if isinstance(payload.get("retry_count"), int) else 0
        hook: object = None
        if worker is not None:
            try:
                hook = worker.retry_in(count, exc)
            except BaseException:  # a hook that raises anything gets the default backoff
                log.exception("retry_in raised; using the default backoff", extra=_fields(payload))
        decision = decide(payload, exc, now, hook, self.rng, self.max_retries)
        if decision.note is not None:
            log.warning("%s", decision.note, extra=_fields(payload))
        elapsed = time.perf_counter() - started
        log.warning(
            "fail: %s: %s (%.3f s) -> %s",
            error_class(exc),
            error_message(exc),
            elapsed,
            _describe(decision.action, decision.at, now),
            extra=_fields(payload),
            exc_info=log.isEnabledFor(logging.DEBUG),
        )
        exhausted = (
            decision.action != "retry"
            and not (isinstance(hook, str) and hook in ("kill", "discard"))
            and max_retries(payload.get("retry", True), self.max_retries) is not None
        )
        if exhausted and worker is not None:
            try:
                worker.retries_exhausted(decision.payload, exc)
            except BaseException:  # the job still goes where the policy says
                log.exception("retries_exhausted raised", extra=_fields(payload))
        if decision.action == "retry":
            return Outcome(claimed, "retry", decision.payload, decision.at, failed=True)
        if decision.action == "kill":
            return Outcome(claimed, "kill", decision.payload, now, failed=True)
        return Outcome(claimed, "ack", failed=True)

    def _fallback(self, claimed: Claimed, payload: Payload, exc: BaseException) -> Outcome:
        now = time.time()
        failed = dict(payload)
        failed["error_class"] = error_class(exc)
        failed["error_message"] = error_message(exc)
        count = payload.get("retry_count")
        failed["retry_count"] = count + 1 if isinstance(count, int) else 0
        failed.setdefault("failed_at", now)
        return Outcome(claimed, "retry", failed, now + default_delay(failed["retry_count"]), failed=True)


def _interrupted(claimed: Claimed, payload: Payload, exc: IterationInterrupted, started: float) -> Outcome:
    """An iterable job stopped between two iterations (its progress is saved): back to its queue."""
    if log.isEnabledFor(logging.INFO):
        elapsed = time.perf_counter() - started
        log_job_line(log, f"interrupted: {exc.reason}; re-enqueued ({elapsed:.3f} s)", _fields(payload))
    return Outcome(claimed, "requeue")


def _pool_stopped(exc: BaseException) -> bool:
    """True when the process pool stopped under the job (imported only by processes that have one)."""
    from sidequest.runtime.process_pool import PoolStoppedError

    return isinstance(exc, PoolStoppedError)


def _perform(worker: Worker, payload: Payload) -> None:
    result = worker.perform(*payload["args"])
    if result is not None and inspect.isawaitable(result):
        # An async perform under a decorator that hides it: run it to the end here, or the coroutine
        # would be dropped and the job logged done unrun.
        asyncio.run(_awaited(result))


async def _awaited(awaitable: Awaitable[object]) -> None:
    await awaitable


def _fields(payload: Payload) -> dict[str, Any]:
    return {"jid": payload.get("jid"), "job_class": payload.get("class"), "queue": payload.get("queue")}


def _describe(action: str, at: float | None, now: float) -> str:
    if action == "retry" and at is not None:
        return f"retry in {at - now:.0f} s"
    return {"kill": "dead set", "ack": "discarded"}.get(action, action)
