"""Workers of the batch scenarios (load with ``-r testapp.batch_workers``). Each run appends
``<jid> <key>`` to ``$SIDEQUEST_TEST_RECORD`` (see :func:`testapp.workers.record`): batch jobs as
``job-<n>``, callbacks as ``<event>-<description> pending=<n> failures=<n>``, so a scenario counts runs
and reads their order across processes."""

from __future__ import annotations

import time
from typing import Any

import sidequest
from testapp.workers import record


class BatchJob(sidequest.Worker):
    """Sleeps a little, records its run; ``"die"`` raises (use ``retry: 0`` to send it to the dead set)."""

    sidequest_options = {"retry": 2}

    def perform(self, n: int, action: str = "ok", seconds: float = 0.0) -> None:
        if seconds:
            time.sleep(seconds)
        if action == "die":
            record(self.jid, f"dying-{n}")
            raise RuntimeError(f"job {n} was told to die")
        record(self.jid, f"job-{n}")


class SpawnChild(sidequest.Worker):
    """A job of a batch that opens a child batch of ``count`` jobs from ``perform``."""

    def perform(self, count: int) -> None:
        child = sidequest.Batch(description="child")
        child.on("complete", RecordCallbacks).on("success", RecordCallbacks)
        with child.jobs():
            BatchJob.perform_bulk([[1000 + n, "ok", 0.01] for n in range(count)])
        record(self.jid, "spawned")


class AddToOwnBatch(sidequest.Worker):
    """A job of a batch that adds ``count`` jobs to its own batch (``self.batch``)."""

    def perform(self, count: int) -> None:
        batch = self.batch
        assert batch is not None
        with batch.jobs():
            BatchJob.perform_bulk([[2000 + n] for n in range(count)])
        record(self.jid, "added")


class RecordCallbacks(sidequest.BatchCallbacks):
    """Records each callback it gets, with the batch's counters."""

    sidequest_options = {"queue": "callbacks"}

    def _record(self, event: str, status: sidequest.BatchStatus, options: dict[str, Any]) -> None:
        record(self.jid, f"{event}-{status.description} pending={status.pending} failures={status.failures}")

    def on_complete(self, status: sidequest.BatchStatus, options: dict[str, Any]) -> None:
        self._record("complete", status, options)

    def on_success(self, status: sidequest.BatchStatus, options: dict[str, Any]) -> None:
        self._record("success", status, options)

    def on_death(self, status: sidequest.BatchStatus, options: dict[str, Any]) -> None:
        self._record("death", status, options)
