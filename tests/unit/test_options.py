"""Per-call and per-class options (Sidekiq's ``sidekiq_options``): every option a job may carry, and the
message a wrong value gets. Class definition and ``set()`` both go through this check."""

from __future__ import annotations

from typing import Any

import pytest

from sidequest.errors import WorkerDefinitionError
from sidequest.options import DEFAULT_OPTIONS, validate_options


def test_the_defaults_are_sidekiqs_retry_true_then_queue_default_in_that_order() -> None:
    assert list(DEFAULT_OPTIONS.items()) == [("retry", True), ("queue", "default")]


@pytest.mark.parametrize(
    "options",
    [
        {"queue": "critical"},
        {"queue": "mailers:high.priority-1_a"},
        {"retry": True},
        {"retry": False},
        {"retry": 0},
        {"retry": 12},
        {"dead": False},
        {"retry_queue": "slow"},
        {"backtrace": True},
        {"backtrace": 5},
        {"tags": ["billing", "eu"]},
        {"tags": []},
        {"time_limit": 30},
        {"time_limit": 2.5},
        {"time_limit": None},
        {"unique_for": 600},
        {"unique_until": "start"},
        {"unique_until": "success"},
    ],
)
def test_every_valid_option_comes_back_unchanged(options: dict[str, Any]) -> None:
    assert validate_options(options, "MyWorker.set()") == options


def test_the_checked_options_are_a_copy_keeping_the_callers_order() -> None:
    given = {"tags": ["a"], "queue": "critical", "retry": 3}

    checked = validate_options(given, "MyWorker.sidequest_options")

    assert checked is not given
    assert list(checked) == ["tags", "queue", "retry"]


@pytest.mark.parametrize(
    ("key", "value", "advice"),
    [
        ("retry", -1, "an int >= 0 (0 = straight to the dead set)"),
        ("retry", "3", "an int >= 0"),
        ("dead", 0, "must be True or False"),
        ("retry_queue", "no spaces", "must be a non-empty str of letters"),
        ("backtrace", 0, "a number of lines > 0"),
        ("backtrace", -2, "a number of lines > 0"),
        ("tags", "billing", "must be a list of str"),
        ("tags", ["ok", 1], "must be a list of str"),
        ("time_limit", 0, "a finite number of seconds > 0, or None"),
        ("time_limit", True, "a finite number of seconds > 0, or None"),
        ("unique_for", -5, "a finite number of seconds > 0, or None"),
        ("unique_until", "finish", "must be 'success' (default) or 'start'"),
    ],
)
def test_a_bad_value_is_named_with_its_key_and_what_would_be_accepted(
    key: str, value: Any, advice: str
) -> None:
    with pytest.raises(WorkerDefinitionError) as raised:
        validate_options({key: value}, "MyWorker.set()")

    message = str(raised.value)
    assert message.startswith(f"MyWorker.set(): option {key}={value!r} ")
    assert advice in message


def test_an_unknown_option_is_named_with_the_full_list_of_known_ones() -> None:
    with pytest.raises(WorkerDefinitionError) as raised:
        validate_options({"retries": 3}, "MyWorker.set()")

    assert str(raised.value) == (
        "MyWorker.set(): unknown option 'retries'; known options are backtrace, dead, expires_in, isolation, "
        "max_iteration_runtime, queue, retry, retry_queue, tags, time_limit, unique_for, unique_until."
    )
