"""The process pool's bookkeeping: a place for one child, a thread waiting for one, and what the pool
reports of itself (``sidequest check``, the stats)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sidequest.runtime.pool_child import PoolChild

AHEAD_BYTES = 16_384
"""Requests up to this size are sent to a busy child ahead of its turn (one per child), and sent while
the pool's lock is held so the pipe keeps their order: a pipe holds 64 KiB, so such a write never
waits for the child. Bigger requests are sent when their child is free."""


@dataclass(frozen=True, slots=True)
class ChildStats:
    """One child of the pool: its pid (0 while it is being replaced), whether it runs a job, how many
    jobs it ran, and its resident memory in MB (None where ``/proc`` is missing)."""

    pid: int
    busy: bool
    jobs: int
    rss_mb: float | None


@dataclass(frozen=True, slots=True)
class PoolStats:
    """The pool at one moment: its size, how many children run a job, how many children were replaced
    (time limit, crash, memory), and each child."""

    size: int
    busy: int
    restarts: int
    children: tuple[ChildStats, ...]


class Slot:
    """A place for one child; the child in it is replaced when it dies, times out or grows too big."""

    def __init__(self) -> None:
        self.child: PoolChild | None = None
        self.busy = False
        self.stopped = False
        self.in_order = False
        """The owner's request went down the pipe while the pool's lock was held: one sent ahead now
        comes after it."""
        self.next: Waiter | None = None
        """The thread whose request was sent ahead: the child reads it as soon as its job is done."""
        self.no_ahead = False
        """Over its memory limit: nothing more is sent ahead, so it can be replaced between jobs."""


class Waiter:
    """A thread waiting for a child, with its job already encoded. Its request is sent ahead to a busy
    child when one has none queued (the child reads it the moment its job is done, without waiting for
    any thread to wake), or else by the thread whose child just finished, as it hands that child over."""

    def __init__(self, request: bytes) -> None:
        self.request = request
        self.slot: Slot | None = None
        self.sent = False
        self.sent_to: PoolChild | None = None
        """The child the request went to ahead of its turn: if that child is gone by the handover (the
        job before it timed out, crashed or was killed), the request is sent again to the new one."""
        self.ready = threading.Event()
