"""What the acker tells a store about batch jobs, for each kind of outcome."""

from __future__ import annotations

from sidequest.batch_records import BatchOutcome
from sidequest.job import Claimed, Payload
from sidequest.runtime.batch_outcomes import batch_outcomes
from sidequest.runtime.executor import Outcome


def claimed(jid: str, bid: str | None = "b1") -> Claimed:
    payload: Payload = {"class": "app.Job", "args": [], "jid": jid, "queue": "default"}
    if bid is not None:
        payload["bid"] = bid
    return Claimed("{}", payload, "default")


def test_each_outcome_of_a_batch_job_is_a_success_a_failure_or_a_death() -> None:
    outcomes = [
        Outcome(claimed("ok"), "ack"),
        Outcome(claimed("retried"), "retry", {}, 1.0, failed=True),
        Outcome(claimed("discarded"), "ack", failed=True),
        Outcome(claimed("dead"), "kill", {}, 1.0, failed=True),
        Outcome(claimed("expired"), "expire"),  # Sidekiq Pro counts an expired batch job a success
    ]
    assert batch_outcomes(outcomes) == [
        BatchOutcome("b1", "ok", "success"),
        BatchOutcome("b1", "retried", "failure"),
        BatchOutcome("b1", "discarded", "failure"),
        BatchOutcome("b1", "dead", "death"),
        BatchOutcome("b1", "expired", "success"),
    ]


def test_plain_jobs_malformed_ones_and_rate_limited_reschedules_tell_no_batch_anything() -> None:
    outcomes = [
        Outcome(claimed("plain", bid=None), "ack"),
        Outcome(Claimed("not json", None, "default"), "kill", None, 1.0, failed=True),
        # A limiter said no: the job has not run, it runs again later (not a failure).
        Outcome(claimed("limited"), "retry", {}, 1.0, overrated=True),
        # An iterable job stopped between two items goes back to its queue: it is not done.
        Outcome(claimed("paused"), "requeue"),
    ]
    assert batch_outcomes(outcomes) == []
