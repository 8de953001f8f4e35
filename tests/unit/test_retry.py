"""The retry policy: what happens to a job whose ``perform`` raised, exactly as Sidekiq's
``job_retry.rb`` decides it (the same fields, counts, delays and dead-set rules), so Ruby's Web UI
reads our failed jobs as its own."""

from __future__ import annotations

import base64
import json
import random
import zlib
from typing import Any

import pytest

from sidequest.job import Payload
from sidequest.retry import (
    DEFAULT_MAX_RETRIES,
    ERROR_MESSAGE_LIMIT,
    Decision,
    backtrace_lines,
    decide,
    decode_backtrace,
    default_delay,
    encode_backtrace,
    error_class,
    error_message,
    max_retries,
    record_failure,
)

FAILED_AT = 1_795_823_124.5403485


class PaymentDeclined(Exception):
    pass


def job(**options: Any) -> Payload:
    """A payload as the client stores it, with ``options`` over Sidekiq's defaults."""
    return {
        "retry": True,
        "queue": "default",
        **options,
        "args": [1, "two"],
        "class": "app.workers.HardWorker",
        "jid": "390161545541fb6456716112",
        "created_at": 1_795_823_117.2612543,
        "enqueued_at": 1_795_823_117.2614107,
    }


def fail_until_done(payload: Payload, limit: int = 100, **kwargs: Any) -> tuple[int, Decision]:
    """Fail the job again and again, as the runtime would, until it is not retried; returns how many
    retries it got and the final decision."""
    rng = random.Random(7)
    at = FAILED_AT
    for retries in range(limit):
        decision = decide(payload, ValueError("boom"), at, rng=rng, **kwargs)
        if decision.action != "retry":
            return retries, decision
        assert decision.at is not None
        payload, at = decision.payload, decision.at
    raise AssertionError(f"still retrying after {limit} failures")


def raise_from_deep_inside() -> BaseException:
    def charge() -> None:
        raise PaymentDeclined("card declined")

    def checkout() -> None:
        charge()

    try:
        checkout()
    except PaymentDeclined as exc:
        return exc
    raise AssertionError("unreachable")


# -- how many retries ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("retry", "allowed"),
    [(True, 25), (False, None), (None, None), (0, 0), (1, 1), (7, 7), (-2, 0), ("weird", 25)],
)
def test_max_retries_reads_the_retry_option_like_ruby(retry: Any, allowed: int | None) -> None:
    assert max_retries(retry) == allowed


def test_max_retries_of_true_follows_the_process_wide_maximum() -> None:
    assert max_retries(True, default_max=10) == 10
    assert max_retries(3, default_max=10) == 3


def test_retry_zero_is_a_number_not_false() -> None:
    assert max_retries(0) == 0
    assert max_retries(0) is not None


# -- the failure fields --------------------------------------------------------------------------------


def test_the_first_failure_sets_failed_at_and_a_retry_count_of_zero() -> None:
    original = job()

    decision = decide(original, ValueError("boom"), FAILED_AT, rng=random.Random(1))

    assert decision.action == "retry"
    failed = decision.payload
    assert failed["failed_at"] == FAILED_AT
    assert failed["retry_count"] == 0
    assert "retried_at" not in failed
    assert failed["error_message"] == "boom"
    assert failed["error_class"] == "ValueError"
    assert "retry_count" not in original, "the payload given is left untouched"


def test_a_later_failure_sets_retried_at_and_adds_one_keeping_failed_at() -> None:
    first = decide(job(), ValueError("boom"), FAILED_AT, rng=random.Random(1)).payload

    second = decide(first, KeyError("again"), FAILED_AT + 100, rng=random.Random(1)).payload

    assert second["failed_at"] == FAILED_AT
    assert second["retried_at"] == FAILED_AT + 100
    assert second["retry_count"] == 1
    assert second["error_class"] == "KeyError"
    assert second["error_message"] == "'again'"


def test_failure_fields_keep_every_other_field_including_ones_sidequest_does_not_know() -> None:
    original = job(tags=["a"]) | {"bid": "batch-1", "wrapped": "SomeJob"}

    failed = record_failure(original, ValueError("boom"), FAILED_AT)

    assert {key: failed[key] for key in original if key != "queue"} == {
        key: original[key] for key in original if key != "queue"
    }


def test_retry_queue_rewrites_the_queue_the_retry_goes_back_to() -> None:
    decision = decide(job(queue="critical", retry_queue="slow"), ValueError("boom"), FAILED_AT)

    assert decision.payload["queue"] == "slow"
    assert decision.payload["retry_queue"] == "slow"


def test_without_retry_queue_the_job_goes_back_to_its_own_queue() -> None:
    decision = decide(job(queue="critical"), ValueError("boom"), FAILED_AT)

    assert decision.payload["queue"] == "critical"


# -- when it stops -------------------------------------------------------------------------------------


def test_retry_true_gives_25_retries_then_kills_the_job_on_the_26th_failure() -> None:
    retries, decision = fail_until_done(job(retry=True))

    assert retries == DEFAULT_MAX_RETRIES == 25
    assert decision.action == "kill"
    assert decision.payload["retry_count"] == 25


def test_retry_n_gives_n_retries_then_kills() -> None:
    retries, decision = fail_until_done(job(retry=3))

    assert retries == 3
    assert decision.action == "kill"
    assert decision.payload["retry_count"] == 3


def test_a_job_without_a_retry_field_gets_the_default_25() -> None:
    payload = job()
    del payload["retry"]

    retries, _ = fail_until_done(payload)

    assert retries == 25


def test_the_process_wide_maximum_applies_to_retry_true() -> None:
    retries, decision = fail_until_done(job(retry=True), default_max=2)

    assert retries == 2
    assert decision.action == "kill"


def test_retry_zero_sends_the_job_straight_to_the_dead_set_with_retry_count_zero() -> None:
    decision = decide(job(retry=0), ValueError("boom"), FAILED_AT)

    assert decision.action == "kill"
    assert decision.payload["retry_count"] == 0
    assert decision.payload["failed_at"] == FAILED_AT
    assert decision.at is None


def test_retry_false_drops_the_job_without_recording_the_failure() -> None:
    original = job(retry=False)

    decision = decide(original, ValueError("boom"), FAILED_AT)

    assert decision == Decision("discard", original)


def test_dead_false_drops_an_exhausted_job_instead_of_killing_it() -> None:
    retries, decision = fail_until_done(job(retry=2, dead=False))

    assert retries == 2
    assert decision.action == "discard"
    assert decision.payload["retry_count"] == 2


def test_retry_zero_with_dead_false_drops_the_job_at_once() -> None:
    decision = decide(job(retry=0, dead=False), ValueError("boom"), FAILED_AT)

    assert decision.action == "discard"


# -- the worker's retry_in hook ------------------------------------------------------------------------


def test_a_hook_saying_kill_sends_the_job_to_the_dead_set_with_retries_left() -> None:
    decision = decide(job(retry=10), ValueError("boom"), FAILED_AT, hook_result="kill")

    assert decision.action == "kill"
    assert decision.payload["error_message"] == "boom"


def test_a_hook_saying_kill_drops_the_job_when_dead_is_false() -> None:
    decision = decide(job(dead=False), ValueError("boom"), FAILED_AT, hook_result="kill")

    assert decision.action == "discard"


def test_a_hook_saying_discard_drops_the_job_with_its_failure_recorded() -> None:
    decision = decide(job(retry=10), ValueError("boom"), FAILED_AT, hook_result="discard")

    assert decision.action == "discard"
    assert decision.payload["retry_count"] == 0


def test_a_hook_returning_seconds_replaces_the_backoff_but_keeps_the_jitter() -> None:
    first = decide(job(), ValueError("boom"), FAILED_AT).payload
    delays = {
        decide(first, ValueError("boom"), FAILED_AT, hook_result=60, rng=random.Random(seed)).at
        for seed in range(200)
    }

    # retry_count is 1 on this failure, so the jitter is rand(10) * 2.
    assert delays == {FAILED_AT + 60 + k * 2 for k in range(10)}


@pytest.mark.parametrize("hook_result", [None, 0, -5, True])
def test_a_hook_returning_nothing_useful_leaves_the_default_backoff(hook_result: Any) -> None:
    with_hook = decide(job(), ValueError("boom"), FAILED_AT, hook_result=hook_result, rng=random.Random(3))
    without = decide(job(), ValueError("boom"), FAILED_AT, rng=random.Random(3))

    assert with_hook.action == "retry"
    assert with_hook.at == without.at


def test_a_hook_cannot_bring_back_a_job_with_retry_false() -> None:
    decision = decide(job(retry=False), ValueError("boom"), FAILED_AT, hook_result=30)

    assert decision.action == "discard"


# -- the backoff ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 1, 2, 5, 24])
def test_the_default_delay_is_count_to_the_fourth_plus_15_plus_rand10_times_count_plus_one(
    count: int,
) -> None:
    rng = random.Random(count)

    delays = {default_delay(count, rng) for _ in range(300)}

    assert delays == {float(count**4 + 15 + k * (count + 1)) for k in range(10)}


def test_the_backoff_before_jitter_grows_as_in_sidekiq() -> None:
    rng = random.Random(11)
    floors = [min(default_delay(count, rng) for _ in range(300)) for count in range(6)]

    assert floors == [15, 16, 31, 96, 271, 640]
    assert min(default_delay(24, rng) for _ in range(300)) == 331_791


def test_a_retry_is_due_at_the_failure_time_plus_the_delay() -> None:
    decision = decide(job(), ValueError("boom"), FAILED_AT, rng=random.Random(5))

    assert decision.at is not None
    assert FAILED_AT + 15 <= decision.at <= FAILED_AT + 15 + 9
    assert decision.at - FAILED_AT == default_delay(0, random.Random(5))


def test_the_same_seed_gives_the_same_retry_time() -> None:
    first = decide(job(), ValueError("boom"), FAILED_AT, rng=random.Random(42))
    again = decide(job(), ValueError("boom"), FAILED_AT, rng=random.Random(42))

    assert first.at == again.at


# -- error fields --------------------------------------------------------------------------------------


def test_the_error_message_is_cut_at_10000_characters() -> None:
    message = error_message(ValueError("x" * 25_000))

    assert len(message) == ERROR_MESSAGE_LIMIT == 10_000


def test_an_exception_whose_message_raises_gets_sidekiqs_placeholder() -> None:
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert error_message(Unprintable()) == "!!! ERROR MESSAGE THREW AN ERROR !!!"


def test_the_error_class_is_bare_for_builtins_and_qualified_otherwise() -> None:
    assert error_class(KeyError("k")) == "KeyError"
    assert error_class(PaymentDeclined()) == f"{__name__}.PaymentDeclined"


# -- backtraces ----------------------------------------------------------------------------------------


def test_a_backtrace_survives_encoding_and_decoding() -> None:
    lines = ["app/workers/hard.rb:12:in `perform'", "lib/sidekiq/processor.rb:196:in `execute_job'", "ü"]

    encoded = encode_backtrace(lines)

    assert "\n" not in encoded, "strict Base64, as Sidekiq 7.2.1+ writes it"
    assert decode_backtrace(encoded) == lines


def test_a_backtrace_in_rubys_mime_base64_with_newlines_decodes_too() -> None:
    lines = [f"app/workers/hard_worker.rb:{n}:in `step_{n}'" for n in range(40)]
    strict = base64.b64encode(zlib.compress(json.dumps(lines).encode())).decode()
    # Ruby's Base64.encode64 (Sidekiq 6.4 to 7.2.0): a newline every 60 characters and one at the end.
    mime = "".join(strict[i : i + 60] + "\n" for i in range(0, len(strict), 60))
    assert mime.count("\n") > 1

    assert decode_backtrace(mime) == lines


def test_a_legacy_raw_list_backtrace_is_read_as_is() -> None:
    assert decode_backtrace(["a.rb:1", 2]) == ["a.rb:1", "2"]


@pytest.mark.parametrize("value", [None, 42, "not base64 at all!", base64.b64encode(b"not zlib").decode()])
def test_an_unreadable_backtrace_decodes_to_no_lines(value: Any) -> None:
    assert decode_backtrace(value) == []


def test_backtrace_lines_are_ruby_style_most_recent_call_first() -> None:
    exc = raise_from_deep_inside()

    lines = backtrace_lines(exc, None)

    assert len(lines) == 3
    assert lines[0].endswith(":in `charge'")
    assert lines[1].endswith(":in `checkout'")
    assert lines[2].endswith(":in `raise_from_deep_inside'")
    assert backtrace_lines(exc, 1) == lines[:1]


def test_a_job_with_backtrace_n_stores_its_first_n_lines() -> None:
    failed = record_failure(job(backtrace=2), raise_from_deep_inside(), FAILED_AT)

    lines = decode_backtrace(failed["error_backtrace"])
    assert [line.rsplit(":in ", 1)[1] for line in lines] == ["`charge'", "`checkout'"]


def test_a_job_with_backtrace_true_stores_the_whole_backtrace() -> None:
    failed = record_failure(job(backtrace=True), raise_from_deep_inside(), FAILED_AT)

    assert len(decode_backtrace(failed["error_backtrace"])) == 3


def test_a_job_without_the_backtrace_option_stores_none() -> None:
    failed = record_failure(job(), raise_from_deep_inside(), FAILED_AT)

    assert "error_backtrace" not in failed
