"""The PostgreSQL store's job records (iterable progress, cancelled flag), cancel and the expired counter.

Tables: ``job_states`` (one row per jid; ``expires_at`` by the server's clock, expired rows are
invisible and swept by the writes) and ``counters``. A mixin of :class:`PostgresStore`: it relies on
the store's ``_tx``, ``_read`` and ``s`` (the quoted schema); every method is one transaction.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import psycopg

from sidequest.job_state import CancelResult, JobState
from sidequest.stores.payloads import decode
from sidequest.stores.postgres.schema import NOW
from sidequest.stores.shared_job_states import EXPIRED_COUNTER, WAITING, holds_jid, jid_needle

Conn = psycopg.Connection[Any]

SELECT_STATE = (
    "SELECT cursor, executions, runtime, cancelled_at FROM {s}.job_states "
    f"WHERE jid = %s AND expires_at > {NOW}"
)
SWEEP = f"DELETE FROM {{s}}.job_states WHERE expires_at <= {NOW}"
SAVE = f"""
    INSERT INTO {{s}}.job_states (jid, cursor, executions, runtime, expires_at)
    VALUES (%s, %s, %s, %s, {NOW} + %s)
    ON CONFLICT (jid) DO UPDATE SET
        cursor = excluded.cursor, executions = excluded.executions, runtime = excluded.runtime,
        expires_at = excluded.expires_at
"""
FLAG = f"""
    INSERT INTO {{s}}.job_states AS st (jid, cancelled_at, expires_at) VALUES (%s, %s, {NOW} + %s)
    ON CONFLICT (jid) DO UPDATE SET
        cancelled_at = coalesce(st.cancelled_at, excluded.cancelled_at),
        expires_at = excluded.expires_at
"""
# FOR UPDATE: a claim or a move of the same row waits for this transaction, so the row is either
# removed here or seen running, never both nor neither.
CANDIDATES = (
    "SELECT id, state, payload FROM {s}.jobs WHERE strpos(payload, %s) > 0 AND state <> 'dead' "
    "ORDER BY id FOR UPDATE"
)
ADD = """
    INSERT INTO {s}.counters AS c (name, value) VALUES (%s, %s)
    ON CONFLICT (name) DO UPDATE SET value = c.value + excluded.value
"""


class PostgresJobStates:
    """Job records, cancel and the expired counter of the PostgreSQL store (see the Store contract)."""

    s: str
    """The store's quoted schema (set by PostgresStore)."""

    def _tx(self) -> AbstractContextManager[Conn]:
        raise NotImplementedError  # provided by PostgresStore

    def _read(self) -> AbstractContextManager[Conn]:
        raise NotImplementedError  # provided by PostgresStore

    def job_state(self, jid: str) -> JobState | None:
        """The unexpired ``job_states`` row of ``jid``."""
        with self._read() as conn:
            row = conn.execute(SELECT_STATE.format(s=self.s), (jid,)).fetchone()
        if row is None:
            return None
        return JobState(row[0], int(row[1]), float(row[2]), row[3])

    def save_job_state(
        self, jid: str, cursor: str | None, executions: int, runtime: float, ttl: float
    ) -> None:
        """Upsert the progress columns, keeping ``cancelled_at``."""
        with self._tx() as conn:
            conn.execute(SWEEP.format(s=self.s))
            conn.execute(SAVE.format(s=self.s), (jid, cursor, executions, runtime, ttl))

    def clear_job_state(self, jid: str) -> None:
        """Delete the row."""
        with self._tx() as conn:
            conn.execute(f"DELETE FROM {self.s}.job_states WHERE jid = %s", (jid,))

    def cancel(self, jid: str, now: float, ttl: float) -> CancelResult:
        """Flag, then delete the waiting row, in one transaction."""
        needle = jid_needle(jid)
        with self._tx() as conn:
            conn.execute(SWEEP.format(s=self.s))
            conn.execute(FLAG.format(s=self.s), (jid, now, ttl))
            running = False
            for row_id, state, raw in conn.execute(CANDIDATES.format(s=self.s), (needle,)).fetchall():
                if not holds_jid(raw, jid):
                    continue
                if state in WAITING:
                    conn.execute(f"DELETE FROM {self.s}.jobs WHERE id = %s", (row_id,))
                    conn.execute(f"DELETE FROM {self.s}.job_states WHERE jid = %s", (jid,))
                    return CancelResult("removed", decode(raw))
                running = running or state == "running"
        return CancelResult("flagged" if running else "not_found")

    def add_expired(self, count: int) -> None:
        """Add to the ``expired`` counter."""
        if count:
            with self._tx() as conn:
                conn.execute(ADD.format(s=self.s), (EXPIRED_COUNTER, count))

    def expired_count(self) -> int:
        """The ``expired`` counter."""
        with self._read() as conn:
            row = conn.execute(
                f"SELECT value FROM {self.s}.counters WHERE name = %s", (EXPIRED_COUNTER,)
            ).fetchone()
        return int(row[0]) if row else 0
