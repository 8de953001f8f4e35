"""The retry policy never raises and never returns a time that is not finite, whatever it is given."""

from __future__ import annotations

import math
import random
import time

import pytest

from sidequest.retry import MAX_RETRY_DELAY, decide, default_delay, error_class, error_message
from testapp.hostile_workers import NamelessError, UnprintableError

PAYLOAD = {"class": "app.W", "args": [], "jid": "j" * 24, "queue": "default", "retry": True}


def test_an_exception_whose_str_raises_gets_sidekiqs_placeholder_message() -> None:
    assert error_message(UnprintableError()) == "!!! ERROR MESSAGE THREW AN ERROR !!!"


def test_an_exception_whose_class_name_cannot_be_read_is_named_unknown() -> None:
    assert error_class(NamelessError("x")) == "UnknownError"


@pytest.mark.parametrize("answer", [math.inf, -math.inf, math.nan, 10**400, -5, True, "soon", object()])
def test_any_hook_answer_gives_a_finite_due_time_within_a_year(answer: object) -> None:
    now = time.time()
    decision = decide(PAYLOAD, RuntimeError("x"), now, answer, random.Random(1))
    assert decision.action == "retry"
    assert decision.at is not None and math.isfinite(decision.at)
    assert now < decision.at <= now + MAX_RETRY_DELAY + 10
    assert decision.note is not None and "retry_in returned" in decision.note


def test_a_retry_count_from_another_client_too_big_for_a_float_still_gives_a_finite_delay() -> None:
    assert default_delay(10**100) == MAX_RETRY_DELAY
    payload = {**PAYLOAD, "retry": 10**200, "retry_count": 10**100}
    decision = decide(payload, RuntimeError("x"), 0.0, None, random.Random(1))
    assert decision.at is not None and math.isfinite(decision.at)
