"""``sidequest enqueue CLASS [JSON_ARGS...]``: push a job by class name from a shell."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from cli.states import Sidequest
from sidequest.admin import Admin
from sidequest.stores.base import Store


def test_enqueue_pushes_one_json_value_per_argument_and_prints_the_jid(
    sidequest: Sidequest, store: Store
) -> None:
    result = sidequest("enqueue", "app.workers.OrderWorker", "42", '"hello"', '{"a": 1}', "[true, null]")

    assert result.exit_code == 0, result.output
    jid = result.stdout.strip()
    [entry] = Admin(store).jobs("queue:default")
    assert entry.jid == jid
    assert entry.payload is not None
    assert entry.payload["class"] == "app.workers.OrderWorker"
    assert entry.payload["args"] == [42, "hello", {"a": 1}, [True, None]]


def test_a_ruby_class_name_goes_to_the_queue_given(sidequest: Sidequest, store: Store) -> None:
    result = sidequest("enqueue", "HardJob", "--queue", "ruby", "1")

    assert result.exit_code == 0, result.output
    [entry] = Admin(store).jobs("queue:ruby")
    assert entry.payload is not None and entry.payload["class"] == "HardJob"


def test_arguments_starting_with_a_dash_follow_a_double_dash(sidequest: Sidequest, store: Store) -> None:
    assert sidequest("enqueue", "app.workers.RefundWorker", "--", "-5").exit_code == 0
    [entry] = Admin(store).jobs("queue:default")
    assert entry.payload is not None and entry.payload["args"] == [-5]


def test_enqueue_in_seconds_schedules_the_job(sidequest: Sidequest, store: Store) -> None:
    before = time.time()
    jid = sidequest("enqueue", "app.workers.OrderWorker", "--in", "300").stdout.strip()

    [entry] = Admin(store).jobs("scheduled")
    assert entry.jid == jid
    assert entry.score is not None and before + 299 < entry.score < time.time() + 301


def test_enqueue_at_an_iso_time_schedules_the_job_then(sidequest: Sidequest, store: Store) -> None:
    due = datetime(2099, 1, 31, 9, 30, tzinfo=UTC)

    result = sidequest("enqueue", "app.workers.OrderWorker", "--at", due.isoformat(), "--json")

    assert json.loads(result.stdout)["at"] == due.timestamp()
    [entry] = Admin(store).jobs("scheduled")
    assert entry.score == due.timestamp()


def test_enqueue_at_a_past_time_runs_the_job_now(sidequest: Sidequest, store: Store) -> None:
    assert sidequest("enqueue", "app.workers.OrderWorker", "--at", "1000000000").exit_code == 0
    assert Admin(store).size("queue:default") == 1


def test_a_bad_json_argument_is_a_usage_error_naming_it(sidequest: Sidequest, store: Store) -> None:
    result = sidequest("enqueue", "app.workers.OrderWorker", "42", "hello")

    assert result.exit_code == 2
    assert "argument 2 ('hello') is not a JSON value" in result.stderr
    assert "'\"hello\"'" in result.stderr
    assert Admin(store).overview().counts.enqueued == 0


def test_nan_is_not_a_json_argument(sidequest: Sidequest) -> None:
    result = sidequest("enqueue", "app.workers.OrderWorker", "NaN")
    assert result.exit_code == 2 and "argument 1 ('NaN')" in result.stderr


def test_in_and_at_together_are_refused(sidequest: Sidequest) -> None:
    result = sidequest("enqueue", "app.workers.OrderWorker", "--in", "5", "--at", "2099-01-01")
    assert result.exit_code == 2 and "--in or --at, not both" in result.stderr


def test_an_unreadable_time_says_what_it_accepts(sidequest: Sidequest) -> None:
    result = sidequest("enqueue", "app.workers.OrderWorker", "--at", "tomorrow")
    assert result.exit_code == 2 and "ISO 8601" in result.stderr


def test_a_bad_queue_name_is_one_clear_line(sidequest: Sidequest) -> None:
    result = sidequest("enqueue", "app.workers.OrderWorker", "--queue", "no spaces")

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
