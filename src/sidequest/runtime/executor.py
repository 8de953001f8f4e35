"""Run one job and say what happened. The executor writes nothing to the store: the acker does.

Class lookup goes through the process's :class:`~sidequest.registry.WorkerRegistry` only, so a payload
can never make the process import or call anything but a loaded Worker. Every failure, including an
unknown class or a malformed payload, becomes an :class:`Outcome`; nothing a job does can stop the
process.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sidequest.client import Client
from sidequest.defaults import DEFAULT
from sidequest.errors import MalformedJobError
from sidequest.job import Claimed, Payload
from sidequest.middleware import ServerMiddleware, enter_server_chain
from sidequest.registry import WorkerRegistry
from sidequest.retry import RetryHookResult, decide, error_class, error_message, max_retries
from sidequest.worker import Worker

log = logging.getLogger("sidequest.job")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the store must record for a performed job.

    ``ack`` removes it (success, or a failure whose policy is to drop it); ``retry`` moves ``payload``
    to the retry set due at ``at``; ``kill`` moves ``payload`` (None = the raw text) to the dead set.
    """

    claimed: Claimed
    action: Literal["ack", "retry", "kill"]
    payload: Payload | None = None
    at: float | None = None
    failed: bool = False


class Executor:
    """Runs jobs for one process: lookup, server middleware, ``perform``, retry policy."""

    def __init__(
        self,
        registry: WorkerRegistry,
        client: Client,
        middleware: Sequence[ServerMiddleware] = (),
        max_retries: int = 25,
        rng: random.Random | None = None,
    ) -> None:
        self.registry = registry
        self.client = client
        self.middleware = list(middleware)
        self.max_retries = max_retries
        self.rng = rng or random.Random()

    def is_async(self, claimed: Claimed) -> bool:
        """True when the job names a loaded worker whose ``perform`` is ``async def``."""
        payload = claimed.payload
        if payload is None:
            return False
        name = payload.get("class")
        return isinstance(name, str) and name in self.registry and self.registry.get(name).is_async()

    def run(self, claimed: Claimed) -> Outcome:
        """Perform a job on the calling thread and return its outcome."""
        started = time.perf_counter()
        prepared = self._prepare(claimed)
        if isinstance(prepared, Outcome):
            return prepared
        worker, payload = prepared
        _log_start(payload)
        try:
            with DEFAULT.current(self.client), enter_server_chain(self.middleware, worker, payload):
                worker.perform(*payload["args"])  # type: ignore[attr-defined]
        except (Exception, SystemExit) as exc:  # sys.exit() in a job fails the job, not the thread
            return self._failure(claimed, payload, exc, worker, started)
        _log_done(payload, started)
        return Outcome(claimed, "ack")

    async def run_async(self, claimed: Claimed) -> Outcome:
        """Perform a job whose ``perform`` is ``async def`` on the running event loop."""
        started = time.perf_counter()
        prepared = self._prepare(claimed)
        if isinstance(prepared, Outcome):
            return prepared
        worker, payload = prepared
        _log_start(payload)
        try:
            with DEFAULT.current(self.client), enter_server_chain(self.middleware, worker, payload):
                await worker.perform(*payload["args"])  # type: ignore[attr-defined]
        except (Exception, SystemExit) as exc:  # sys.exit() in a job fails the job, not the thread
            return self._failure(claimed, payload, exc, worker, started)
        _log_done(payload, started)
        return Outcome(claimed, "ack")

    def _prepare(self, claimed: Claimed) -> tuple[Worker, Payload] | Outcome:
        payload = claimed.payload
        if payload is None:
            exc = MalformedJobError(
                f"job payload in queue {claimed.queue!r} is not a valid job (JSON object with 'class' "
                f"and 'args'); moved to the dead set as it was: {claimed.raw[:200]}"
            )
            log.error("malformed job sent to the dead set: %s", exc, extra={"queue": claimed.queue})
            return Outcome(claimed, "kill", None, time.time(), failed=True)
        try:
            worker_class = self.registry.get(payload["class"])
            worker = worker_class()
            worker.jid = payload.get("jid")
        except Exception as exc:
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
        now = time.time()
        count = payload["retry_count"] + 1 if isinstance(payload.get("retry_count"), int) else 0
        hook: RetryHookResult = None
        if worker is not None:
            try:
                hook = worker.retry_in(count, exc)
            except Exception:
                log.exception("retry_in raised; using the default backoff", extra=_fields(payload))
        decision = decide(payload, exc, now, hook, self.rng, self.max_retries)
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
            and hook not in ("kill", "discard")
            and max_retries(payload.get("retry", True), self.max_retries) is not None
        )
        if exhausted and worker is not None:
            try:
                worker.retries_exhausted(decision.payload, exc)
            except Exception:
                log.exception("retries_exhausted raised", extra=_fields(payload))
        if decision.action == "retry":
            return Outcome(claimed, "retry", decision.payload, decision.at, failed=True)
        if decision.action == "kill":
            return Outcome(claimed, "kill", decision.payload, now, failed=True)
        return Outcome(claimed, "ack", failed=True)


def _fields(payload: Payload) -> dict[str, Any]:
    return {"jid": payload.get("jid"), "job_class": payload.get("class"), "queue": payload.get("queue")}


def _log_start(payload: Payload) -> None:
    if log.isEnabledFor(logging.INFO):
        log.info("start", extra=_fields(payload))


def _log_done(payload: Payload, started: float) -> None:
    if log.isEnabledFor(logging.INFO):
        elapsed = time.perf_counter() - started
        log.info("done: %.3f s", elapsed, extra={**_fields(payload), "elapsed": round(elapsed, 6)})


def _describe(action: str, at: float | None, now: float) -> str:
    if action == "retry" and at is not None:
        return f"retry in {at - now:.0f} s"
    return {"kill": "dead set", "ack": "discarded"}.get(action, action)
