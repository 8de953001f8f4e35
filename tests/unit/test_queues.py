"""Which queue a process fetches from first, as Sidekiq's ``-q NAME[,WEIGHT]`` decides it: strict order
when no queue has a weight, a weighted shuffle otherwise."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from sidequest.errors import ConfigurationError
from sidequest.runtime.config import ProcessConfig, QueueSpec
from sidequest.runtime.queues import QueueOrder


def order(*flags: str, seed: int = 1) -> QueueOrder:
    """The queue order of a process started with ``-q flag`` for each flag."""
    return QueueOrder([QueueSpec.parse(flag) for flag in flags], rng=random.Random(seed))


def first_choices(queues: QueueOrder, fetches: int) -> Counter[str]:
    return Counter(queues.next()[0] for _ in range(fetches))


# -- parsing -q ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "spec"),
    [
        ("default", QueueSpec("default", 0)),
        ("critical,3", QueueSpec("critical", 3)),
        ("low,0", QueueSpec("low", 0)),
        (" mailers , 2", QueueSpec("mailers", 2)),
        ("billing:eu.v2-x_y,10", QueueSpec("billing:eu.v2-x_y", 10)),
        ("trailing,", QueueSpec("trailing", 0)),
    ],
)
def test_a_queue_flag_is_a_name_and_an_optional_weight(flag: str, spec: QueueSpec) -> None:
    assert QueueSpec.parse(flag) == spec


@pytest.mark.parametrize("flag", ["", ",3", "no spaces", "bad/name", "emoji🎉,2"])
def test_a_bad_queue_name_is_refused_with_the_syntax(flag: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        QueueSpec.parse(flag)

    message = str(raised.value)
    assert message.startswith(f"bad queue {flag!r}: a queue name is letters, digits")
    assert "optionally followed by ,WEIGHT (e.g. -q critical,3)" in message


@pytest.mark.parametrize("flag", ["critical,high", "critical,1.5", "critical,3,4"])
def test_a_weight_that_is_not_an_integer_is_refused(flag: str) -> None:
    with pytest.raises(ConfigurationError, match="the weight must be an integer"):
        QueueSpec.parse(flag)


def test_a_negative_weight_is_refused() -> None:
    with pytest.raises(
        ConfigurationError, match=r"bad queue weight in 'critical,-1': the weight must be >= 0"
    ):
        QueueSpec.parse("critical,-1")


def test_a_process_needs_at_least_one_queue_and_lists_each_once() -> None:
    with pytest.raises(ConfigurationError, match="at least one queue is needed"):
        ProcessConfig(queues=())

    config = ProcessConfig(queues=(QueueSpec("a"), QueueSpec("b", 2), QueueSpec("a")))
    assert config.queue_names == ["a", "b"]


# -- strict order --------------------------------------------------------------------------------------


def test_without_weights_the_queues_are_always_tried_in_the_order_given() -> None:
    queues = order("critical", "default", "low")

    assert queues.strict
    assert all(queues.next() == ["critical", "default", "low"] for _ in range(50))


def test_weights_of_zero_are_strict_too() -> None:
    queues = order("critical,0", "default,0")

    assert queues.strict
    assert queues.next() == ["critical", "default"]


def test_a_queue_given_twice_in_strict_order_is_tried_once_where_it_first_appears() -> None:
    assert order("default", "critical", "default").next() == ["default", "critical"]


def test_the_order_handed_out_is_a_copy_the_caller_may_change() -> None:
    queues = order("a", "b")

    queues.next().reverse()

    assert queues.next() == ["a", "b"]


# -- weighted order ------------------------------------------------------------------------------------


def test_with_weights_every_fetch_tries_every_queue_once() -> None:
    queues = order("critical,3", "default,2", "low,1")

    assert not queues.strict
    for _ in range(100):
        assert sorted(queues.next()) == ["critical", "default", "low"]


def test_a_queue_of_weight_3_comes_first_about_three_times_as_often_as_one_of_weight_1() -> None:
    firsts = first_choices(order("critical,3", "default,1", seed=2024), 4000)

    share = firsts["critical"] / 4000
    assert 0.72 < share < 0.78, f"expected about 3/4, got {share:.3f}"


def test_weights_6_3_1_share_the_first_place_in_proportion() -> None:
    firsts = first_choices(order("critical,6", "default,3", "low,1", seed=7), 5000)

    assert 0.56 < firsts["critical"] / 5000 < 0.64
    assert 0.26 < firsts["default"] / 5000 < 0.34
    assert 0.07 < firsts["low"] / 5000 < 0.13


def test_in_a_weighted_list_a_queue_without_weight_counts_as_weight_1() -> None:
    firsts = first_choices(order("critical,1", "default", seed=3), 4000)

    assert 0.45 < firsts["critical"] / 4000 < 0.55


def test_the_weighted_order_is_reproducible_with_the_same_seed() -> None:
    one = order("critical,3", "default,1", seed=99)
    two = order("critical,3", "default,1", seed=99)

    assert [one.next() for _ in range(20)] == [two.next() for _ in range(20)]


def test_equal_weights_share_the_first_place_evenly_so_none_starves() -> None:
    firsts = first_choices(order("a,1", "b,1", "c,1", seed=5), 3000)

    assert all(0.29 < firsts[name] / 3000 < 0.38 for name in "abc")
