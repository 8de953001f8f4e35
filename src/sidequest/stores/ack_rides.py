"""Acks that ride on the next claim: one transaction (and, on a server, one round trip) for both.

A process that drains a busy queue claims a batch every millisecond or two, and acks the batch before
it just as often, from another thread (the acker). Sent apart, that is two transactions per cycle;
sent together, it is one. The two touch disjoint rows (finished rows are ``running``, claimed ones
``enqueued``), so combining them changes no outcome.

* PostgreSQL (``moves.ACK_AND_CLAIM``): the ``DELETE`` of the finished rows and the claim's ``UPDATE``
  as two data-modifying CTEs of one statement: one round trip and one commit, and no pipeline mode,
  so it works behind PgBouncer in transaction mode.
* SQLite: the ``DELETE`` runs first in the claim's own write transaction: one turn at the file's single
  write lock instead of two, which is what processes sharing the file queue for.

The acker offers its batch here and waits a few milliseconds for the fetcher's next claim to carry
it; if no claim comes (the queue is idle, jobs are long), or the claim that carried it failed, the
acker sends the batch alone, exactly as before. An ack rides only while claims are coming back with
jobs, so an idle process never delays one."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

RIDE_WAIT = 0.01
"""Seconds an ack waits for a claim to carry it before it is sent alone."""


@dataclass(slots=True)
class Rider:
    """One ack batch waiting for a claim: the rows to delete, and what the claim that carried it got."""

    ids: list[int]
    claims: list[int]
    owners: list[str]
    carried: threading.Event = field(default_factory=threading.Event)
    taken: bool = False
    deleted: int | None = None
    """Rows the carrying statement deleted; None when it failed (the acker then sends the batch alone)."""


class AckRides:
    """The acks waiting for the next claim of one store object (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: list[Rider] = []
        self.claims_flowing = False
        """True while the last claim came back with jobs: another claim is on its way."""

    def ride(self, rider: Rider, wait: float = RIDE_WAIT) -> int | None:
        """Offer ``rider`` to the next claim; the rows it deleted, or None if the acker must send the
        batch itself (no claim came within ``wait`` seconds, or the one that carried it failed)."""
        if not self.claims_flowing:
            return None
        with self._lock:
            self._waiting.append(rider)
        if not rider.carried.wait(wait):
            with self._lock:
                if not rider.taken:
                    self._waiting.remove(rider)
                    return None
            rider.carried.wait()  # taken by a claim in flight: its statement answers for both
        return rider.deleted

    def board(self) -> list[Rider]:
        """Take every waiting rider, for the claim about to be sent."""
        with self._lock:
            riders, self._waiting = self._waiting, []
            for rider in riders:
                rider.taken = True
        return riders

    @staticmethod
    def arrive(riders: list[Rider], deleted: int | None) -> None:
        """The carrying statement returned (``deleted`` rows in all) or failed (None).

        One statement deletes every rider's rows at once and reports one count; each rider learns it
        got all of its rows only when the total matches, which is what the acker needs (it frees
        unique locks only for a batch the store confirmed whole)."""
        expected = sum(len(rider.ids) for rider in riders)
        for rider in riders:
            if deleted is None:
                rider.deleted = None
            elif deleted == expected:
                rider.deleted = len(rider.ids)
            else:
                rider.deleted = min(deleted, len(rider.ids)) if len(riders) == 1 else 0
            rider.carried.set()
