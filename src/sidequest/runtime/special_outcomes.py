"""How the acker records the two outcomes that are neither a success nor a failure: ``requeue`` (an
iterable job interrupted between two iterations, its progress saved) and ``expire`` (a job whose
``expires_at`` passed before it started). Only jobs that use those features get here."""

from __future__ import annotations

import logging

from sidequest.errors import StoreError
from sidequest.runtime.executor import Outcome
from sidequest.stores.base import Store

log = logging.getLogger("sidequest")


def record_special(store: Store, owner: str, outcome: Outcome) -> bool:
    """Apply a ``requeue`` or ``expire`` outcome; True when the store still held the job for ``owner``.

    ``requeue`` puts the job back at the front of its queue, payload unchanged (it resumes from its
    saved record). ``expire`` removes it, then adds one to the store's expired counter: a lost count
    (the counter's write failing after the removal) is logged, never retried, so a job is never
    counted twice nor kept for a count."""
    if outcome.action == "requeue":
        return store.requeue(owner, [outcome.claimed]) == 1
    removed = store.ack(owner, [outcome.claimed]) == 1
    if removed:
        try:
            store.add_expired(1)
        except StoreError as exc:
            log.warning("job %s expired; could not count it (%s)", outcome.claimed.jid, exc)
    return removed
