"""Where a sidequest process releases unique jobs' locks (the lock itself: :mod:`sidequest.unique`).

* ``unique_until="start"``: :func:`release_at_start` is the executor's start hook, so the lock goes
  just before ``perform`` runs, after the class was found and every server middleware was entered.
* otherwise (``"success"``, the default): the acker calls :func:`release_finished` once the store has
  recorded the outcomes. Success, a failure the job's policy drops (``retry: False``) and the dead set
  all end the job, so they free its lock; a job sent to the retry set is still pending and keeps it.

A release that fails because the store is unreachable is logged and not retried: the lock then lives
until its TTL ends. That only delays the next identical job; it never loses or duplicates one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sidequest.errors import StoreError
from sidequest.job import Payload
from sidequest.runtime.executor import Outcome
from sidequest.stores.base import Store
from sidequest.unique import UNIQUE_KEY, held_lock, releases_at_start

log = logging.getLogger("sidequest")


def release_at_start(store: Store) -> Callable[[Payload], None]:
    """The executor's start hook that frees the lock of a ``unique_until="start"`` job just before
    ``perform``, inside every server middleware.

    For ``async def perform`` jobs it runs on the event loop, as the middleware do: one short store
    write per such job, and none at all for other jobs.
    """

    def at_start(payload: Payload) -> None:
        lock = held_lock(payload) if releases_at_start(payload) else None
        if lock is not None:
            _release(store, [lock], "at its start")

    return at_start


def release_finished(store: Store, outcomes: Sequence[Outcome]) -> None:
    """Free the locks of jobs these recorded outcomes finish for good (not those sent to retry).

    A ``unique_until="start"`` job that succeeded freed its lock already and costs no round trip here;
    one that failed before ``perform`` started (an unknown class) is freed now, when it is dropped or
    dies. A second release of the same lock is harmless: it matches the jid, and finds nothing.
    """
    locks = []
    for outcome in outcomes:
        payload = outcome.claimed.payload
        if payload is None or UNIQUE_KEY not in payload or outcome.action == "retry":
            continue  # most jobs are not unique: one dictionary lookup each
        if releases_at_start(payload) and not outcome.failed:
            continue
        lock = held_lock(payload)
        if lock is not None:
            locks.append(lock)
    if locks:
        _release(store, locks, "after its outcome was recorded")


def _release(store: Store, locks: list[tuple[str, str]], when: str) -> None:
    try:
        store.release_unique(locks)
    except StoreError as exc:
        log.warning(
            "could not release %d unique lock(s) %s (%s); each expires on its own after its unique_for",
            len(locks),
            when,
            exc,
        )
