"""Job arguments must be JSON-native, as Sidekiq 7 insists: the check says which argument is wrong,
what it is, and what to pass instead. And a stored job that is not a job is refused with a clear error."""

from __future__ import annotations

import datetime
import decimal
import math
from typing import Any

import pytest

from sidequest.errors import JobArgumentError, MalformedJobError
from sidequest.serializer import check_args, dumps, load_payload, loads


class Order:
    """What an ORM hands out: an object with an id and a lot of state that goes stale in a queue."""

    def __init__(self, order_id: int) -> None:
        self.id = order_id


def rejection(args: list[Any]) -> str:
    with pytest.raises(JobArgumentError) as raised:
        check_args(args, "OrderWorker.perform_async")
    return str(raised.value)


# -- what passes ---------------------------------------------------------------------------------------


def test_json_native_arguments_pass_and_come_back_as_a_list() -> None:
    args = ("King Zøg", 42, -7, 3.5, True, False, None, [1, [2, "x"]], {"k": [3], "nested": {"a": None}})

    checked = check_args(args, "OrderWorker.perform_async")

    assert checked == list(args)
    assert loads(dumps(checked)) == checked


def test_no_arguments_at_all_pass() -> None:
    assert check_args([], "OrderWorker.perform_async") == []


# -- what is refused, and the advice -------------------------------------------------------------------


def test_an_orm_object_is_refused_with_the_advice_to_pass_its_id() -> None:
    message = rejection([Order(42)])

    assert message.startswith("OrderWorker.perform_async: argument 1 is a ")
    assert f"{Order.__module__}.Order, which is not JSON-native" in message
    assert "pass the object's id (or a plain value) instead and load the object inside perform" in message


def test_a_datetime_is_refused_with_the_advice_to_pass_isoformat() -> None:
    message = rejection(["ok", datetime.datetime(2024, 5, 1, 12, 0)])

    assert "argument 2 is a datetime.datetime, which is not JSON-native" in message
    assert "pass an ISO 8601 string (value.isoformat()) or epoch seconds instead" in message


def test_a_date_is_refused_with_the_advice_to_pass_isoformat() -> None:
    message = rejection([datetime.date(2024, 5, 1)])

    assert "argument 1 is a datetime.date," in message
    assert "value.isoformat()" in message


def test_a_decimal_is_refused_with_the_advice_to_pass_a_string() -> None:
    message = rejection([decimal.Decimal("19.99")])

    assert "argument 1 is a decimal.Decimal, which is not JSON-native" in message
    assert "pass str(value) and rebuild the Decimal inside perform" in message


@pytest.mark.parametrize(
    ("value", "type_name"), [({1, 2}, "set"), (frozenset([1]), "frozenset"), ((1, 2), "tuple")]
)
def test_sets_and_tuples_are_refused_with_the_advice_to_pass_a_list(value: Any, type_name: str) -> None:
    message = rejection([value])

    assert f"argument 1 is a {type_name}, which is not JSON-native" in message
    assert "pass a list instead (it comes back as a list)" in message


def test_bytes_are_refused_with_the_advice_to_pass_text() -> None:
    message = rejection([b"\x00\x01"])

    assert "argument 1 is a bytes" in message
    assert "pass text (value.decode()) or base64 instead" in message


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_are_refused_because_json_cannot_hold_them(value: float) -> None:
    message = rejection([1.0, value])

    assert f"argument 2 is {value!r}, which JSON cannot represent; pass a finite number or None." in message


def test_a_dict_with_int_keys_is_refused_with_the_advice_to_convert_the_keys() -> None:
    message = rejection([{1: "first", 2: "second"}])

    assert "argument 1 has a dict key 1 of type int; JSON object keys must be str." in message
    assert "Convert the keys with str() before enqueueing." in message


def test_every_message_lists_the_json_native_types() -> None:
    message = rejection([Order(1)])

    assert "Job arguments must be str, int, float, bool, None, list, or dict with str keys" in message


# -- the path to a value deep inside an argument -------------------------------------------------------


def test_a_bad_value_inside_a_list_is_named_by_its_index() -> None:
    message = rejection([[1, 2, datetime.date(2024, 1, 1)]])

    assert "argument 1[2] is a datetime.date," in message


def test_a_bad_value_inside_a_dict_is_named_by_its_key() -> None:
    message = rejection(["x", {"order": Order(7)}])

    assert "argument 2['order'] is a " in message
    assert "Order, which is not JSON-native" in message


def test_a_bad_value_deep_inside_lists_and_dicts_is_named_by_its_whole_path() -> None:
    message = rejection([{"lines": [{"sku": "A1", "price": decimal.Decimal("1.50")}]}])

    assert "argument 1['lines'][0]['price'] is a decimal.Decimal" in message


def test_an_int_key_deep_inside_is_named_by_the_path_to_its_dict() -> None:
    message = rejection([{"totals": {2024: 10}}])

    assert "argument 1['totals'] has a dict key 2024 of type int" in message


def test_a_tuple_nested_in_a_list_is_refused_even_though_json_could_write_it_as_an_array() -> None:
    message = rejection([[(1, 2)]])

    assert "argument 1[0] is a tuple" in message


class Float64(float):
    """A float subclass, as numpy.float64 is: what a pandas column hands out."""


@pytest.mark.parametrize(
    "value", [2**64, -(2**63) - 1, Float64(1.5)], ids=["huge", "very-negative", "float64"]
)
def test_an_argument_the_json_encoder_cannot_write_is_refused_by_the_check(value: Any) -> None:
    with pytest.raises(TypeError):
        dumps([value])  # the encoder stores use cannot write it...

    try:
        check_args([value], "OrderWorker.perform_async")
    except JobArgumentError as exc:
        assert "argument 1" in str(exc)
    else:
        raise AssertionError("...so the argument check should have refused it")


# -- reading a stored job ------------------------------------------------------------------------------


def test_a_stored_job_loads_from_text_or_bytes() -> None:
    raw = '{"retry":true,"queue":"default","args":[1],"class":"HardJob","jid":"abc"}'

    assert load_payload(raw) == load_payload(raw.encode()) == loads(raw)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("{oops", "job payload is not valid JSON"),
        (b"\xff\xfe", "job payload is not valid JSON"),
        ("", "job payload is not valid JSON"),
        ("[1, 2]", "job payload is not a JSON object"),
        ('"HardJob"', "job payload is not a JSON object"),
        ('{"args": [1]}', "job payload has no 'class' string"),
        ('{"class": "", "args": [1]}', "job payload has no 'class' string"),
        ('{"class": 5, "args": [1]}', "job payload has no 'class' string"),
        ('{"class": "HardJob"}', "job payload has no 'args' array"),
        ('{"class": "HardJob", "args": {"a": 1}}', "job payload has no 'args' array"),
    ],
)
def test_a_malformed_stored_job_is_refused_saying_what_is_wrong(raw: str | bytes, problem: str) -> None:
    with pytest.raises(MalformedJobError, match=problem):
        load_payload(raw)


def test_the_error_quotes_the_bad_payload_but_clips_a_long_one() -> None:
    with pytest.raises(MalformedJobError) as short:
        load_payload("[1]")
    with pytest.raises(MalformedJobError) as long:
        load_payload("[" + "1," * 500 + "1]")

    assert str(short.value).endswith(": [1]")
    assert str(long.value).endswith("...")
    assert len(str(long.value)) < 300
