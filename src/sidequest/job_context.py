"""What a running job may ask about its own run: is it cancelled, is its process stopping, how long
may it still run. The executor hands each worker instance the process's :class:`RunContext` before
``perform``; a worker called outside a process (``perform`` called directly, the testing modes) has
none, and then nothing is cancelled or stopping.

The per-job part lives on the worker instance (one per job), so a plain job pays two attribute
writes for it and nothing else; a store is asked only when the job itself asks
:meth:`~sidequest.worker.Worker.cancelled`, and the answer is kept :data:`CANCEL_CHECK_INTERVAL`
seconds, so asking in a loop is cheap.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sidequest.errors import StoreError
from sidequest.stores.base import Store

log = logging.getLogger("sidequest")

CANCEL_CHECK_INTERVAL = 0.25
"""Seconds a job's "am I cancelled?" answer is reused before the store is asked again."""


def _never() -> bool:
    return False


@dataclass(slots=True)
class RunContext:
    """One process's side of every job it runs (made once by the executor, shared by its jobs)."""

    store: Store | None = None
    """Where jobs' records live (None: no store, as in the testing modes)."""
    stopping: Callable[[], bool] = field(default=_never)
    """True once the process is stopping (TERM, quiet, recycling): long jobs should stop soon."""
    time_limit: float | None = None
    """The process's default ``time_limit`` (a job's own option wins)."""


class CancelCheck:
    """A job's cached view of its cancelled flag."""

    __slots__ = ("_checked", "_value")

    def __init__(self) -> None:
        self._checked = -1e18
        self._value = False

    def cancelled(self, store: Store, jid: str, now: float | None = None) -> bool:
        """True when the job's record says it was cancelled; asks the store at most every 0.25 s.
        A store that cannot be reached keeps the last answer (the job goes on, and asks again)."""
        mono = time.monotonic() if now is None else now
        if self._value or mono - self._checked < CANCEL_CHECK_INTERVAL:
            return self._value
        self._checked = mono
        try:
            state = store.job_state(jid)
        except StoreError as exc:
            log.warning("could not check whether job %s was cancelled (%s); going on", jid, exc)
            return self._value
        self._value = state is not None and state.cancelled_at is not None
        return self._value

    def set(self, value: bool) -> None:
        """Record an answer read elsewhere (an iterable job reads its flag with its progress)."""
        self._value = value
        self._checked = time.monotonic()
