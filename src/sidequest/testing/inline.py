"""Inline mode: every enqueued job runs at once, in the caller's thread, through the real Executor.

::

    with sidequest.testing.inline():
        OrderConfirmationWorker.perform_async(42)   # perform(42) has run when this line returns

Also home of :class:`StorelessClient`, the base of both testing clients: a :class:`~sidequest.Client`
that never touches a store, and runs a payload the way a sidequest process would.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

from sidequest.batch_records import BatchAdd, BatchInfo
from sidequest.client import Client
from sidequest.defaults import DEFAULT
from sidequest.errors import ConfigurationError, SidequestError
from sidequest.job import Claimed, NewJob, Payload
from sidequest.job_state import CancelState
from sidequest.middleware import ClientMiddleware, ServerMiddleware
from sidequest.registry import WorkerRegistry
from sidequest.runtime.executor import Executor, Outcome
from sidequest.serializer import dumps, loads
from sidequest.stores.base import Store
from sidequest.testing.batches import MemoryBatches
from sidequest.worker import Worker

T = TypeVar("T")


class StorelessClient(Client):
    """A Client whose jobs never reach a store: the base of :class:`InlineClient` and ``FakeClient``.

    Payloads take the whole client path (argument checks, options, client ``middleware``) and a JSON
    round trip, so a test fails on anything production would reject. Jobs run through the real
    :class:`~sidequest.runtime.executor.Executor` with ``server_middleware`` around ``perform``.

    ``registry`` names the workers a job may run, as ``sidequest run -r`` does in production; by
    default, every Worker imported so far plus every class this client enqueued.

    Workers defined in ``__main__`` may be enqueued here (a real Client refuses them): the job runs
    in this very process, where the class exists.
    """

    runs_in_this_process = True

    def __init__(
        self,
        *,
        middleware: Sequence[ClientMiddleware] = (),
        server_middleware: Sequence[ServerMiddleware] = (),
        registry: WorkerRegistry | None = None,
    ) -> None:
        # Client.__init__ is not called on purpose: all it adds is a store, which these clients
        # must never open. Everything build_payload needs is set here.
        self.middleware: list[ClientMiddleware] = list(middleware)
        self.server_middleware: list[ServerMiddleware] = list(server_middleware)
        self.registry = registry
        self._enqueued_classes: dict[str, type[Worker]] = {}
        self._batches: MemoryBatches | None = None

    def memory_batches(self) -> MemoryBatches:
        """This client's batches (created at the first ``Batch.jobs()`` block)."""
        if self._batches is None:
            self._batches = MemoryBatches()
        return self._batches

    def write_batches(self, adds: Sequence[BatchAdd]) -> None:
        """Record the batches in memory and write their jobs as any other (kept, or run at once)."""
        self.write(self.memory_batches().add(adds))

    def batch_info(self, bid: str) -> BatchInfo | None:
        """The batch as this client recorded it."""
        return None if self._batches is None else self._batches.status(bid)

    def cancel(self, jid: str) -> CancelState:
        """Nothing waits here (inline jobs ran already): always ``"not_found"``."""
        return "not_found"

    @property
    def store(self) -> Store:
        """Always raises: a testing client keeps its jobs to itself."""
        raise ConfigurationError(
            f"{type(self).__name__} has no store: it keeps jobs in memory (fake) or runs them at once "
            f"(inline). Use sidequest.Client(url) to talk to a real store."
        )

    @store.setter
    def store(self, value: Store) -> None:
        raise ConfigurationError(f"{type(self).__name__} cannot be given a store")

    def close(self) -> None:
        """Nothing to close."""

    def write_unique(self, job: NewJob, key: str, ttl: float) -> bool:
        """Unique jobs are not enforced in testing modes: the job is written like any other (its
        payload still carries ``unique_key``). Test uniqueness against a real store, e.g. a SQLite
        file in a temporary directory."""
        self.write([job])
        return True

    def build_payload(
        self,
        worker: type[Worker] | str,
        args: Sequence[Any],
        options: Mapping[str, Any],
        at: float | None,
        created_at: float | None = None,
    ) -> Payload | None:
        """:meth:`Client.build_payload`, remembering the Worker class so its jobs can run here."""
        payload = super().build_payload(worker, args, options, at, created_at)
        if isinstance(worker, type):
            self._enqueued_classes[worker.sidequest_name()] = worker
        return payload

    def worker_registry(self) -> WorkerRegistry:
        """The workers a job may run: ``registry`` if given, else every loaded or enqueued Worker."""
        if self.registry is not None:
            return self.registry
        workers = {worker.sidequest_name(): worker for worker in WorkerRegistry.from_loaded()}
        workers.update(self._enqueued_classes)
        return WorkerRegistry(workers)

    def perform_now(self, raw: str) -> None:
        """Run one stored job (its JSON text) in this thread, as a sidequest process would.

        Jobs it enqueues come back to this client. Raises what ``perform`` raised (after the worker's
        retry hooks ran, as in production), or :class:`~sidequest.errors.UnknownWorkerError` when
        the job names no worker this client may run.
        """
        payload = loads(raw)
        claimed = Claimed(raw, payload, str(payload.get("queue", "default")))
        registry = self.worker_registry()
        registry.get(payload["class"])  # an unknown class raises here, with the message a process logs
        raised: list[Exception] = []

        @contextmanager
        def catch(worker: Worker, job: Payload) -> Iterator[None]:
            try:
                yield
            except Exception as exc:
                raised.append(exc)
                raise

        # The executor turns every failure into an Outcome; the outermost middleware keeps the
        # exception itself so a test sees the real error and its traceback.
        executor = Executor(registry, self, [catch, *self.server_middleware])
        outcome: Outcome | None
        if executor.is_async(claimed):
            outcome = await_from_sync(executor.run_async(claimed))
        else:
            outcome = executor.run(claimed)  # never None: no process pool here
        if outcome is not None and self._batches is not None and "bid" in payload:
            callbacks = self._batches.record(outcome)
            if callbacks:
                self.write(callbacks)
        if outcome is None or not outcome.failed:
            return
        if raised:
            raise raised[0]
        raise SidequestError(
            f"job {payload.get('jid')} ({payload['class']}) failed before perform ran; "
            f"the 'sidequest.job' log has the error"
        )


def await_from_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to completion from synchronous code, inside an async test or not."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    # This thread's loop is busy running the caller: asyncio.run cannot nest and waiting on the
    # same loop would deadlock, so the job gets a fresh loop on a helper thread.
    context = contextvars.copy_context()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sidequest-inline") as pool:
        return pool.submit(context.run, asyncio.run, coroutine).result()


class InlineClient(StorelessClient):
    """Runs every job the moment it is enqueued, in the caller's thread (Sidekiq's ``inline!``).

    ``perform_in`` and ``perform_at`` run at once too. ``perform_async`` returns after ``perform``
    did, and raises what it raised. Jobs enqueued by a running job run at once, nested inside it.
    """

    def write(self, jobs: Sequence[NewJob]) -> None:
        """Perform each job now, in order; the first failure propagates."""
        for job in jobs:
            self.perform_now(dumps(job.payload))


@contextmanager
def inline(
    *,
    middleware: Sequence[ClientMiddleware] = (),
    server_middleware: Sequence[ServerMiddleware] = (),
    registry: WorkerRegistry | None = None,
) -> Iterator[InlineClient]:
    """Make :class:`InlineClient` the default client inside the block (``perform_async`` runs at once)."""
    client = InlineClient(middleware=middleware, server_middleware=server_middleware, registry=registry)
    with DEFAULT.override(client):
        yield client
