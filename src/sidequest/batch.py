"""Batches: Sidekiq Pro's ``Sidekiq::Batch``, in Python, on every store.

::

    batch = sidequest.Batch(description="Import 1,000 rows")
    batch.on("success", ImportCallbacks, {"user_id": 7})
    with batch.jobs():
        ImportRowWorker.perform_bulk([[row] for row in range(1000)])
    batch.bid                                   # the batch's id, also in every job's "bid"

    class ImportCallbacks(sidequest.BatchCallbacks):
        def on_success(self, status: sidequest.BatchStatus, options: dict) -> None:
            ...

``complete`` fires once every job ran once (failures allowed), ``success`` once every job succeeded,
``death`` the first time one of its jobs went to the dead set. Each callback is a job, pushed exactly
once by the store in the same atomic step that records the transition (see ``Store.add_to_batches``
and ``Store.record_batch_outcomes``).

Inside ``jobs()`` every enqueue is kept and stamped with the batch's ``bid``; when the block ends, the
batch, its members and its jobs are written in one atomic store call, so no job can run (and finish
the batch) before the batch knows all of its jobs. An exception inside the block pushes nothing.
"""

from __future__ import annotations

import contextlib
import math
import secrets
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sidequest.batch_context import OpenFrame
from sidequest.batch_records import (
    DEFAULT_LINGER,
    EVENTS,
    NOW_MARK,
    STATUS_MARK,
    BatchAdd,
    BatchCallback,
    BatchEvent,
    BatchInfo,
    NewBatch,
)
from sidequest.errors import ConfigurationError, JobArgumentError, WorkerDefinitionError
from sidequest.serializer import check_args, dumps
from sidequest.worker import Worker

if TYPE_CHECKING:
    from sidequest.client import Client


def new_bid() -> str:
    """A batch id: 16 random bytes as URL-safe text (Sidekiq Pro's ``SecureRandom.urlsafe_base64``),
    never starting with ``-`` (``sidequest batches show BID`` would read it as an option)."""
    bid = secrets.token_urlsafe(16)
    return "B" + bid[1:] if bid.startswith("-") else bid


@dataclass(frozen=True, slots=True)
class BatchStatus:
    """A batch's state: what ``Batch.status(bid)`` returns and what callbacks receive.

    ``pending`` counts the members (jobs and child batches) that have not succeeded yet; ``failures``
    those that failed and have not succeeded since; ``failed_jids`` names them (at most 1,000).
    """

    bid: str
    total: int = 0
    pending: int = 0
    failures: int = 0
    failed_jids: list[str] = field(default_factory=list)
    description: str = ""
    created_at: float = 0.0
    parent_bid: str | None = None
    fired: dict[str, float] = field(default_factory=dict)
    """Callbacks fired so far, with the time each fired (``{"complete": 1764...}``)."""
    callbacks: list[str] = field(default_factory=list)
    """The events the batch has a callback for."""

    @property
    def complete(self) -> bool:
        """True once every job ran at least once."""
        return "complete" in self.fired or self.pending == self.failures

    @property
    def succeeded(self) -> bool:
        """True once every job succeeded."""
        return "success" in self.fired

    def is_complete(self) -> bool:
        """Sidekiq's ``complete?``."""
        return self.complete

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BatchStatus:
        """A status from the dict a callback job carries (unknown keys ignored)."""
        return cls(
            bid=str(data.get("bid", "")),
            total=int(data.get("total", 0)),
            pending=int(data.get("pending", 0)),
            failures=int(data.get("failures", 0)),
            failed_jids=[str(j) for j in data.get("failed_jids", [])],
            description=str(data.get("description") or ""),
            created_at=float(data.get("created_at") or 0.0),
            parent_bid=data.get("parent_bid") if isinstance(data.get("parent_bid"), str) else None,
        )

    @classmethod
    def from_info(cls, info: BatchInfo) -> BatchStatus:
        """A status from what a store answered."""
        return cls(
            bid=info.bid,
            total=info.total,
            pending=info.pending,
            failures=info.failures,
            failed_jids=list(info.failed_jids),
            description=info.description,
            created_at=info.created_at,
            parent_bid=info.parent,
            fired=dict(info.fired),
            callbacks=list(info.callbacks),
        )

    def to_dict(self) -> dict[str, Any]:
        """The status as JSON-ready data (the CLI's ``--json`` and the dashboard)."""
        return {
            "bid": self.bid,
            "description": self.description,
            "parent_bid": self.parent_bid,
            "created_at": self.created_at,
            "total": self.total,
            "pending": self.pending,
            "failures": self.failures,
            "failed_jids": list(self.failed_jids),
            "fired": dict(self.fired),
            "callbacks": list(self.callbacks),
        }


class BatchCallbacks(Worker, abstract=True):
    """Base class of batch callback classes: define ``on_success``, ``on_complete`` and/or
    ``on_death``, each ``(self, status: BatchStatus, options: dict)``. A callback is an ordinary job
    of this class (its queue and retries are the class's ``sidequest_options``), looked up in the
    process's registry like any other."""

    def perform(self, event: str, status: dict[str, Any], options: dict[str, Any]) -> object:
        """Call ``on_<event>`` with the batch's status and the options given to ``Batch.on``."""
        handler = getattr(self, f"on_{event}", None)
        if event not in EVENTS or not callable(handler):
            raise WorkerDefinitionError(
                f"{type(self).__qualname__} has no on_{event} method for the batch callback it was "
                f"enqueued for; add def on_{event}(self, status, options)"
            )
        return handler(BatchStatus.from_dict(status), options)


class Batch:
    """A group of jobs tracked as a whole, with callbacks (Sidekiq Pro's ``Sidekiq::Batch``)."""

    def __init__(
        self,
        description: str = "",
        *,
        linger: float = DEFAULT_LINGER,
        bid: str | None = None,
        client: Client | None = None,
    ) -> None:
        if not isinstance(description, str):
            raise JobArgumentError(f"Batch description must be a string, not {type(description).__name__}")
        if isinstance(linger, bool) or not isinstance(linger, (int, float)) or not math.isfinite(linger):
            raise ConfigurationError(f"Batch linger must be seconds (a finite number >= 0), got {linger!r}")
        if linger < 0:
            raise ConfigurationError(f"Batch linger must be >= 0 seconds, got {linger!r}")
        self.bid: str = bid if bid is not None else new_bid()
        self.description = description
        self.linger = float(linger)
        self.parent_bid: str | None = None
        self._client = client
        self._created = bid is not None
        self._callbacks: list[tuple[BatchEvent, type[BatchCallbacks], dict[str, Any]]] = []

    def __repr__(self) -> str:
        return f"Batch(bid={self.bid!r}, description={self.description!r})"

    @classmethod
    def reopen(cls, bid: str, client: Client | None = None) -> Batch:
        """The existing batch ``bid``, to add jobs to it (``self.batch`` inside a job of the batch)."""
        return cls(bid=bid, client=client)

    # -- callbacks ---------------------------------------------------------------------------------

    def on(self, event: str, callback: type[Any], options: Mapping[str, Any] | None = None) -> Batch:
        """Fire ``callback.on_<event>(status, options)`` as a job when ``event`` happens: ``"success"``,
        ``"complete"`` or ``"death"``. ``callback`` is a :class:`BatchCallbacks` subclass defined in an
        importable module; ``options`` must be JSON-native. Returns the batch."""
        if self._created:
            raise ConfigurationError(
                f"batch {self.bid} exists already: callbacks are set before its first jobs() block"
            )
        if event not in EVENTS:
            raise ConfigurationError(
                f"unknown batch event {event!r}; use one of {', '.join(repr(e) for e in EVENTS)}"
            )
        if not (isinstance(callback, type) and issubclass(callback, BatchCallbacks)):
            raise ConfigurationError(
                f"batch callback {callback!r} must be a sidequest.BatchCallbacks subclass with an "
                f"on_{event}(self, status, options) method: a payload never names code to run, so the "
                f"callback is a job of a class the processes load"
            )
        handler = getattr(callback, f"on_{event}", None)
        if not callable(handler):
            raise ConfigurationError(
                f"{callback.__qualname__} has no on_{event} method; add "
                f"def on_{event}(self, status: sidequest.BatchStatus, options: dict) -> None"
            )
        client = self._client or _default_client()
        if not client.runs_in_this_process:  # the testing modes run callbacks here, where they exist
            from sidequest.client import check_importable

            check_importable(callback, f"Batch.on({event!r})")
            if "<locals>" in callback.__qualname__:
                raise ConfigurationError(
                    f"Batch.on({event!r}): {callback.__qualname__} is defined inside a function, so "
                    f"no process can import it by name; define it at module level"
                )
        checked = check_args([dict(options or {})], f"Batch.on({event!r}) options")
        self._callbacks.append((event, callback, checked[0]))
        return self

    # -- adding jobs -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def jobs(self) -> Iterator[Batch]:
        """Every job enqueued inside joins this batch; they are pushed when the block ends.

        A new batch opened inside another batch's ``jobs()`` block, or inside a job of a batch, is
        that batch's child: it counts as pending in its parent until it succeeds, and the parent's
        callbacks fire only after the child's ran. Inside a job of this batch, ``self.batch.jobs()``
        adds jobs to it while it cannot finish (the running job is still pending).
        """
        from sidequest.defaults import DEFAULT

        context = DEFAULT.batches
        outer = context.open_frame()
        if outer is not None and outer.bid == self.bid:
            yield self  # re-entered: the outer block collects
            return
        new = not self._created
        if new and self.parent_bid is None:
            self.parent_bid = outer.bid if outer is not None else context.running_bid()
        frame = OpenFrame(self.bid)
        with context.opened(frame):
            yield self
        client = self._client or frame.client or _default_client()
        record = self._new_batch(client) if new else None
        adds = [BatchAdd(self.bid, list(frame.jobs), record), *frame.nested]
        if outer is not None:
            outer.nested.extend(adds)
            if outer.client is None:
                outer.client = client
        else:
            client.write_batches(adds)
        self._created = True

    def _new_batch(self, client: Client) -> NewBatch:
        callbacks = []
        for event, callback, options in self._callbacks:
            payload = client.build_payload(callback, [event, STATUS_MARK, options], {}, None)
            if payload is None:
                continue  # a client middleware dropped it
            payload["created_at"] = NOW_MARK
            payload["enqueued_at"] = NOW_MARK
            if self.parent_bid is not None:
                payload["bid"] = self.parent_bid
            queue = str(payload.get("queue") or "default")
            callbacks.append(BatchCallback(event, str(payload["jid"]), queue, dumps(payload)))
        return NewBatch(
            bid=self.bid,
            description=self.description,
            parent=self.parent_bid,
            created_at=time.time(),
            linger=self.linger,
            callbacks=tuple(callbacks),
        )

    # -- reading -----------------------------------------------------------------------------------

    @staticmethod
    def status(bid: str, client: Client | None = None) -> BatchStatus | None:
        """The batch's status from the store; None when it is unknown, lingered out or expired."""
        info = (client or _default_client()).batch_info(bid)
        return None if info is None else BatchStatus.from_info(info)


def _default_client() -> Client:
    from sidequest.defaults import default_client

    return default_client()
