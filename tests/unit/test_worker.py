"""Defining a worker: what ``class MyWorker(sidequest.Worker)`` checks when the class is created, so a
mistake in a worker fails at import time instead of when its first job runs."""

from __future__ import annotations

import importlib
import inspect

import pytest

import sidequest
from sidequest.errors import JobArgumentError, WorkerDefinitionError


class HardWorker(sidequest.Worker):
    sidequest_options = {"queue": "critical", "retry": 3}

    def perform(self, name: str, count: int = 1) -> None:
        pass


class MailerWorkers:
    class WelcomeWorker(sidequest.Worker):
        def perform(self, user_id: int) -> None:
            pass


class ApplicationWorker(sidequest.Worker, abstract=True):
    """A base class for the app's workers: shared options, no perform of its own."""

    sidequest_options = {"queue": "low", "retry": 5, "tags": ["app"]}


# -- the recipe's typo ---------------------------------------------------------------------------------


def test_a_worker_that_defines_process_instead_of_perform_fails_when_the_class_is_defined() -> None:
    with pytest.raises(WorkerDefinitionError) as raised:

        class OrderConfirmationWorker(sidequest.Worker):
            def process(self, order_id: int | None = None) -> None:
                pass

    message = str(raised.value)
    assert "OrderConfirmationWorker has no perform method" in message
    assert "It defines process(): rename it to perform." in message


def test_a_worker_without_any_perform_is_told_to_define_one_or_to_declare_itself_abstract() -> None:
    with pytest.raises(WorkerDefinitionError) as raised:

        class EmptyWorker(sidequest.Worker):
            pass

    message = str(raised.value)
    assert "must define a public perform(self, ...)" in message
    assert "process" not in message
    assert "class EmptyWorker(Worker, abstract=True)" in message


def test_a_perform_that_is_not_callable_is_no_perform() -> None:
    with pytest.raises(WorkerDefinitionError, match="has no perform method"):

        class ConfusedWorker(sidequest.Worker):
            perform = "send the email"


# -- abstract base classes -----------------------------------------------------------------------------


def test_an_abstract_base_class_needs_no_perform_and_its_subclasses_inherit_its_options() -> None:
    class InvoiceWorker(ApplicationWorker):
        def perform(self, invoice_id: int) -> None:
            pass

    assert InvoiceWorker.get_sidequest_options() == {"retry": 5, "queue": "low", "tags": ["app"]}


def test_a_subclass_of_an_abstract_base_still_needs_a_perform() -> None:
    with pytest.raises(WorkerDefinitionError, match="InvoiceWorker has no perform method"):

        class InvoiceWorker(ApplicationWorker):
            pass


def test_a_concrete_worker_may_be_subclassed_and_keeps_its_perform() -> None:
    class LouderWorker(HardWorker):
        sidequest_options = {"queue": "loud"}

    assert LouderWorker.get_sidequest_options() == {"retry": 3, "queue": "loud"}
    LouderWorker.check_arguments(["bob", 2], "LouderWorker.perform_async")


# -- options -------------------------------------------------------------------------------------------


def test_a_worker_without_options_gets_sidekiqs_defaults() -> None:
    class PlainWorker(sidequest.Worker):
        def perform(self) -> None:
            pass

    assert PlainWorker.get_sidequest_options() == {"retry": True, "queue": "default"}


def test_options_merge_over_the_parents_and_the_defaults_child_first() -> None:
    class Middle(ApplicationWorker, abstract=True):
        sidequest_options = {"retry": 2, "backtrace": 10}

    class LeafWorker(Middle):
        sidequest_options = {"queue": "critical"}

        def perform(self) -> None:
            pass

    assert LeafWorker.get_sidequest_options() == {
        "retry": 2,
        "queue": "critical",
        "tags": ["app"],
        "backtrace": 10,
    }
    assert ApplicationWorker.get_sidequest_options()["queue"] == "low", "the parent is left untouched"


def test_get_sidequest_options_returns_a_copy_the_caller_cannot_use_to_change_the_class() -> None:
    options = HardWorker.get_sidequest_options()
    options["queue"] = "elsewhere"

    assert HardWorker.get_sidequest_options()["queue"] == "critical"


def test_an_unknown_option_fails_at_class_definition_and_lists_the_known_ones() -> None:
    with pytest.raises(WorkerDefinitionError) as raised:

        class TypoWorker(sidequest.Worker):
            sidequest_options = {"queu": "critical"}

            def perform(self) -> None:
                pass

    message = str(raised.value)
    assert "TypoWorker.sidequest_options: unknown option 'queu'" in message
    assert "known options are backtrace, dead, expires_in, isolation," in message


@pytest.mark.parametrize("bad_retry", [-1, 1.5, "yes", None])
def test_a_bad_retry_value_fails_at_class_definition_with_the_values_that_would_work(
    bad_retry: object,
) -> None:
    with pytest.raises(WorkerDefinitionError) as raised:

        class FlakyWorker(sidequest.Worker):
            sidequest_options = {"retry": bad_retry}

            def perform(self) -> None:
                pass

    message = str(raised.value)
    assert f"FlakyWorker.sidequest_options: option retry={bad_retry!r}" in message
    assert "True (25 retries), False (drop on failure), or an int >= 0" in message


@pytest.mark.parametrize("bad_queue", ["", "has space", "emoji🎉", "line\n", 7])
def test_a_queue_name_sidekiqs_web_ui_cannot_show_fails_at_class_definition(bad_queue: object) -> None:
    with pytest.raises(WorkerDefinitionError) as raised:

        class MisroutedWorker(sidequest.Worker):
            sidequest_options = {"queue": bad_queue}

            def perform(self) -> None:
                pass

    assert f"option queue={bad_queue!r} must be a non-empty str of letters, digits" in str(raised.value)


def test_options_that_are_not_a_dict_fail_with_an_example_of_the_right_form() -> None:
    with pytest.raises(WorkerDefinitionError, match=r"must be a dict, e.g. \{'queue': 'critical'\}"):

        class ListedWorker(sidequest.Worker):
            sidequest_options = [("queue", "critical")]  # type: ignore[assignment]

            def perform(self) -> None:
                pass


def test_an_abstract_base_with_a_bad_option_fails_too() -> None:
    with pytest.raises(WorkerDefinitionError, match="option retry=-3"):

        class BrokenBase(sidequest.Worker, abstract=True):
            sidequest_options = {"retry": -3}


# -- identity ------------------------------------------------------------------------------------------


def import_by_name(name: str) -> object:
    """What another process does with a payload's class name: import the longest module prefix, then
    walk the attributes."""
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            found = getattr(found, attribute)
        return found
    raise ImportError(name)


def test_the_name_in_payloads_is_the_import_path_that_leads_back_to_the_class() -> None:
    assert HardWorker.sidequest_name() == f"{__name__}.HardWorker"
    assert MailerWorkers.WelcomeWorker.sidequest_name() == f"{__name__}.MailerWorkers.WelcomeWorker"
    assert import_by_name(HardWorker.sidequest_name()) is HardWorker
    assert import_by_name(MailerWorkers.WelcomeWorker.sidequest_name()) is MailerWorkers.WelcomeWorker


def test_a_worker_with_async_perform_is_async_and_a_plain_one_is_not() -> None:
    class ReportWorker(sidequest.Worker):
        async def perform(self) -> None:
            pass

    assert ReportWorker.is_async() is True
    assert HardWorker.is_async() is False


def test_perform_can_still_be_called_directly_and_synchronously_as_in_the_recipe() -> None:
    seen: list[tuple[str, str]] = []

    class GreetingWorker(sidequest.Worker):
        def perform(self, name: str, city: str) -> None:
            seen.append((name, city))

    GreetingWorker().perform("Prince Derek Grunkwitz", "Dreamland")

    assert seen == [("Prince Derek Grunkwitz", "Dreamland")]
    assert GreetingWorker().jid is None


# -- arguments -----------------------------------------------------------------------------------------


def test_arguments_that_fit_perform_pass_the_check() -> None:
    HardWorker.check_arguments(["bob"], "HardWorker.perform_async")
    HardWorker.check_arguments(["bob", 5], "HardWorker.perform_async")


def test_too_many_arguments_are_rejected_naming_the_call_the_count_and_the_signature() -> None:
    with pytest.raises(JobArgumentError) as raised:
        HardWorker.check_arguments(["bob", 5, "extra"], "HardWorker.perform_async")

    message = str(raised.value)
    assert message.startswith("HardWorker.perform_async: 3 argument(s) do not fit perform(")
    assert str(inspect.signature(HardWorker.perform)) in message
    assert "too many positional arguments" in message


def test_a_missing_argument_is_rejected_naming_it() -> None:
    with pytest.raises(JobArgumentError, match=r"0 argument.* missing a required argument: 'name'"):
        HardWorker.check_arguments([], "HardWorker.perform_async")


def test_a_keyword_only_perform_cannot_take_positional_job_arguments() -> None:
    class KeywordWorker(sidequest.Worker):
        def perform(self, *, name: str) -> None:
            pass

    with pytest.raises(JobArgumentError, match="too many positional arguments"):
        KeywordWorker.check_arguments(["bob"], "KeywordWorker.perform_async")


def test_a_perform_taking_star_args_accepts_any_number_of_arguments() -> None:
    class VariadicWorker(sidequest.Worker):
        def perform(self, *ids: int) -> None:
            pass

    VariadicWorker.check_arguments([], "VariadicWorker.perform_async")
    VariadicWorker.check_arguments(list(range(50)), "VariadicWorker.perform_async")
