"""The store contract's part for the features Sidekiq sells in its paid tiers: job records (iterable
jobs' progress, cancelled flags, the expired count), rate limiters and batches. :class:`~sidequest.stores.
base.Store` inherits these; each method's docstring states its transition, atomicity and return, as in
``base.py``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from sidequest.batch_records import BatchAdd, BatchInfo, BatchOutcome
from sidequest.job_state import CancelResult, JobState
from sidequest.limits import Limit, LimiterStats, Verdict


class JobRecordContract(ABC):
    """Job records, expiring jobs and cancellation (every store implements them)."""

    # ----------------------------------------------------------------------------------------------
    # Iterable jobs, expiring jobs and cancellation (see sidequest.iterable, sidequest.cancellation).
    # A job's record (:class:`~sidequest.job_state.JobState`, Sidekiq 7.3's ``it-<jid>``) lives
    # ``ttl`` seconds after its last write, by the store's clock.

    @abstractmethod
    def job_state(self, jid: str) -> JobState | None:
        """The record of job ``jid``: saved progress and cancelled flag; None when there is none (never
        saved, cleared, or expired). Read-only."""

    @abstractmethod
    def save_job_state(
        self, jid: str, cursor: str | None, executions: int, runtime: float, ttl: float
    ) -> None:
        """Write ``jid``'s progress (cursor JSON text, executions, runtime) and reset the record's
        expiry to ``ttl`` seconds, keeping its cancelled flag. Atomic: one upsert; idempotent."""

    @abstractmethod
    def clear_job_state(self, jid: str) -> None:
        """Forget ``jid``'s record (the job finished), cancelled flag included. Idempotent."""

    @abstractmethod
    def cancel(self, jid: str, now: float, ttl: float) -> CancelResult:
        """Cancel job ``jid``: waiting (enqueued, scheduled, retry) -> gone; running -> flagged.

        Sets the record's cancelled flag to ``now`` unless it is already set (the first cancel's time
        is kept) with an expiry of ``ttl`` seconds, then removes the job if it is waiting, in queue
        or set order. Returns ``"removed"`` with the payload removed (the record is then forgotten:
        the job cannot run); ``"flagged"`` when the job is running (held by a process);
        ``"not_found"`` when the store has no such waiting or running job. The flag then stays until
        its ``ttl``, so a job claimed in the race between the lookup and the claim still sees it.
        SQLite and PostgreSQL: one transaction. Redis: the flag first (a checked step), then the job
        taken out by its exact text with its record (``cancel_remove.lua``); a job that
        moved meanwhile is looked for again. Dead jobs are left alone (they do not run).
        """

    @abstractmethod
    def add_expired(self, count: int) -> None:
        """Add ``count`` to the store-wide counter of jobs dropped because they expired
        (``expires_at`` passed before they started). Atomic increment; 0 does nothing."""

    @abstractmethod
    def expired_count(self) -> int:
        """The counter :meth:`add_expired` adds to; 0 when nothing expired. Read-only."""


class LimiterContract(ABC):
    """Rate limiters shared by every process on the store."""

    # ----------------------------------------------------------------------------------------------
    # Rate limiters (sidequest.limiter; the kinds and their rules are in sidequest.limits). A limiter's
    # state is keyed by (kind, name) and shared by every process on the store. ``now`` is epoch
    # seconds; None means the store's clock (SQLite: this machine's; Redis: TIME; PostgreSQL: the
    # server's), which callers use outside tests.

    @abstractmethod
    def limiter_acquire(
        self, limit: Limit, token: str, now: float | None = None, final: bool = True
    ) -> Verdict:
        """One use of ``limit`` by holder ``token``, decided and recorded atomically.

        concurrent: expired holders (lock taken ``limit.period`` seconds ago or more) are dropped; when
        fewer than ``limit.size`` remain, ``token`` becomes a holder until ``now + limit.period`` (taken
        again, its expiry is renewed). bucket: allowed while fewer than ``size`` uses fell in the
        epoch-aligned interval of ``period`` seconds that holds ``now``. window: allowed while fewer than
        ``size`` uses fell in ``(now - period, now]``. leaky: allowed while the level drained at
        ``size / period`` per second stays at most ``size`` after adding one.

        An allowed use, or a refusal with ``final`` (the caller gives up after this answer), also stores
        ``size`` and ``period`` as the limiter's latest, sets ``last_used`` to ``now``, and counts in
        ``allowed`` or ``refused``. A refusal without ``final`` (a poll while waiting) records nothing
        (the store may judge it from a read, taking no lock). Racing calls from any number of threads
        and processes never allow more than the limit. Returns the :class:`Verdict`.
        """

    @abstractmethod
    def limiter_release(self, limit: Limit, token: str, now: float | None = None) -> bool:
        """End holder ``token``'s use of concurrent ``limit``, freeing its slot at once. Atomic; True
        when ``token`` held a live slot, False (nothing to do) when it expired, was released already,
        or ``limit`` is not concurrent."""

    @abstractmethod
    def limiters(self, now: float | None = None) -> list[LimiterStats]:
        """Every limiter ever used on this store, as :class:`LimiterStats` at ``now``, sorted by kind
        and name. Read-only; ``[]`` when none was used."""


class BatchContract(ABC):
    """Sidekiq Pro's batches."""

    # ----------------------------------------------------------------------------------------------
    # Batches (Sidekiq Pro's batches; the user API is sidequest.batch). A batch holds, per member (a
    # job's jid, or ``b-<bid>`` for a child batch), whether it ran once, succeeded, failed; and which
    # of its callbacks fired. ``complete`` fires once no member is unrun, ``success`` once every member
    # succeeded, ``death`` at the first death; each callback job is pushed in the same atomic step as
    # the transition that fires it, guarded by its fired flag, so it is pushed exactly once.

    @abstractmethod
    def add_to_batches(self, adds: Sequence[BatchAdd], now: float) -> None:
        """Apply each :class:`BatchAdd` in order, all of them in one atomic step (one transaction, one
        Lua script): create the batch when ``add.new`` is given (and, when it has a parent, add the
        member ``b-<bid>`` to the parent, which must exist), register every job's jid as an unrun,
        pending member, and push the jobs as :meth:`push` would (their payloads already carry
        ``bid``). A batch that has no pending member after the step (an empty batch) fires its
        callbacks then, as :meth:`record_batch_outcomes` would. Unfinished batches' data expires
        :data:`~sidequest.batch_records.UNFINISHED_TTL` after their latest addition. Raises
        :class:`~sidequest.errors.StoreError` naming the batch when an existing batch is not found
        (it finished and lingered out, or expired), writing nothing.
        """

    @abstractmethod
    def record_batch_outcomes(self, outcomes: Sequence[BatchOutcome], now: float) -> int:
        """Record runs of batch members, idempotently per member: ``success`` marks it ran and
        succeeded; ``failure`` and ``death`` mark it ran and failed, unless it already succeeded
        (a re-run after a crash changes nothing). An unknown batch or member is ignored.

        Then, for each touched batch, atomically with the marks: when no member is unrun and
        ``complete`` has not fired, push the ``complete`` callback; when no member is pending,
        ``success`` (the batch then lingers ``linger`` seconds before it is removed); at the first
        ``death``, ``death``. A callback of a child batch is registered as a member of the parent
        before it is pushed (the parent finishes only after its children's callbacks ran), and the
        child's transitions are then recorded in its parent (success as success, complete with
        failures as a failure, a death as the parent's death without marking it ran). Atomic per
        batch and its ancestors. Returns how many callback jobs were pushed; 0 for no outcomes.
        """

    @abstractmethod
    def batch_status(self, bid: str, now: float) -> BatchInfo | None:
        """What the store knows of batch ``bid``; None when unknown, expired, or lingered out.
        Read-only."""

    @abstractmethod
    def list_batches(self, offset: int, limit: int, now: float) -> list[BatchInfo]:
        """A page of the known batches, newest first (by ``created_at``); ``[]`` past the end. The
        ``failed_jids`` of each are left empty (read them with :meth:`batch_status`). Read-only."""

    @abstractmethod
    def delete_batch(self, bid: str) -> bool:
        """Forget batch ``bid`` and its members (its jobs stay where they are and run as plain jobs:
        their outcomes are then ignored). Returns False when there was no such batch."""
