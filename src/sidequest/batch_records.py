"""Batches as values the store contract speaks in (no I/O): what a client adds, what an acker
records, and what a store answers. The user API is :mod:`sidequest.batch`.

A batch's callbacks are stored as payload *templates*: the JSON text of the callback job, built by
the client when the batch is created (class, queue, options, jid), with two marks a store replaces
when it fires the callback: :data:`STATUS_MARK` (the quoted string becomes the batch's status as a
JSON object) and :data:`NOW_MARK` (becomes the firing time, float epoch seconds, in ``created_at`` and
``enqueued_at``). So every store fires a callback with a plain text substitution, in the same atomic
step that decides it fires.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from sidequest.job import NewJob

BatchEvent = Literal["complete", "success", "death"]
EVENTS: tuple[BatchEvent, ...] = ("death", "complete", "success")
"""Every callback event, in the order a step that reaches several fires them."""

OutcomeKind = Literal["success", "failure", "death"]
"""What one run of a batch's job means for the batch: it succeeded; it failed and will be retried or
was discarded (it ran, it is not a success); it went to the dead set (fires ``death``)."""

STATUS_MARK = "__sidequest_batch_status__"
NOW_MARK = "__sidequest_batch_now__"

CHILD_PREFIX = "b-"
"""A child batch counts in its parent as one pending member named ``b-<child bid>``."""

UNFINISHED_TTL = 30 * 86400.0
"""Seconds an unfinished batch's data is kept (from its creation or its latest addition)."""

DEFAULT_LINGER = 86400.0
"""Seconds a successful batch stays readable after its success (Sidekiq Pro keeps it 24 hours)."""


def child_member(bid: str) -> str:
    """The member that stands for child batch ``bid`` in its parent."""
    return CHILD_PREFIX + bid


@dataclass(frozen=True, slots=True)
class BatchCallback:
    """One callback of a batch: fired once, as the job in ``template`` pushed to ``queue``."""

    event: BatchEvent
    jid: str
    queue: str
    template: str


@dataclass(frozen=True, slots=True)
class NewBatch:
    """A batch to create: its id, its parent (None for a top-level batch) and what it fires."""

    bid: str
    description: str = ""
    parent: str | None = None
    created_at: float = 0.0
    linger: float = DEFAULT_LINGER
    callbacks: tuple[BatchCallback, ...] = ()

    def status_tail(self) -> str:
        """The static fields of every status this batch fires with, as the end of a JSON object
        (``"bid":...}``): the stores put the counters in front."""
        text = orjson.dumps(
            {
                "bid": self.bid,
                "parent_bid": self.parent,
                "description": self.description,
                "created_at": self.created_at,
            }
        ).decode()
        return text[1:]


@dataclass(frozen=True, slots=True)
class BatchAdd:
    """Jobs joining batch ``bid``; ``new`` first creates the batch (and counts it in its parent)."""

    bid: str
    jobs: Sequence[NewJob] = ()
    new: NewBatch | None = None


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """One run of job ``jid`` of batch ``bid``, as the acker records it."""

    bid: str
    jid: str
    kind: OutcomeKind


@dataclass(frozen=True, slots=True)
class BatchInfo:
    """What a store knows of one batch (see :class:`sidequest.batch.BatchStatus` for people)."""

    bid: str
    description: str
    parent: str | None
    created_at: float
    total: int
    pending: int
    failures: int
    unrun: int
    failed_jids: list[str] = field(default_factory=list)
    fired: dict[str, float] = field(default_factory=dict)
    callbacks: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """True once every job ran at least once (the ``complete`` callback fired)."""
        return "complete" in self.fired


def status_json(info: dict[str, Any], tail: str) -> str:
    """The status object a callback gets: counters, failed jids, then the batch's static tail."""
    head = orjson.dumps(info).decode()
    return head[:-1] + "," + tail if len(head) > 2 else "{" + tail


def fill_template(template: str, status: str, now_text: str) -> str:
    """The callback job's JSON text: ``template`` with its marks replaced (see the module doc)."""
    return template.replace(f'"{STATUS_MARK}"', status, 1).replace(f'"{NOW_MARK}"', now_text)


def now_text(now: float) -> str:
    """``now`` as a JSON float (always with a decimal point: Sidekiq 8 reads an integer as ms)."""
    return orjson.dumps(float(now)).decode()
