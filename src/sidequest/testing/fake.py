"""Fake mode: enqueued jobs are kept in memory; a test asserts on them, then drains them.

::

    with sidequest.testing.fake() as jobs:
        OrderConfirmationWorker.perform_async()
        assert [job.args for job in jobs.for_worker(OrderConfirmationWorker)] == [[]]
        jobs.drain()        # runs it, then every job it enqueued, until none is left

This is Sidekiq's ``Sidekiq::Testing.fake!`` as an explicit object: ``jobs`` is a :class:`FakeClient`
installed as the default client for the block, and nothing else is changed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sidequest.defaults import DEFAULT
from sidequest.errors import SidequestError
from sidequest.job import NewJob, Payload
from sidequest.job_function import WorkerLike
from sidequest.job_state import CancelState
from sidequest.middleware import ClientMiddleware, ServerMiddleware
from sidequest.registry import WorkerRegistry
from sidequest.serializer import dumps, loads
from sidequest.testing.inline import StorelessClient

DRAIN_LIMIT = 100_000
"""Jobs one :meth:`FakeClient.drain` performs before it decides a job keeps enqueueing itself."""


class EmptyQueueError(SidequestError, LookupError):
    """:meth:`FakeClient.perform_one` found no job to perform (Sidekiq's ``EmptyQueueError``)."""


@dataclass(frozen=True, slots=True)
class FakeJob:
    """One enqueued job, as a store would hold it: ``payload`` has been through JSON and back.

    ``at`` is the epoch second a scheduled job (``perform_in``/``perform_at``) becomes due, else None.
    """

    payload: Payload
    raw: str = field(repr=False)
    at: float | None = None

    @property
    def args(self) -> list[Any]:
        """The arguments ``perform`` will receive."""
        args: list[Any] = self.payload["args"]
        return args

    @property
    def jid(self) -> str:
        """The job id ``perform_async`` returned."""
        return str(self.payload["jid"])

    @property
    def queue(self) -> str:
        """The queue the job was pushed to."""
        return str(self.payload["queue"])

    @property
    def class_name(self) -> str:
        """The payload's ``class``: the worker's import path."""
        return str(self.payload["class"])


def _name(worker: WorkerLike | str | None) -> str | None:
    if worker is None or isinstance(worker, str):
        return worker
    return worker.sidequest_name()


class FakeClient(StorelessClient):
    """Collects jobs instead of pushing them; :meth:`drain` performs them through the real Executor.

    Safe to enqueue into from several threads. Jobs enqueued by a job being drained are collected
    here too, and the same ``drain`` performs them.
    """

    def __init__(
        self,
        *,
        middleware: Sequence[ClientMiddleware] = (),
        server_middleware: Sequence[ServerMiddleware] = (),
        registry: WorkerRegistry | None = None,
    ) -> None:
        super().__init__(middleware=middleware, server_middleware=server_middleware, registry=registry)
        self._lock = threading.Lock()
        self._jobs: list[FakeJob] = []
        self.failures: list[tuple[FakeJob, Exception]] = []
        """Jobs that raised during ``drain(raise_errors=False)``, with their exceptions."""

    # -- what was enqueued ---------------------------------------------------------------------------

    def write(self, jobs: Sequence[NewJob]) -> None:
        """Keep the jobs, all or none, after a JSON round trip (a store would refuse what fails it)."""
        kept = []
        for job in jobs:
            raw = dumps(job.payload)
            kept.append(FakeJob(loads(raw), raw, job.at))
        with self._lock:
            self._jobs.extend(kept)

    @property
    def jobs(self) -> list[FakeJob]:
        """Every job not yet performed, in the order it was enqueued."""
        with self._lock:
            return list(self._jobs)

    def for_worker(self, worker: WorkerLike | str) -> list[FakeJob]:
        """The jobs of one Worker class (or class name), in the order they were enqueued."""
        name = _name(worker)
        return [job for job in self.jobs if job.class_name == name]

    def jobs_in(self, queue: str) -> list[FakeJob]:
        """The jobs pushed to ``queue``, in the order they were enqueued."""
        return [job for job in self.jobs if job.queue == queue]

    def clear(self, worker: WorkerLike | str | None = None) -> None:
        """Forget the jobs of ``worker``, or every job and recorded failure."""
        name = _name(worker)
        with self._lock:
            if name is None:
                self._jobs.clear()
                self.failures.clear()
            else:
                self._jobs = [job for job in self._jobs if job.class_name != name]

    def cancel(self, jid: str) -> CancelState:
        """Remove the collected job ``jid``, as a store removes a waiting job: ``"removed"``, or
        ``"not_found"``."""
        with self._lock:
            kept = [job for job in self._jobs if job.jid != jid]
            removed = len(kept) != len(self._jobs)
            self._jobs = kept
        return "removed" if removed else "not_found"

    def __len__(self) -> int:
        with self._lock:
            return len(self._jobs)

    def __iter__(self) -> Iterator[FakeJob]:
        return iter(self.jobs)

    def __repr__(self) -> str:
        return f"<FakeClient: {len(self)} jobs>"

    # -- performing them -----------------------------------------------------------------------------

    def perform_one(self, worker: WorkerLike | str | None = None) -> FakeJob:
        """Remove the next job (of ``worker``, if given) and perform it; returns it.

        Raises :class:`EmptyQueueError` when there is none, and whatever the job raised.
        """
        job = self._take_next(_name(worker))
        if job is None:
            which = f" of {_name(worker)}" if worker is not None else ""
            raise EmptyQueueError(f"no job{which} to perform: {len(self)} jobs are waiting")
        self.perform_now(job.raw)
        return job

    def drain(
        self,
        worker: WorkerLike | str | None = None,
        *,
        raise_errors: bool = True,
        max_jobs: int = DRAIN_LIMIT,
    ) -> int:
        """Perform jobs (of ``worker``, if given) until none is left, and return how many ran.

        Jobs enqueued meanwhile run too. The order is the one time would give: jobs due now in the
        order they were enqueued, then scheduled jobs by due time. Each job is removed before it
        runs. A job that raises stops the drain and the exception propagates, unless
        ``raise_errors=False``: then it is recorded in :attr:`failures` (not retried) and the drain
        goes on. More than ``max_jobs`` jobs raises :class:`~sidequest.errors.SidequestError` (a job
        that keeps enqueueing itself).
        """
        name = _name(worker)
        performed = 0
        while performed < max_jobs:
            job = self._take_next(name)
            if job is None:
                return performed
            performed += 1
            try:
                self.perform_now(job.raw)
            except Exception as exc:
                if raise_errors:
                    raise
                with self._lock:
                    self.failures.append((job, exc))
        if self._peek_next(name) is None:
            return performed
        raise SidequestError(
            f"drain performed {max_jobs} jobs and more keep coming: does a job enqueue itself? "
            f"(pass max_jobs= to allow more)"
        )

    def drain_all(self) -> int:
        """Perform every job, including the ones enqueued meanwhile (Sidekiq's ``Worker.drain_all``)."""
        return self.drain()

    def _take_next(self, name: str | None) -> FakeJob | None:
        with self._lock:
            index = self._next_index(name)
            return None if index is None else self._jobs.pop(index)

    def _peek_next(self, name: str | None) -> FakeJob | None:
        with self._lock:
            index = self._next_index(name)
            return None if index is None else self._jobs[index]

    def _next_index(self, name: str | None) -> int | None:
        """Index of the first job due now, else of the scheduled job due first (caller holds the lock)."""
        best: int | None = None
        best_at = 0.0
        for index, job in enumerate(self._jobs):
            if name is not None and job.class_name != name:
                continue
            if job.at is None:
                return index
            if best is None or job.at < best_at:
                best, best_at = index, job.at
        return best


@contextmanager
def fake(
    *,
    middleware: Sequence[ClientMiddleware] = (),
    server_middleware: Sequence[ServerMiddleware] = (),
    registry: WorkerRegistry | None = None,
) -> Iterator[FakeClient]:
    """Make a new :class:`FakeClient` the default client inside the block and hand it over."""
    client = FakeClient(middleware=middleware, server_middleware=server_middleware, registry=registry)
    with DEFAULT.override(client):
        yield client
