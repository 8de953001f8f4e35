"""Which Worker classes a process may run: only the ones it has imported, looked up by the name in a
payload's ``class`` field."""

from __future__ import annotations

import pytest

import sidequest
from sidequest.errors import UnknownWorkerError
from sidequest.registry import WorkerRegistry


class ApplicationWorker(sidequest.Worker, abstract=True):
    sidequest_options = {"queue": "app"}


class OrderWorker(ApplicationWorker):
    def perform(self, order_id: int) -> None:
        pass


class RushOrderWorker(OrderWorker):
    """A subclass of a subclass: found as well."""


class Internal(ApplicationWorker, abstract=True):
    """An abstract class below a concrete-free branch."""


class DeepWorker(Internal):
    def perform(self) -> None:
        pass


class Namespace:
    class NestedWorker(sidequest.Worker):
        def perform(self) -> None:
            pass


def test_the_registry_of_loaded_workers_finds_subclasses_at_every_depth() -> None:
    registry = WorkerRegistry.from_loaded()

    for worker in (OrderWorker, RushOrderWorker, DeepWorker, Namespace.NestedWorker):
        assert worker.sidequest_name() in registry
        assert registry.get(worker.sidequest_name()) is worker


def test_the_registry_of_loaded_workers_skips_abstract_classes() -> None:
    registry = WorkerRegistry.from_loaded()

    assert ApplicationWorker.sidequest_name() not in registry
    assert Internal.sidequest_name() not in registry
    assert sidequest.Worker.sidequest_name() not in registry
    assert all(not worker.__sidequest_abstract__ for worker in registry)


def test_a_worker_defined_later_is_in_the_next_registry_but_not_an_earlier_one() -> None:
    before = WorkerRegistry.from_loaded()

    class LateWorker(sidequest.Worker):
        def perform(self) -> None:
            pass

    assert LateWorker.sidequest_name() not in before
    assert WorkerRegistry.from_loaded().get(LateWorker.sidequest_name()) is LateWorker


def test_a_registry_of_chosen_workers_holds_exactly_those_sorted_by_name() -> None:
    registry = WorkerRegistry.of(RushOrderWorker, OrderWorker)

    assert len(registry) == 2
    assert registry.names() == sorted([OrderWorker.sidequest_name(), RushOrderWorker.sidequest_name()])
    assert list(registry) == [OrderWorker, RushOrderWorker]
    assert DeepWorker.sidequest_name() not in registry


def test_an_unknown_class_name_says_how_to_load_it() -> None:
    registry = WorkerRegistry.of(OrderWorker)

    with pytest.raises(UnknownWorkerError) as raised:
        registry.get("HardJob")

    message = str(raised.value)
    assert message.startswith(
        "unknown worker class 'HardJob': no Worker of that name is loaded in this process."
    )
    assert "Load its module with 'sidequest run -r MODULE'" in message
    assert "check the class name in the payload" in message


def test_a_class_name_is_matched_exactly_never_by_its_short_name() -> None:
    registry = WorkerRegistry.of(OrderWorker)

    with pytest.raises(UnknownWorkerError):
        registry.get("OrderWorker")
    with pytest.raises(UnknownWorkerError):
        registry.get(OrderWorker.sidequest_name().upper())


def test_an_unknown_worker_error_is_a_lookup_error() -> None:
    with pytest.raises(LookupError):
        WorkerRegistry.of().get("anything")


def test_a_worker_class_whose_definition_failed_is_never_registered() -> None:
    with pytest.raises(sidequest.WorkerDefinitionError) as raised:

        class HalfDefinedWorker(sidequest.Worker):
            def process(self) -> None:
                pass

    # The traceback keeps the half-built class alive, as a module that caught the error would.
    assert raised.traceback
    assert not any(name.endswith(".HalfDefinedWorker") for name in WorkerRegistry.from_loaded().names())
