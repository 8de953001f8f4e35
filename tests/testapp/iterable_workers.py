"""Workers for the iterable, expiring and cancellation scenarios (loaded with an extra
``-r testapp.iterable_workers``). Each records what it does through :func:`testapp.workers.record`:
``item N`` for each item handled, ``hook NAME`` for each lifecycle hook, ``start N T`` / ``end N T``
with wall-clock times for the slow one."""

from __future__ import annotations

import time
from collections.abc import Iterator

import sidequest
from sidequest import iteration
from testapp.workers import record


class CountingIterableWorker(sidequest.IterableWorker):
    """Walks ``range(count)``, ``pause`` seconds per item."""

    sidequest_options = {"retry": 3}

    def build_enumerator(self, count: int, pause: float, *, cursor: int | None) -> Iterator[tuple[int, int]]:
        return iteration.over_range(0, count, cursor=cursor)

    def each_iteration(self, number: int, count: int, pause: float) -> None:
        record(self.jid, f"item {number}")
        if pause:
            time.sleep(pause)

    def on_start(self) -> None:
        record(self.jid, "hook on_start")

    def on_resume(self) -> None:
        record(self.jid, f"hook on_resume {self.executions}")

    def on_stop(self) -> None:
        record(self.jid, "hook on_stop")

    def on_complete(self) -> None:
        record(self.jid, "hook on_complete")


class CappedIterableWorker(CountingIterableWorker):
    """The same walk, re-enqueued after every half second of running."""

    sidequest_options = {"max_iteration_runtime": 0.5}


class SlowIterableWorker(CountingIterableWorker):
    """Records when each item starts and ends (wall clock), for the cancellation scenario."""

    def each_iteration(self, number: int, count: int, pause: float) -> None:
        record(self.jid, f"start {number} {time.time()}")
        time.sleep(pause)
        record(self.jid, f"end {number} {time.time()}")


class NoteWorker(sidequest.Worker):
    """Records that it ran, with its argument."""

    def perform(self, note: str) -> None:
        record(self.jid, f"ran {note}")


class PatientWorker(sidequest.Worker):
    """A plain job that polls ``self.cancelled()`` and returns once it says so."""

    def perform(self, seconds: float) -> None:
        record(self.jid, "began")
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self.cancelled():
                record(self.jid, "saw cancel")
                return
            time.sleep(0.05)
        record(self.jid, "finished")


class StuckOnceIterableWorker(CountingIterableWorker):
    """Item ``slow`` spins in pure Python past the time limit in the job's first run only."""

    sidequest_options = {"time_limit": 1.5, "retry": 3}

    def build_enumerator(self, count: int, slow: int, *, cursor: int | None) -> Iterator[tuple[int, int]]:
        return iteration.over_range(0, count, cursor=cursor)

    def each_iteration(self, number: int, count: int, slow: int) -> None:
        record(self.jid, f"item {number}")
        end = time.monotonic() + (5.0 if number == slow and self.executions == 1 else 0.01)
        while time.monotonic() < end:
            pass


class OftenSavedIterableWorker(CountingIterableWorker):
    """Saves its cursor every quarter second (the default is every 5 s)."""

    state_flush_interval = 0.25
