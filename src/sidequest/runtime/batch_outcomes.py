"""What the acker tells a store about batches: the outcomes of jobs whose payload has a ``bid``,
recorded before the jobs themselves are acked, retried or killed. A crash in between leaves the job
held, so it runs again and its outcome is recorded again, which changes nothing (recording is
idempotent per job): a transition is never lost, and its callback never pushed twice."""

from __future__ import annotations

from collections.abc import Sequence

from sidequest.batch_records import BatchOutcome, OutcomeKind
from sidequest.runtime.executor import Outcome


def batch_outcomes(outcomes: Sequence[Outcome]) -> list[BatchOutcome]:
    """The batch outcomes among ``outcomes``; ``[]`` when no job is in a batch (plain jobs cost one
    dictionary lookup each)."""
    found: list[BatchOutcome] = []
    for outcome in outcomes:
        payload = outcome.claimed.payload
        if payload is None or "bid" not in payload or outcome.overrated or outcome.action == "requeue":
            continue  # not in a batch, or not a run (a limiter said no, an iterable job paused)
        bid, jid = payload.get("bid"), payload.get("jid")
        if not isinstance(bid, str) or not isinstance(jid, str):
            continue
        kind: OutcomeKind
        if outcome.action == "expire":
            kind = "success"  # as in Sidekiq Pro: an expired job of a batch counts as a success
        elif outcome.action == "kill":
            kind = "death"
        elif outcome.action == "retry" or outcome.failed:
            kind = "failure"
        else:
            kind = "success"
        found.append(BatchOutcome(bid, jid, kind))
    return found
