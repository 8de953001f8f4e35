"""Registering periodic jobs in code: ``sidequest.periodic(...)`` checks everything at once and keeps
the entry on the worker class, where a process finds it through its WorkerRegistry."""

from __future__ import annotations

import pytest

import sidequest
from sidequest.errors import ConfigurationError, WorkerDefinitionError
from sidequest.periodic import entries_of
from sidequest.registry import WorkerRegistry


class HourlyReportWorker(sidequest.Worker):
    sidequest_options = {"queue": "reports", "retry": 5}

    def perform(self, day: str | None = None) -> None:
        pass


def test_an_entry_is_attached_to_its_worker_with_options_over_the_workers_own() -> None:
    class ReportWorker(sidequest.Worker):
        sidequest_options = {"queue": "reports", "retry": 5}

        def perform(self) -> None:
            pass

    entry = sidequest.periodic(
        "0 * * * *", ReportWorker, name="hourly-report", tz="Europe/Berlin", queue="low", retry=2
    )

    assert entries_of(ReportWorker) == (entry,)
    assert (entry.name, entry.expression, entry.schedule.tz_name) == (
        "hourly-report",
        "0 * * * *",
        "Europe/Berlin",
    )
    assert entry.options == {"queue": "low", "retry": 2}
    assert entry.queue == "low"
    assert entry.catch_up is False


class NightlyWorker(sidequest.Worker):
    sidequest_options = {"queue": "night"}

    def perform(self) -> None:
        pass


def test_the_default_name_is_the_workers_class_name_and_the_queue_its_own() -> None:
    entry = sidequest.periodic("0 3 * * *", NightlyWorker)

    assert entry.name == "unit.test_periodic.NightlyWorker" == NightlyWorker.sidequest_name()
    assert entry.queue == "night"


def test_a_worker_whose_perform_needs_arguments_is_refused_with_the_reason() -> None:
    class RefundWorker(sidequest.Worker):
        def perform(self, order_id: int, amount: int, note: str = "") -> None:
            pass

    with pytest.raises(WorkerDefinitionError) as refused:
        sidequest.periodic("*/5 * * * *", RefundWorker, name="refunds")

    message = str(refused.value)
    assert "requires order_id, amount" in message
    assert "calls perform with no arguments" in message
    assert entries_of(RefundWorker) == ()


def test_optional_arguments_and_async_perform_are_fine() -> None:
    class AsyncSweepWorker(sidequest.Worker):
        async def perform(self, *ids: int, dry_run: bool = False) -> None:
            pass

    assert (
        sidequest.periodic("0 0 * * *", HourlyReportWorker, name="optional-args").worker is HourlyReportWorker
    )
    assert sidequest.periodic("0 0 * * *", AsyncSweepWorker, name="async").worker is AsyncSweepWorker


def test_an_abstract_worker_or_a_plain_class_is_refused() -> None:
    class BaseWorker(sidequest.Worker, abstract=True):
        pass

    with pytest.raises(WorkerDefinitionError, match=r"not a concrete sidequest\.Worker"):
        sidequest.periodic("0 0 * * *", BaseWorker)
    with pytest.raises(WorkerDefinitionError, match=r"not a concrete sidequest\.Worker"):
        sidequest.periodic("0 0 * * *", dict)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"queue": "no spaces"}, WorkerDefinitionError, "option queue='no spaces'"),
        ({"retries": 3}, WorkerDefinitionError, "unknown option 'retries'"),
        ({"tz": "Europe/Atlantis"}, ConfigurationError, "unknown time zone"),
        ({"name": "has:colon"}, ConfigurationError, "bad periodic entry name"),
        ({"name": ""}, ConfigurationError, "bad periodic entry name"),
    ],
)
def test_bad_options_names_and_zones_are_refused_at_registration(
    kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    class SomeWorker(sidequest.Worker):
        def perform(self) -> None:
            pass

    with pytest.raises(error, match=message):
        sidequest.periodic("0 0 * * *", SomeWorker, **{"name": "some", **kwargs})  # type: ignore[arg-type]
    assert entries_of(SomeWorker) == ()


def test_a_bad_expression_is_refused_at_registration() -> None:
    class SomeWorker(sidequest.Worker):
        def perform(self) -> None:
            pass

    with pytest.raises(ConfigurationError, match="bad cron expression"):
        sidequest.periodic("every hour", SomeWorker, name="some")


def test_one_worker_may_have_several_schedules_with_distinct_names() -> None:
    class DigestWorker(sidequest.Worker):
        def perform(self) -> None:
            pass

    morning = sidequest.periodic("0 8 * * *", DigestWorker, name="digest-morning")
    evening = sidequest.periodic("0 18 * * *", DigestWorker, name="digest-evening")

    assert entries_of(DigestWorker) == (morning, evening)
    with pytest.raises(ConfigurationError, match="already has a periodic entry named 'digest-morning'"):
        sidequest.periodic("0 9 * * *", DigestWorker, name="digest-morning")


def test_a_subclass_does_not_inherit_its_parents_entries() -> None:
    class ParentWorker(sidequest.Worker):
        def perform(self) -> None:
            pass

    class ChildWorker(ParentWorker):
        pass

    sidequest.periodic("0 0 * * *", ParentWorker, name="parent-only")

    assert entries_of(ChildWorker) == ()


def test_a_registry_lists_the_entries_of_its_workers_by_name() -> None:
    class AWorker(sidequest.Worker):
        def perform(self) -> None:
            pass

    class BWorker(sidequest.Worker):
        def perform(self) -> None:
            pass

    b = sidequest.periodic("0 0 * * *", BWorker, name="b-entry")
    a = sidequest.periodic("0 0 * * *", AWorker, name="a-entry")

    assert WorkerRegistry.of(AWorker, BWorker).periodic_entries() == [a, b]
    assert WorkerRegistry.of(AWorker).periodic_entries() == [a]


def test_two_workers_with_one_entry_name_is_a_clear_error_when_collected() -> None:
    class FirstWorker(sidequest.Worker):
        def perform(self) -> None:
            pass

    class SecondWorker(sidequest.Worker):
        def perform(self) -> None:
            pass

    sidequest.periodic("0 0 * * *", FirstWorker, name="cleanup")
    sidequest.periodic("0 1 * * *", SecondWorker, name="cleanup")

    with pytest.raises(ConfigurationError, match="two periodic entries are named 'cleanup'"):
        WorkerRegistry.of(FirstWorker, SecondWorker).periodic_entries()
