"""Cancelling a job: ``sidequest.cancel(jid)``, ``Client.cancel``, ``sidequest jobs cancel JID``, the
dashboard's Cancel button.

A waiting job (enqueued, scheduled, retry) is removed and never runs (its unique lock, if any, is
freed). A running job cannot be stopped from outside: it is flagged, and :meth:`Worker.cancelled
<sidequest.worker.Worker.cancelled>` tells it so; an :class:`~sidequest.IterableWorker` checks the flag
between two items and stops by itself. The flag is set before the job is looked for, so a job claimed
in the race between the two still sees it. Dead jobs are left alone.
"""

from __future__ import annotations

import logging
import time

from sidequest.batch_records import BatchOutcome
from sidequest.errors import JobArgumentError
from sidequest.job_state import STATE_TTL, CancelState
from sidequest.stores.base import Store
from sidequest.unique import UNIQUE_KEY

log = logging.getLogger("sidequest")


def cancel_in(store: Store, jid: str) -> CancelState:
    """Cancel job ``jid`` in ``store``; returns what happened: ``"removed"`` (it was waiting),
    ``"flagged"`` (it is running: it should stop), or ``"not_found"`` (no waiting or running job has
    that jid; the flag is kept 30 days all the same)."""
    if not isinstance(jid, str) or not jid.strip():
        raise JobArgumentError(f"cancel: a jid must be a non-empty str, got {jid!r}")
    result = store.cancel(jid.strip(), time.time(), STATE_TTL)
    payload = result.payload
    if result.state == "removed" and payload is not None and isinstance(payload.get(UNIQUE_KEY), str):
        store.release_unique([(payload[UNIQUE_KEY], jid)])
    if result.state == "removed" and payload is not None and isinstance(payload.get("bid"), str):
        # It will never run: its batch counts it as a failed job (complete can fire, success not).
        store.record_batch_outcomes([BatchOutcome(payload["bid"], jid.strip(), "failure")], time.time())
    log.info("cancel %s: %s", jid, result.state)
    return result.state


def cancel(jid: str) -> CancelState:
    """Cancel job ``jid`` in the default client's store: ``"removed"``, ``"flagged"`` or ``"not_found"``.

    ::

        state = sidequest.cancel(jid)   # "removed": it will never run
    """
    from sidequest.defaults import default_client

    return default_client().cancel(jid)
