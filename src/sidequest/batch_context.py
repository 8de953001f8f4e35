"""Where an open ``Batch.jobs()`` block and the running job's batch are remembered, per thread or
task: two context variables held by the process's one :data:`sidequest.defaults.DEFAULT` (so no
module state here). The client reads :meth:`BatchContext.open_frame` on every write: inside a block,
jobs are stamped with the batch's ``bid`` and kept, then pushed together with the batch's records in
one atomic store call when the block ends (see :mod:`sidequest.batch`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sidequest.batch_records import BatchAdd
from sidequest.job import NewJob, Payload

if TYPE_CHECKING:
    from sidequest.client import Client

NO_SCOPE: contextlib.AbstractContextManager[None] = contextlib.nullcontext()


@dataclass(slots=True)
class OpenFrame:
    """One open ``jobs()`` block: the batch's id, the jobs enqueued inside, the additions of the
    batches nested in it (pushed with it), and the client the jobs were enqueued through."""

    bid: str
    jobs: list[NewJob] = field(default_factory=list)
    nested: list[BatchAdd] = field(default_factory=list)
    client: Client | None = None

    def take(self, client: Client, jobs: Sequence[NewJob]) -> None:
        """Keep ``jobs`` for the block's flush, each stamped with the batch's ``bid``."""
        for job in jobs:
            job.payload["bid"] = self.bid
        self.jobs.extend(jobs)
        if self.client is None:
            self.client = client


class BatchContext:
    """The open block and the running job's batch, in this thread or task."""

    def __init__(self) -> None:
        self._open: ContextVar[OpenFrame | None] = ContextVar("sidequest_batch_open", default=None)
        self._running: ContextVar[str | None] = ContextVar("sidequest_batch_running", default=None)

    def open_frame(self) -> OpenFrame | None:
        """The innermost open ``jobs()`` block, or None."""
        return self._open.get()

    @contextlib.contextmanager
    def opened(self, frame: OpenFrame) -> Iterator[OpenFrame]:
        """Make ``frame`` the open block inside the ``with``."""
        token = self._open.set(frame)
        try:
            yield frame
        finally:
            self._open.reset(token)

    def running_bid(self) -> str | None:
        """The ``bid`` of the job running in this thread or task, or None."""
        return self._running.get()

    def running(self, payload: Payload) -> contextlib.AbstractContextManager[Any]:
        """Around a job's ``perform`` (the executor): its ``bid``, when it has one, is the running
        batch; a job without one costs a dictionary lookup."""
        bid = payload.get("bid")
        if bid is None or not isinstance(bid, str):
            return NO_SCOPE
        return self._running_scope(bid)

    @contextlib.contextmanager
    def _running_scope(self, bid: str) -> Iterator[None]:
        token = self._running.set(bid)
        try:
            yield
        finally:
            self._running.reset(token)
