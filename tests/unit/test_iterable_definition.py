"""IterableWorker's checks at class definition, its argument checks at enqueue, and the options of
expiring and iterable jobs (``expires_in``, ``max_iteration_runtime``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import sidequest
from sidequest.errors import JobArgumentError, WorkerDefinitionError
from sidequest.expiry import has_expired
from sidequest.testing.fake import FakeClient


class Backfill(sidequest.IterableWorker):
    def build_enumerator(self, shop: int, *, cursor: int | None) -> Iterator[tuple[int, int]]:
        return sidequest.iteration.over_range(0, 3, cursor=cursor)

    def each_iteration(self, number: int, shop: int) -> None:
        pass


def test_an_iterable_worker_without_each_iteration_is_refused_at_definition() -> None:
    with pytest.raises(WorkerDefinitionError, match="without each_iteration"):

        class Broken(sidequest.IterableWorker):
            def build_enumerator(self, *, cursor: Any) -> list[tuple[int, int]]:
                return []


def test_an_iterable_worker_that_defines_perform_is_told_to_use_each_iteration() -> None:
    with pytest.raises(WorkerDefinitionError, match="put the work for one item in each_iteration"):

        class Broken(Backfill):
            def perform(self, shop: int) -> None:
                pass


def test_build_enumerator_must_take_the_cursor() -> None:
    with pytest.raises(WorkerDefinitionError, match="keyword argument cursor"):

        class Broken(sidequest.IterableWorker):
            def build_enumerator(self, shop: int) -> list[tuple[int, int]]:  # type: ignore[override]
                return []

            def each_iteration(self, item: int, shop: int) -> None:
                pass


def test_process_isolation_is_refused_for_iterable_workers() -> None:
    with pytest.raises(WorkerDefinitionError, match="isolation='process' is not supported"):

        class Broken(Backfill):
            sidequest_options = {"isolation": "process"}


def test_enqueue_checks_the_arguments_against_each_iteration_after_the_item() -> None:
    client = FakeClient()
    assert client.enqueue(Backfill, [1])
    with pytest.raises(JobArgumentError, match="do not fit"):
        client.enqueue(Backfill, [1, 2])


@pytest.mark.parametrize("value", [0, -1, "10", float("inf"), True])
def test_expires_in_and_max_iteration_runtime_must_be_positive_seconds(value: object) -> None:
    for option in ("expires_in", "max_iteration_runtime"):
        with pytest.raises(WorkerDefinitionError, match=f"option {option}="):
            Backfill.set(**{option: value})


def test_expires_in_becomes_expires_at_counted_from_the_due_time() -> None:
    client = FakeClient()
    now_payload = client.build_payload(Backfill, [1], {"expires_in": 30}, None)
    assert now_payload is not None and "expires_in" not in now_payload
    assert abs(now_payload["expires_at"] - (now_payload["created_at"] + 30)) < 0.01
    later = client.build_payload(Backfill, [1], {"expires_in": 30}, 2_000_000_000.0)
    assert later is not None and later["expires_at"] == 2_000_000_030.0


def test_only_a_real_time_in_the_past_expires_a_job() -> None:
    assert has_expired(10.0, 11.0) and has_expired(11, 11.0)
    assert not has_expired(12.0, 11.0)
    for odd in ("10", None, True, float("nan")):
        assert not has_expired(odd, 11.0)
