"""What a store keeps about one job beside its payload: an iterable job's progress and the cancelled flag.

This is Sidekiq 7.3's ``it-<jid>`` record (``Sidekiq::Job::Iterable``): the cursor of the last item
handled (JSON text), how many times the job was started (``ex``), the seconds it has run in all
(``rt``), and when someone cancelled it (``cancelled``, epoch seconds). A record lives
:data:`STATE_TTL` seconds after its last write, then the store forgets it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sidequest.job import Payload

STATE_TTL = 30 * 24 * 60 * 60.0
"""Seconds a job's record lives after its last write (Sidekiq's ``Iterable::STATE_TTL``, 30 days)."""

CancelState = Literal["removed", "flagged", "not_found"]
"""What :meth:`~sidequest.stores.base.Store.cancel` found: the job was waiting and is removed; it is
running (or about to) and is flagged; or the store has no such job (the flag is set all the same)."""


@dataclass(frozen=True, slots=True)
class JobState:
    """A job's record: an iterable job's saved progress, and its cancelled flag."""

    cursor: str | None = None
    """The JSON text of the cursor of the last item handled; None before the first save."""
    executions: int = 0
    """How many times the job was started (interrupted runs included)."""
    runtime: float = 0.0
    """Seconds the job has run over all its runs."""
    cancelled_at: float | None = None
    """When the job was cancelled (epoch seconds), None when it was not."""


@dataclass(frozen=True, slots=True)
class CancelResult:
    """What :meth:`~sidequest.stores.base.Store.cancel` did, with the removed job's payload."""

    state: CancelState
    payload: Payload | None = None
