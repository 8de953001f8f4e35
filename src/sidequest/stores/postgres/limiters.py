"""Rate limiters in the PostgreSQL store: each acquire, release or read is one read-committed
transaction around :mod:`sidequest.stores.limiter_sql`.

An acquire's first statement upserts the limiter's row in ``limiters``, taking that row's lock until
commit: racing acquires of one limiter from every machine wait there, then see the uses the previous
one committed, so no two of them can both take the last slot. No advisory lock, nothing held across
the user's block. The clock is the server's (``clock_timestamp()``, read after the row lock), so every
machine judges a limit by the same time. Tables: ``limiters``, ``limiter_uses``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import psycopg

from sidequest.limits import Limit, LimiterStats, Verdict
from sidequest.stores.limiter_sql import LimiterSQL, clock_at
from sidequest.stores.postgres.schema import NOW

Conn = psycopg.Connection[Any]

CLOCK = f"SELECT {NOW}"


class PostgresLimiterMethods:
    """``limiter_acquire``, ``limiter_release`` and ``limiters`` of the PostgreSQL store."""

    s: str
    """The quoted schema (set by PostgresStore)."""

    def _tx(self) -> AbstractContextManager[Conn]:
        raise NotImplementedError  # provided by PostgresStore

    def _read(self) -> AbstractContextManager[Conn]:
        raise NotImplementedError  # provided by PostgresStore

    def _limiter_sql(self) -> LimiterSQL:
        # Built per call from the schema: a few string replacements, and no state to keep in sync.
        return LimiterSQL(f"{self.s}.", "%s")

    def limiter_acquire(
        self, limit: Limit, token: str, now: float | None = None, final: bool = True
    ) -> Verdict:
        """Decide and record one use in one transaction, serialised on the limiter's row lock; a poll
        (``final=False``) that a read shows refused takes no row lock."""
        if not final:
            with self._read() as conn:
                if now is None:
                    row = conn.execute(CLOCK).fetchone()
                    at = float(row[0]) if row else 0.0
                else:
                    at = now
                refused = self._limiter_sql().peek(conn, limit, at)
            if refused is not None:
                return refused
        with self._tx() as conn:

            def server_clock() -> float:
                row = conn.execute(CLOCK).fetchone()
                return float(row[0]) if row else 0.0

            return self._limiter_sql().acquire(conn, limit, token, clock_at(now, server_clock), final)

    def limiter_release(self, limit: Limit, token: str, now: float | None = None) -> bool:
        """Delete the holder's row in one transaction."""
        if limit.kind != "concurrent":
            return False
        with self._tx() as conn:
            if now is None:
                row = conn.execute(CLOCK).fetchone()
                now = float(row[0]) if row else 0.0
            return self._limiter_sql().release(conn, limit, token, now)

    def limiters(self, now: float | None = None) -> list[LimiterStats]:
        """Every limiter's stats from one snapshot, judged by the server's clock."""
        with self._read() as conn:
            if now is None:
                row = conn.execute(CLOCK).fetchone()
                now = float(row[0]) if row else 0.0
            return self._limiter_sql().stats(conn, now)
