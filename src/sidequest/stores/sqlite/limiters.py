"""Rate limiters in the SQLite store: each acquire, release or read is one transaction around
:mod:`sidequest.stores.limiter_sql`. Writes are ``BEGIN IMMEDIATE``, so the file's write lock orders
racing acquires from every thread and process on the machine, and the clock is this machine's.

A mixin so the store class keeps to the processing side; it relies on the store's ``_read`` and
``_write``. Tables: ``limiters``, ``limiter_uses``.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import AbstractContextManager

from sidequest.limits import Limit, LimiterStats, Verdict
from sidequest.stores.limiter_sql import LimiterSQL, clock_at

STATEMENTS = LimiterSQL()


class SQLiteLimiterMethods:
    """``limiter_acquire``, ``limiter_release`` and ``limiters`` of the SQLite store."""

    def _read(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # provided by SQLiteStore

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # provided by SQLiteStore

    def limiter_acquire(
        self, limit: Limit, token: str, now: float | None = None, final: bool = True
    ) -> Verdict:
        """Decide and record one use in one write transaction; a poll (``final=False``) that a read
        shows refused takes no write lock, so threads waiting on a full limit do not queue for it."""
        if not final:
            with self._read() as conn:
                refused = STATEMENTS.peek(conn, limit, time.time() if now is None else now)
            if refused is not None:
                return refused
        with self._write() as conn:
            return STATEMENTS.acquire(conn, limit, token, clock_at(now, time.time), final)

    def limiter_release(self, limit: Limit, token: str, now: float | None = None) -> bool:
        """Delete the holder's row in one write transaction."""
        if limit.kind != "concurrent":
            return False
        with self._write() as conn:
            return STATEMENTS.release(conn, limit, token, time.time() if now is None else now)

    def limiters(self, now: float | None = None) -> list[LimiterStats]:
        """Every limiter's stats from one read snapshot."""
        with self._read() as conn:
            return STATEMENTS.stats(conn, time.time() if now is None else now)
