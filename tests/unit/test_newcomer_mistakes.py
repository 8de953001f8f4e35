"""Mistakes a newcomer makes following the README, each refused at the moment it is made with a message
that says what to do: Sidekiq's ``sidekiq_options``, a worker defined in the script being run, a job
time that is not a time. And ``is_async`` that sees through decorators."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import sidequest
import sidequest.defaults
import sidequest.testing
from sidequest.client import Client
from sidequest.errors import JobArgumentError, WorkerDefinitionError


class ReceiptWorker(sidequest.Worker):
    def perform(self, order_id: int) -> None:
        pass


@pytest.fixture
def client(sqlite_url: str) -> Iterator[Client]:
    """The default client over a fresh SQLite store."""
    client = Client(sqlite_url)
    sidequest.configure(client=client)
    yield client
    sidequest.defaults.DEFAULT.configure(None)
    client.close()


def stored(client: Client) -> int:
    counts = client.store.counts()
    return counts.enqueued + counts.scheduled


def script_worker() -> type[sidequest.Worker]:
    """A worker class as a script run with ``python enqueue.py`` defines it: in ``__main__``."""
    namespace: dict[str, Any] = {"__name__": "__main__", "sidequest": sidequest}
    exec(
        "class ScriptWorker(sidequest.Worker):\n    def perform(self, n):\n        pass\n",
        namespace,
    )
    worker: type[sidequest.Worker] = namespace["ScriptWorker"]
    return worker


# -- sidekiq_options ---------------------------------------------------------------------------------


def test_sidekiq_options_on_a_worker_is_refused_at_class_definition() -> None:
    with pytest.raises(WorkerDefinitionError) as raised:

        class MailerWorker(sidequest.Worker):
            sidekiq_options = {"queue": "mailers"}  # the mistake under test

            def perform(self) -> None:
                pass

    assert str(raised.value).endswith(
        ".MailerWorker sets sidekiq_options: did you mean sidequest_options? sidequest does not read "
        "sidekiq_options; rename it to sidequest_options."
    )


@pytest.mark.parametrize(
    ("attribute", "right"),
    [
        ("sidequest_option", "sidequest_options"),
        ("sidekiq_retry_in", "retry_in"),
        ("sidekiq_retries_exhausted", "retries_exhausted"),
    ],
)
def test_other_sidekiq_names_on_a_worker_are_refused_with_sidequests_name(attribute: str, right: str) -> None:
    with pytest.raises(WorkerDefinitionError, match=f"sets {attribute}: did you mean {right}\\?"):
        type("MailerWorker", (sidequest.Worker,), {attribute: {}, "perform": lambda self: None})


def test_a_worker_with_sidequest_options_is_still_fine() -> None:
    class MailerWorker(sidequest.Worker):
        sidequest_options = {"queue": "mailers"}

        def perform(self) -> None:
            pass

    assert MailerWorker.get_sidequest_options()["queue"] == "mailers"


# -- is_async through decorators -------------------------------------------------------------------


def logged(func: Callable[..., Any]) -> Callable[..., Any]:
    """A decorator as applications write them: a sync wrapper that returns what the method returns."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return wrapper


def test_an_async_perform_behind_a_functools_wraps_decorator_is_still_async() -> None:
    class ReportWorker(sidequest.Worker):
        @logged
        async def perform(self, report_id: int) -> None:
            pass

    class PlainWorker(sidequest.Worker):
        @logged
        def perform(self, report_id: int) -> None:
            pass

    assert ReportWorker.is_async() is True
    assert PlainWorker.is_async() is False
    ReportWorker.check_arguments([1], "ReportWorker.perform_async")  # the signature is the method's


# -- a worker defined in __main__ ------------------------------------------------------------------


@pytest.mark.parametrize(
    "enqueue",
    [
        lambda worker: worker.perform_async(1),
        lambda worker: worker.perform_in(60, 1),
        lambda worker: worker.perform_at(datetime.now(UTC) + timedelta(hours=1), 1),
        lambda worker: worker.perform_bulk([[1], [2]]),
        lambda worker: worker.set(queue="low").perform_async(1),
        lambda worker: sidequest.Client.push({"class": worker, "args": [1]}),
        lambda worker: sidequest.Client.push_bulk({"class": worker, "args": [[1]]}),
        lambda worker: sidequest.Client.push({"class": "__main__.ScriptWorker", "args": [1]}),
    ],
    ids=["perform_async", "perform_in", "perform_at", "perform_bulk", "set", "push", "push_bulk", "by-name"],
)
def test_a_worker_defined_in_main_is_refused_at_enqueue_and_nothing_is_stored(
    client: Client, enqueue: Callable[[type[sidequest.Worker]], object]
) -> None:
    worker = script_worker()

    with pytest.raises(JobArgumentError) as raised:
        enqueue(worker)

    message = str(raised.value)
    assert "ScriptWorker is defined in __main__" in message
    assert "must live in an importable module" in message
    assert "app/workers/script_worker.py" in message
    assert stored(client) == 0


def test_fake_mode_accepts_a_worker_defined_in_main_since_drain_runs_it_in_this_process() -> None:
    worker = script_worker()

    with sidequest.testing.fake() as jobs:
        worker.perform_async(1)
        assert [job.class_name for job in jobs] == ["__main__.ScriptWorker"]
        assert jobs.drain() == 1


def test_inline_mode_accepts_a_worker_defined_in_main_and_runs_it_at_once() -> None:
    ran: list[int] = []
    worker = script_worker()
    worker.perform = lambda self, n: ran.append(n)  # type: ignore[method-assign]

    with sidequest.testing.inline():
        assert worker.perform_async(2) is not None

    assert ran == [2]


# -- job times -------------------------------------------------------------------------------------


NOT_TIMES = [math.nan, math.inf, -math.inf, 1e300]


@pytest.mark.parametrize("when", NOT_TIMES, ids=["nan", "inf", "-inf", "huge"])
def test_a_job_time_that_is_not_finite_is_refused_on_every_enqueue_path(client: Client, when: float) -> None:
    paths: list[Callable[[], object]] = [
        lambda: ReceiptWorker.perform_at(when, 1),
        lambda: ReceiptWorker.perform_in(when, 1),
        lambda: client.enqueue(ReceiptWorker, [1], at=when),
        lambda: client.enqueue_bulk(ReceiptWorker, [[1]], at=when),
        lambda: client.push({"class": ReceiptWorker, "args": [1], "at": when}),
        lambda: client.push_bulk({"class": ReceiptWorker, "args": [[1]], "at": when}),
        lambda: client.build_payload(ReceiptWorker, [1], {}, when),
    ]
    for path in paths:
        with pytest.raises(JobArgumentError, match=r"finite|out of range"):
            path()
    assert stored(client) == 0


@pytest.mark.parametrize(
    ("when", "problem"),
    [
        (True, "not bool"),
        ("2030-01-01", "not str"),
        (datetime.max.replace(tzinfo=UTC), "out of range"),
        (timedelta.max, "out of range"),
    ],
    ids=["bool", "str", "far-datetime", "far-timedelta"],
)
def test_a_job_time_of_the_wrong_kind_or_out_of_range_is_refused(
    client: Client, when: Any, problem: str
) -> None:
    with pytest.raises(JobArgumentError, match=problem):
        ReceiptWorker.perform_at(when, 1)
    with pytest.raises(JobArgumentError, match=problem):
        client.push({"class": ReceiptWorker, "args": [1], "at": when})
    assert stored(client) == 0
