"""Iterable, expiring and cancelled jobs in the testing modes: an iterable job runs its whole walk in
one go, an expired job is dropped, a collected job can be cancelled."""

from __future__ import annotations

from collections.abc import Iterator

import sidequest
import sidequest.testing

HANDLED: list[int] = []


class Walk(sidequest.IterableWorker):
    def build_enumerator(self, count: int, *, cursor: int | None) -> Iterator[tuple[int, int]]:
        return sidequest.iteration.over_range(0, count, cursor=cursor)

    def each_iteration(self, number: int, count: int) -> None:
        HANDLED.append(number)
        assert not self.cancelled()


class Note(sidequest.Worker):
    def perform(self, text: str) -> None:
        HANDLED.append(-1)


def test_fake_mode_drains_an_iterable_job_in_one_go() -> None:
    HANDLED.clear()
    with sidequest.testing.fake() as jobs:
        Walk.perform_async(5)
        assert jobs.drain() == 1
    assert HANDLED == [0, 1, 2, 3, 4]


def test_inline_mode_runs_an_iterable_job_at_once() -> None:
    HANDLED.clear()
    with sidequest.testing.inline():
        Walk.perform_async(3)
    assert HANDLED == [0, 1, 2]


def test_fake_mode_drops_an_expired_job_and_cancels_a_collected_one() -> None:
    HANDLED.clear()
    with sidequest.testing.fake() as jobs:
        Note.set(expires_in=0.000001).perform_async("late")
        cancelled = Note.perform_async("cancelled")
        assert cancelled is not None
        assert sidequest.cancel(cancelled) == "removed"
        assert sidequest.cancel(cancelled) == "not_found"
        jobs.drain()
    assert HANDLED == []
