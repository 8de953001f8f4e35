"""Enqueueing: turn a call into Sidekiq-format payloads and push them to a store.

``Client.push`` and ``Client.push_bulk`` work like Sidekiq's ``Sidekiq::Client.push``/``push_bulk``:
called on the class they use the default client (see :mod:`sidequest.defaults`); called on an
instance they use that instance's store::

    sidequest.Client.push_bulk({"class": OrderWorker, "args": [[1], [2], [3]]})
    sidequest.Client.push({"class": "HardJob", "queue": "ruby", "args": [1]})   # a Ruby worker by name
    Client("redis://localhost:6379/0").push({...})
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

from sidequest.batch_records import BatchAdd, BatchInfo
from sidequest.bulk_writer import BulkWriter, DirectWriter
from sidequest.defaults import DEFAULT
from sidequest.errors import ConfigurationError, JobArgumentError
from sidequest.expiry import stamp_expiry
from sidequest.job import NewJob, Payload, new_jid, new_jids
from sidequest.job_function import JobFunction
from sidequest.job_state import CancelState
from sidequest.middleware import ClientMiddleware, run_client_chain
from sidequest.options import DEFAULT_OPTIONS, validate_options
from sidequest.serializer import check_args
from sidequest.stores import open_store
from sidequest.stores.base import Store
from sidequest.transaction import bound_for
from sidequest.unique import UNIQUE_KEY, lock_key, lock_ttl, unique_for
from sidequest.worker import Worker

P = ParamSpec("P")
R = TypeVar("R")

RELATIVE_LIMIT = 1_000_000_000
"""As in Sidekiq, a ``perform_in`` interval below 1e9 is relative; above, an absolute epoch second."""

ITEM_KEYS = {"class", "args", "at", "jid", "batch_size"}

LATEST_AT = 253_402_300_800.0
"""Epoch seconds of 10000-01-01: no datetime, Ruby Time or ISO 8601 reader goes past it."""

MAIN_MODULE = "__main__"


def resolve_at(when: float | int | datetime | timedelta, relative: bool) -> float | None:
    """Epoch seconds for a ``perform_in``/``perform_at`` argument; None when not in the future.

    Raises :class:`JobArgumentError` for anything but a finite number, a timedelta or a datetime
    within years 1970 to 9999: a NaN time compares false with every score, so the job would be
    written as due now, or never become due, depending on the store.
    """
    now = time.time()
    try:
        if isinstance(when, timedelta):
            at = now + when.total_seconds()
        elif isinstance(when, datetime):
            at = when.timestamp()
        elif isinstance(when, (int, float)) and not isinstance(when, bool):
            seconds = float(when)
            at = now + seconds if relative and seconds < RELATIVE_LIMIT else seconds
        else:
            raise JobArgumentError(
                f"a job time must be seconds, a timedelta or a datetime, not {type(when).__name__} {when!r}"
            )
    except (OverflowError, OSError, ValueError) as exc:  # datetime.timestamp() of an extreme value
        raise JobArgumentError(f"job time {when!r} is out of range ({exc}); pass one before 9999.") from None
    check_at(at, "a job time")
    return at if at > now else None


def check_at(at: object, where: str) -> None:
    """Raise :class:`JobArgumentError` unless ``at`` is None or finite epoch seconds before 9999."""
    if at is None:
        return
    if isinstance(at, bool) or not isinstance(at, (int, float)):
        kind = type(at).__name__
        raise JobArgumentError(f"{where}: 'at' must be epoch seconds (a number), not {kind} {at!r}")
    if not math.isfinite(at):
        raise JobArgumentError(f"{where}: 'at' is {at!r}; a job time must be finite epoch seconds")
    if not -LATEST_AT < at < LATEST_AT:
        raise JobArgumentError(f"{where}: 'at' {at!r} is out of range; a job time must be before 9999")


def check_importable(worker: type[Worker] | str, where: str) -> None:
    """Refuse a worker of ``__main__`` (a script): a sidequest process imports workers by the name in
    the payload, and in that process ``__main__`` is sidequest itself, so every run of the job would
    fail with UnknownWorkerError until its retries ran out, weeks later."""
    name = worker if isinstance(worker, str) else worker.__module__ + "."
    if name.startswith(MAIN_MODULE + "."):
        shown = name if isinstance(worker, str) else worker.__qualname__
        raise JobArgumentError(
            f"{where}: {shown} is defined in __main__ (the script you ran). The process that performs "
            f"the job imports its class by name, so the class must live in an importable module: move it "
            f"to e.g. app/workers/{_file_name(shown)}.py and import it from there."
        )


def _file_name(class_name: str) -> str:
    """``HardWorker`` -> ``hard_worker``: the recipe's file name for a worker class."""
    bare = class_name.rsplit(".", 1)[-1]
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(bare))


@dataclass(frozen=True, slots=True)
class _Template:
    """A payload minus its args and jid, shared by every job of one call."""

    payload: Payload
    where: str
    worker: type[Worker] | None


class default_or_bound(Generic[P, R]):
    """Method that, looked up on the class, runs on the default client (Sidekiq's ``Client.push``)."""

    def __init__(self, func: Callable[Concatenate[Client, P], R]) -> None:
        self.func = func
        self.__doc__ = func.__doc__

    def __get__(self, obj: Client | None, objtype: type | None = None) -> Callable[P, R]:
        func = self.func
        if obj is not None:

            def bound(*args: P.args, **kwargs: P.kwargs) -> R:
                return func(obj, *args, **kwargs)

            return bound

        def on_default(*args: P.args, **kwargs: P.kwargs) -> R:
            from sidequest.defaults import default_client

            return func(default_client(), *args, **kwargs)

        return on_default


class Client:
    """Pushes jobs to one store, through an optional chain of client middleware."""

    runs_in_this_process: bool = False
    """True for clients that perform jobs in the enqueueing process (the testing modes): they may
    enqueue workers of ``__main__``, which no other process could import."""

    def __init__(self, store: Store | str, middleware: Sequence[ClientMiddleware] = ()) -> None:
        self.store: Store = open_store(store) if isinstance(store, str) else store
        self.middleware: list[ClientMiddleware] = list(middleware)

    # -- the Worker class methods land here -------------------------------------------------------

    def enqueue(
        self,
        worker: type[Worker] | str,
        args: Sequence[Any],
        *,
        options: Mapping[str, Any] | None = None,
        at: float | None = None,
    ) -> str | None:
        """Enqueue one job for ``worker`` (a Worker class or a class name). Returns its jid, or None
        when a client middleware dropped it or it is a unique job already pending or running."""
        payload = self.build_payload(worker, args, options or {}, at)
        if payload is None:
            return None
        return self.write_one(payload, at)

    def enqueue_bulk(
        self,
        worker: type[Worker] | str,
        args_list: Sequence[Sequence[Any]],
        *,
        options: Mapping[str, Any] | None = None,
        at: float | None = None,
        batch_size: int = 1000,
    ) -> list[str | None]:
        """Enqueue one job per argument list, ``batch_size`` jobs per store write (one round trip or
        transaction each). Returns the jids in order (None where a middleware dropped a job). Unique
        jobs (``unique_for``) are pushed one at a time, and None marks each one skipped as a duplicate."""
        if batch_size < 1:
            raise ConfigurationError(f"batch_size must be >= 1, got {batch_size}")
        if isinstance(args_list, (str, bytes)) or not isinstance(args_list, Sequence):
            raise JobArgumentError("bulk args must be a list of argument lists, e.g. [[1], [2], [3]]")
        template = self._template(worker, options or {}, at, time.time())
        fresh = new_jids(len(args_list))
        # Uniqueness comes from the options, the same for every job here, unless a middleware adds it.
        unique = bool(self.middleware) or unique_for(template.payload) is not None
        jids: list[str | None] = []
        batch: list[NewJob] = []
        with self._bulk_writer() as deliver:
            for args, jid in zip(args_list, fresh, strict=True):
                if not isinstance(args, (list, tuple)):
                    raise JobArgumentError(
                        "bulk args must be a list of argument lists, e.g. [[1], [2]]; got an element "
                        f"{args!r}"
                    )
                payload = self._fill(template, args, jid)
                if payload is None:
                    jids.append(None)
                    continue
                if unique and unique_for(payload) is not None:
                    if batch:  # keep queue order: the jobs before this one go first
                        deliver(batch)
                        batch = []
                    deliver.flush()
                    jids.append(self.write_one(payload, at))
                    continue
                jids.append(str(payload["jid"]) if self.middleware else jid)  # a middleware may set its own
                batch.append(NewJob(payload, at))
                if len(batch) >= batch_size:
                    deliver(batch)
                    batch = []
            if batch:
                deliver(batch)
        return jids

    def _bulk_writer(self) -> BulkWriter | DirectWriter:
        """Where a bulk enqueue's batches go: straight to the store from a background thread
        (:mod:`sidequest.bulk_writer`) when they would go to the store anyway, else through
        :meth:`deliver` on this thread (a ``Batch.jobs()`` block, ``sidequest.transaction``, a
        testing client)."""
        direct = (
            type(self).write is Client.write
            and DEFAULT.batches.open_frame() is None
            and bound_for(self.store) is None
        )
        return BulkWriter(self.store.push) if direct else DirectWriter(self.deliver)

    def build_payload(
        self,
        worker: type[Worker] | str,
        args: Sequence[Any],
        options: Mapping[str, Any],
        at: float | None,
        created_at: float | None = None,
    ) -> Payload | None:
        """The payload Sidekiq would write for this call, after the client middleware (None if dropped)."""
        template = self._template(worker, options, at, created_at)
        return self._fill(template, args, new_jid())

    def _template(
        self,
        worker: type[Worker] | str,
        options: Mapping[str, Any],
        at: float | None,
        created_at: float | None,
    ) -> _Template:
        """Everything a payload holds except its args and jid, in Sidekiq's key order."""
        check_at(at, "enqueue")
        if isinstance(worker, str):
            if not worker:
                raise JobArgumentError("a job's class name must be a non-empty string")
            name, where, base, worker_class = worker, f"push({worker!r})", DEFAULT_OPTIONS, None
        elif isinstance(worker, type) and issubclass(worker, Worker):
            if worker.__sidequest_abstract__:
                raise JobArgumentError(f"{worker.__qualname__} is abstract and cannot be enqueued")
            name = worker.sidequest_name()
            where = f"{worker.__qualname__}.perform_async"
            base, worker_class = worker.__sidequest_resolved__, worker
        else:
            raise JobArgumentError(
                f"a job's class must be a sidequest.Worker subclass or a class name string, not {worker!r}"
            )
        if not self.runs_in_this_process:
            check_importable(worker, where)
        now = time.time()
        payload: Payload = {**base, **options, "args": None, "class": name, "jid": None}
        payload["created_at"] = created_at if created_at is not None else now
        if at is None:
            payload["enqueued_at"] = now
        if "expires_in" in payload:
            stamp_expiry(payload, at, now)
        return _Template(payload, where, worker_class)

    def _fill(self, template: _Template, args: Sequence[Any], jid: str) -> Payload | None:
        checked = check_args(args, template.where)
        if template.worker is not None:
            template.worker.check_arguments(checked, template.where)
        payload = template.payload.copy()
        payload["args"] = checked
        payload["jid"] = jid
        if self.middleware:
            return run_client_chain(self.middleware, payload)
        return payload

    def deliver(self, jobs: Sequence[NewJob]) -> None:
        """Write jobs now, or, inside a ``Batch.jobs()`` block, keep them for the block's one atomic
        write with the batch (see :mod:`sidequest.batch`)."""
        frame = DEFAULT.batches.open_frame()
        if frame is None:
            self.write(jobs)
        else:
            frame.take(self, jobs)

    def write_batches(self, adds: Sequence[BatchAdd]) -> None:
        """Create batches, register their jobs and push them in one atomic store call (the end of a
        ``Batch.jobs()`` block; testing clients override this)."""
        self.store.add_to_batches(adds, time.time())

    def batch_info(self, bid: str) -> BatchInfo | None:
        """What the store knows of batch ``bid`` (``sidequest.Batch.status``; testing clients
        override this)."""
        return self.store.batch_status(bid, time.time())

    def write(self, jobs: Sequence[NewJob]) -> None:
        """Push already-built jobs to the store in one write (subclasses for testing override this);
        inside ``sidequest.transaction(conn)``, through the application's connection."""
        bound = bound_for(self.store)
        if bound is not None:
            bound.push(jobs)
            return
        self.store.push(jobs)

    def write_one(self, payload: Payload, at: float | None) -> str | None:
        """Push one built job and return its jid. A unique job (``unique_for``) is pushed only if its
        lock is free; it then carries the lock's key as ``unique_key``, and None means it was skipped."""
        seconds = unique_for(payload)
        if seconds is None:
            self.deliver([NewJob(payload, at)])
            return str(payload["jid"])
        if DEFAULT.batches.open_frame() is not None:
            raise JobArgumentError(
                f"{payload.get('class')}: a unique job (unique_for) cannot join a batch: its lock is taken "
                f"when it is pushed, and a batch's jobs are pushed together at the end of jobs(). Enqueue "
                f"it outside the batch's jobs() block."
            )
        key = lock_key(payload)
        payload[UNIQUE_KEY] = key
        pushed = self.write_unique(NewJob(payload, at), key, lock_ttl(seconds, at, time.time()))
        return str(payload["jid"]) if pushed else None

    def write_unique(self, job: NewJob, key: str, ttl: float) -> bool:
        """Push one unique job if lock ``key`` is free (subclasses for testing override this)."""
        bound = bound_for(self.store)
        if bound is not None:
            return bound.push_unique(job, key, ttl)
        return self.store.push_unique(job, key, ttl)

    # -- Sidekiq's Client.push / push_bulk --------------------------------------------------------

    @default_or_bound
    def push(self, item: Mapping[str, Any]) -> str | None:
        """Push one job described Sidekiq-style: ``{"class": Worker or "Name", "args": [...], "queue":
        ..., "at": epoch seconds, ...options}``. Returns the jid (None if a middleware dropped it or a
        unique job was skipped as a duplicate)."""
        worker, options, at = self._split_item(item)
        args = item.get("args", [])
        if not isinstance(args, (list, tuple)):
            raise JobArgumentError(f"push: 'args' must be a list, got {type(args).__name__}")
        payload = self.build_payload(worker, args, options, at)
        if payload is None:
            return None
        if isinstance(item.get("jid"), str):
            payload["jid"] = item["jid"]
        return self.write_one(payload, at)

    @default_or_bound
    def push_bulk(self, item: Mapping[str, Any]) -> list[str | None]:
        """Push many jobs of one class: ``{"class": ..., "args": [[1], [2], ...], "batch_size": 1000}``,
        one store write per batch. Returns the jids in order."""
        worker, options, at = self._split_item(item)
        args_list = item.get("args")
        if not isinstance(args_list, (list, tuple)):
            raise JobArgumentError("push_bulk: 'args' must be a list of argument lists, e.g. [[1], [2]]")
        batch_size = item.get("batch_size", 1000)
        return self.enqueue_bulk(worker, args_list, options=options, at=at, batch_size=batch_size)

    @staticmethod
    def _split_item(item: Mapping[str, Any]) -> tuple[type[Worker] | str, dict[str, Any], float | None]:
        if "class" not in item:
            raise JobArgumentError(
                "push: the item needs a 'class' (a Worker subclass, a sidequest.job function, a class name)"
            )
        options = validate_options({k: v for k, v in item.items() if k not in ITEM_KEYS}, "push")
        at = item.get("at")
        resolved = resolve_at(at, relative=False) if at is not None else None
        worker = item["class"]
        if isinstance(worker, JobFunction):  # a @sidequest.job function: its Worker class
            worker = worker.worker
        return worker, options, resolved

    def cancel(self, jid: str) -> CancelState:
        """Cancel job ``jid`` (see :func:`sidequest.cancel`): ``"removed"``, ``"flagged"`` or
        ``"not_found"``."""
        from sidequest.cancellation import cancel_in

        return cancel_in(self.store, jid)

    def close(self) -> None:
        """Close the store."""
        self.store.close()
