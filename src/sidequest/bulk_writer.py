"""A bulk enqueue's batches written by a background thread while the caller builds the next one.

``perform_bulk`` of 10,000 jobs is ten batches of 1,000, each built in Python (payloads, jids, JSON)
and then written in one store round trip. Done one after the other, the client waits for the store
while the store waits for the client: on PostgreSQL a batch costs ~2.6 ms to build and ~3.5 ms to
write. Here the writes happen on a thread of their own, in order, one at a time, while the caller
builds the next batch (the store's I/O gives the GIL back), so the two overlap.

Nothing changes for the caller: batches reach the store in the order given, each in one write of its
own as before, and the first write that fails raises from the call, with no later batch written (those
before it are stored, as before). A bulk enqueue of one batch writes it on the caller's thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence

from sidequest.job import NewJob

Write = Callable[[Sequence[NewJob]], None]


class BulkWriter:
    """Writes batches with ``write`` on a background thread, in order (see the module docstring).

    Use as a context manager: leaving the block waits for every batch and raises the first error."""

    def __init__(self, write: Write) -> None:
        self._write = write
        self._first: Sequence[NewJob] | None = None
        self._queue: queue.Queue[Sequence[NewJob] | None] = queue.Queue(maxsize=1)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def __call__(self, batch: Sequence[NewJob]) -> None:
        """Write ``batch`` after the ones given before it; raises an earlier batch's error."""
        self._raise_failure()
        if self._thread is None:
            if self._first is None:  # maybe the only batch: written on this thread at the end
                self._first = batch
                return
            self._thread = threading.Thread(target=self._run, name="sidequest-bulk-writer", daemon=True)
            self._thread.start()
            self._queue.put(self._first)
            self._first = None
        self._queue.put(batch)

    def flush(self) -> None:
        """Wait until every batch given so far is written; raises the first error."""
        if self._thread is None:
            first, self._first = self._first, None
            if first is not None:
                self._write(first)
            return
        self._queue.join()
        self._raise_failure()

    def __enter__(self) -> BulkWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is not None:  # the caller failed: write nothing more, and its error is the one raised
            self._first = None
            if self._error is None:
                self._error = _Abandoned()
            self._stop()
            return
        try:
            self.flush()
        finally:
            self._stop()

    def _stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while True:
            batch = self._queue.get()
            try:
                if batch is None:
                    return
                if self._error is None:  # after a failure, later batches are dropped
                    self._write(batch)
            except BaseException as exc:  # raised from the caller's next call or the block's end
                self._error = exc
            finally:
                self._queue.task_done()

    def _raise_failure(self) -> None:
        if self._error is not None:
            raise self._error


class DirectWriter:
    """The same interface over ``deliver``, on the calling thread: where batches must not leave it (a
    ``Batch.jobs()`` block, ``sidequest.transaction``, a testing client)."""

    def __init__(self, deliver: Write) -> None:
        self._deliver = deliver

    def __call__(self, batch: Sequence[NewJob]) -> None:
        self._deliver(batch)

    def flush(self) -> None:
        """Nothing waits: every batch was delivered when given."""

    def __enter__(self) -> DirectWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class _Abandoned(Exception):
    """The caller stopped the bulk enqueue: batches not yet written are dropped (never raised)."""
