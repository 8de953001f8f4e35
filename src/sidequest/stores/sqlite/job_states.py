"""The SQLite store's job records (iterable progress, cancelled flag), cancel and the expired counter.

Tables: ``job_states`` (one row per jid, with an ``expires_at`` by this machine's clock; expired rows
are invisible and swept by the writes) and ``counters``. A mixin of :class:`SQLiteStore`: it relies on
the store's ``_read`` and ``_write``; every method is one transaction.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import AbstractContextManager

from sidequest.job_state import CancelResult, JobState
from sidequest.stores.payloads import decode
from sidequest.stores.shared_job_states import EXPIRED_COUNTER, WAITING, holds_jid, jid_needle

SELECT_STATE = (
    "SELECT cursor, executions, runtime, cancelled_at FROM job_states WHERE jid = ? AND expires_at > ?"
)
SWEEP = "DELETE FROM job_states WHERE expires_at <= ?"
SAVE = """
    INSERT INTO job_states (jid, cursor, executions, runtime, expires_at) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (jid) DO UPDATE SET
        cursor = excluded.cursor, executions = excluded.executions, runtime = excluded.runtime,
        expires_at = excluded.expires_at
"""
FLAG = """
    INSERT INTO job_states (jid, cancelled_at, expires_at) VALUES (?, ?, ?)
    ON CONFLICT (jid) DO UPDATE SET
        cancelled_at = coalesce(job_states.cancelled_at, excluded.cancelled_at),
        expires_at = excluded.expires_at
"""
CANDIDATES = "SELECT id, state, payload FROM jobs WHERE instr(payload, ?) > 0 AND state <> 'dead' ORDER BY id"
CANDIDATE_IDS = "SELECT id FROM jobs WHERE instr(payload, ?) > 0 AND state <> 'dead' ORDER BY id"
ROWS_BY_ID = "SELECT id, state, payload FROM jobs WHERE id IN ({marks}) AND state <> 'dead' ORDER BY id"
ADD = """
    INSERT INTO counters (name, value) VALUES (?, ?)
    ON CONFLICT (name) DO UPDATE SET value = counters.value + excluded.value
"""


class SQLiteJobStates:
    """Job records, cancel and the expired counter of the SQLite store (see the Store contract)."""

    def _read(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # provided by SQLiteStore

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # provided by SQLiteStore

    def job_state(self, jid: str) -> JobState | None:
        """The unexpired ``job_states`` row of ``jid``."""
        with self._read() as conn:
            row = conn.execute(SELECT_STATE, (jid, time.time())).fetchone()
        if row is None:
            return None
        return JobState(row[0], int(row[1]), float(row[2]), row[3])

    def save_job_state(
        self, jid: str, cursor: str | None, executions: int, runtime: float, ttl: float
    ) -> None:
        """Upsert the progress columns, keeping ``cancelled_at``."""
        now = time.time()
        with self._write() as conn:
            conn.execute(SWEEP, (now,))
            conn.execute(SAVE, (jid, cursor, executions, runtime, now + ttl))

    def clear_job_state(self, jid: str) -> None:
        """Delete the row."""
        with self._write() as conn:
            conn.execute("DELETE FROM job_states WHERE jid = ?", (jid,))

    def cancel(self, jid: str, now: float, ttl: float) -> CancelResult:
        """Flag, then delete the waiting row, in one write transaction. The scan of the payloads for
        the jid runs first in a read transaction (no write lock held); the write transaction then
        looks only at the rows found, which keep their id through every move, or scans again when the
        job was pushed since."""
        needle = jid_needle(jid)
        with self._read() as conn:
            ids = [row[0] for row in conn.execute(CANDIDATE_IDS, (needle,)).fetchall()]
        with self._write() as conn:
            conn.execute(SWEEP, (time.time(),))
            conn.execute(FLAG, (jid, now, time.time() + ttl))
            rows = (
                conn.execute(ROWS_BY_ID.format(marks=",".join("?" * len(ids))), ids).fetchall() if ids else []
            )
            if not any(holds_jid(raw, jid) for _, _, raw in rows):
                rows = conn.execute(CANDIDATES, (needle,)).fetchall()
            running = False
            for row_id, state, raw in rows:
                if not holds_jid(raw, jid):
                    continue
                if state in WAITING:
                    conn.execute("DELETE FROM jobs WHERE id = ?", (row_id,))
                    conn.execute("DELETE FROM job_states WHERE jid = ?", (jid,))
                    return CancelResult("removed", decode(raw))
                running = running or state == "running"
        return CancelResult("flagged" if running else "not_found")

    def add_expired(self, count: int) -> None:
        """Add to the ``expired`` counter."""
        if count:
            with self._write() as conn:
                conn.execute(ADD, (EXPIRED_COUNTER, count))

    def expired_count(self) -> int:
        """The ``expired`` counter."""
        with self._read() as conn:
            row = conn.execute("SELECT value FROM counters WHERE name = ?", (EXPIRED_COUNTER,)).fetchone()
        return int(row[0]) if row else 0
