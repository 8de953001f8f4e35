"""What the executor makes of ``OverLimit`` escaping ``perform``, with real limiters on a real SQLite
store: a reschedule with the limiter's backoff that is not a failure (no error fields, no retry count,
no ``retry_in``, even for ``retry: False``), until the 20th, after which the retry policy decides."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import pytest

import sidequest
from sidequest import limiter
from sidequest.client import Client
from sidequest.errors import OverLimit
from sidequest.job import Claimed, Payload
from sidequest.limits import Limit
from sidequest.registry import WorkerRegistry
from sidequest.runtime.executor import Executor
from sidequest.stores import open_store
from sidequest.stores.base import Store

FULL = limiter.concurrent("full", 1, wait_timeout=0, lock_timeout=300, backoff=2.0)
ODD = limiter.concurrent("odd", 1, wait_timeout=0, lock_timeout=300, backoff=lambda count: 1 / 0)
HOOK_CALLS: list[int] = []


class FullWorker(sidequest.Worker):
    def perform(self) -> None:
        with FULL.within_limit():
            pass

    def retry_in(self, count: int, exc: BaseException) -> float:
        HOOK_CALLS.append(count)
        return 1000.0


class OddBackoffWorker(sidequest.Worker):
    def perform(self) -> None:
        with ODD.within_limit():
            pass


class BareOverLimitWorker(sidequest.Worker):
    def perform(self) -> None:
        raise OverLimit("an OverLimit made by hand, with no limiter")


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    with open_store(sqlite_url) as opened:
        for name in ("full", "odd"):  # every slot held by someone else
            assert opened.limiter_acquire(Limit("concurrent", name, 1, 300.0), "elsewhere").allowed
        yield opened


@pytest.fixture
def executor(store: Store) -> Executor:
    registry = WorkerRegistry.of(FullWorker, OddBackoffWorker, BareOverLimitWorker)
    return Executor(registry, Client(store), rng=random.Random(7))


def claimed(worker: type[sidequest.Worker], **fields: object) -> Claimed:
    payload: Payload = {
        "class": worker.sidequest_name(),
        "args": [],
        "jid": "a" * 24,
        "queue": "default",
        "retry": True,
        "created_at": 1.0,
        **fields,
    }
    return Claimed("{}", payload, "default")


def test_an_over_limit_job_is_rescheduled_with_the_limiters_backoff_and_no_failure(
    executor: Executor,
) -> None:
    HOOK_CALLS.clear()
    before = time.time()
    outcome = executor.run(claimed(FullWorker))
    assert outcome is not None
    assert (outcome.action, outcome.failed, outcome.overrated) == ("retry", False, True)
    assert outcome.payload is not None and outcome.at is not None
    assert outcome.payload["overrated"] == 1
    assert not {"error_class", "error_message", "retry_count", "failed_at", "retried_at"} & set(
        outcome.payload
    )
    assert before + 2.0 <= outcome.at <= time.time() + 4.0  # step 2 s x 1, plus up to 2 s of jitter
    assert HOOK_CALLS == []  # retry_in is for failures


def test_the_count_grows_and_the_backoff_with_it(executor: Executor) -> None:
    outcome = executor.run(claimed(FullWorker, overrated=9))
    assert outcome is not None and outcome.payload is not None and outcome.at is not None
    assert outcome.payload["overrated"] == 10
    assert outcome.at >= time.time() + 19


def test_retry_false_does_not_stop_a_reschedule(executor: Executor) -> None:
    outcome = executor.run(claimed(FullWorker, retry=False))
    assert outcome is not None and (outcome.action, outcome.overrated) == ("retry", True)


def test_after_20_reschedules_the_over_limit_is_a_failure_for_the_retry_policy(executor: Executor) -> None:
    HOOK_CALLS.clear()
    outcome = executor.run(claimed(FullWorker, overrated=20))
    assert outcome is not None and outcome.payload is not None
    assert (outcome.action, outcome.failed, outcome.overrated) == ("retry", True, False)
    assert outcome.payload["error_class"] == "sidequest.errors.OverLimit"
    assert outcome.payload["retry_count"] == 0 and outcome.payload["overrated"] == 20
    assert HOOK_CALLS == [0]
    dropped = executor.run(claimed(FullWorker, overrated=20, retry=False))
    assert dropped is not None and (dropped.action, dropped.failed) == ("ack", True)


def test_a_backoff_that_raises_and_an_overlimit_without_a_limiter_get_the_default_backoff(
    executor: Executor,
) -> None:
    for worker in (OddBackoffWorker, BareOverLimitWorker):
        outcome = executor.run(claimed(worker))
        assert outcome is not None and outcome.at is not None
        assert (outcome.action, outcome.overrated) == ("retry", True)
        assert time.time() + 4 <= outcome.at <= time.time() + 11  # 5 s x 1, plus up to 5 s
