"""The paid-tier features of :class:`sidequest.stores.redis.store.RedisStore` (rate limiters, job records
and cancellation, batches): each method is one call on the helper that owns its keys and Lua scripts
(``limiters.py``, ``job_states.py``, ``batches.py``). A mixin, so the store class keeps to the job
lifecycle; the store sets the three helpers."""

from __future__ import annotations

from collections.abc import Sequence

from sidequest.batch_records import BatchAdd, BatchInfo, BatchOutcome
from sidequest.job_state import CancelResult, JobState
from sidequest.limits import Limit, LimiterStats, Verdict
from sidequest.stores.redis.batches import RedisBatches
from sidequest.stores.redis.job_states import RedisJobStates
from sidequest.stores.redis.limiters import RedisLimiters


class RedisFeatureMethods:
    """Rate limiters, job records and batches on Redis (see the store contract for their meaning)."""

    _limiters: RedisLimiters
    _job_states: RedisJobStates
    _batches: RedisBatches

    # -- rate limiters -------------------------------------------------------------------------------

    def limiter_acquire(
        self, limit: Limit, token: str, now: float | None = None, final: bool = True
    ) -> Verdict:
        """One Lua call (see ``redis/limiters.py``)."""
        return self._limiters.acquire(limit, token, now, final)

    def limiter_release(self, limit: Limit, token: str, now: float | None = None) -> bool:
        """One Lua call: ZREM of the holder."""
        return self._limiters.release(limit, token, now)

    def limiters(self, now: float | None = None) -> list[LimiterStats]:
        """The registry and each limiter's hash, pipelined."""
        return self._limiters.stats(now)

    # -- iterable jobs, expiring jobs and cancellation (job_states.py) -------------------------------

    def job_state(self, jid: str) -> JobState | None:
        """HGETALL of Sidekiq 7.3's ``it-<jid>``."""
        return self._job_states.job_state(jid)

    def save_job_state(
        self, jid: str, cursor: str | None, executions: int, runtime: float, ttl: float
    ) -> None:
        """HSET and EXPIRE of ``it-<jid>``, checked."""
        self._job_states.save_job_state(jid, cursor, executions, runtime, ttl)

    def clear_job_state(self, jid: str) -> None:
        """DEL of ``it-<jid>``."""
        self._job_states.clear_job_state(jid)

    def cancel(self, jid: str, now: float, ttl: float) -> CancelResult:
        """HSETNX of the flag, then the job taken out by its text (``lua/cancel_remove.lua``)."""
        return self._job_states.cancel(jid, now, ttl)

    def add_expired(self, count: int) -> None:
        """INCRBY ``stat:expired``."""
        self._job_states.add_expired(count)

    def expired_count(self) -> int:
        """GET ``stat:expired``."""
        return self._job_states.expired_count()

    # -- batches (stores/redis/batches.py, lua/batches.lua) -------------------------------------------

    def add_to_batches(self, adds: Sequence[BatchAdd], now: float) -> None:
        """One Lua call for every addition and its pushes."""
        self._batches.add(adds, now)

    def record_batch_outcomes(self, outcomes: Sequence[BatchOutcome], now: float) -> int:
        """One Lua call for every outcome, its transitions and its callback pushes."""
        return self._batches.record(outcomes, now)

    def batch_status(self, bid: str, now: float) -> BatchInfo | None:
        """One round trip; Redis expires what lingered out."""
        return self._batches.status(bid)

    def list_batches(self, offset: int, limit: int, now: float) -> list[BatchInfo]:
        """A ZREVRANGE of ``batches`` and a round trip per batch."""
        return self._batches.page(offset, limit)

    def delete_batch(self, bid: str) -> bool:
        """DEL of the batch's keys."""
        return self._batches.delete(bid)
