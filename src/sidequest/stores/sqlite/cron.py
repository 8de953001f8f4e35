"""The SQLite store's periodic (cron) jobs. Every function runs inside a transaction opened by
:class:`sidequest.stores.sqlite.SQLiteStore` (BEGIN IMMEDIATE for writes), so recording a tick and
inserting its job commit together: the ``(entry, tick)`` primary key of ``cron_ticks`` lets exactly one
of any number of racing processes insert the job.

Tables touched: ``cron_ticks`` (one row per enqueued tick, pruned after ``CRON_TICK_MEMORY``),
``cron_entries`` (latest enqueue and paused flag per entry), ``jobs``, ``queues``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from sidequest.job import NewJob
from sidequest.stores.base import CRON_TICK_MEMORY, CronState
from sidequest.stores.sqlite import moves

ENTRY = "SELECT paused, last_tick FROM cron_entries WHERE name = ?"

RECORD_TICK = "INSERT OR IGNORE INTO cron_ticks (entry, tick, jid, enqueued_at) VALUES (?, ?, ?, ?)"

# Walks the primary key from the entry's oldest tick: cheap, and it keeps the table to an hour per entry.
FORGET_OLD_TICKS = "DELETE FROM cron_ticks WHERE entry = ? AND tick < ?"

INSERT_JOB = "INSERT INTO jobs (queue, state, payload, position) VALUES (?, 'enqueued', ?, ?)"

# An older tick enqueued late (a process catching up) never hides a later one as "the latest".
RECORD_LATEST = """
    INSERT INTO cron_entries (name, last_tick, last_jid, enqueued_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (name) DO UPDATE SET
        last_tick = excluded.last_tick, last_jid = excluded.last_jid, enqueued_at = excluded.enqueued_at
    WHERE cron_entries.last_tick IS NULL OR excluded.last_tick > cron_entries.last_tick
"""

SET_PAUSED = """
    INSERT INTO cron_entries (name, paused) VALUES (?, ?)
    ON CONFLICT (name) DO UPDATE SET paused = excluded.paused
"""


def enqueue_tick(conn: sqlite3.Connection, entry: str, tick: int, job: NewJob, now: float) -> bool:
    """Record ``(entry, tick)`` and insert ``job`` at the back of its queue; False, writing nothing,
    when the entry is paused, the tick is already recorded, or it is too old to be remembered."""
    row = conn.execute(ENTRY, (entry,)).fetchone()
    if row is not None and (row[0] or _forgotten(tick, row[1])):
        return False
    jid = str(job.payload.get("jid", ""))
    if conn.execute(RECORD_TICK, (entry, tick, jid, now)).rowcount == 0:
        return False
    queue = moves.queue_of(job.payload)
    conn.execute(INSERT_JOB, (queue, moves.encode(job.payload), moves.back_position(conn, queue)))
    moves.register_queues(conn, (queue,))
    conn.execute(RECORD_LATEST, (entry, tick, jid, now))
    conn.execute(FORGET_OLD_TICKS, (entry, tick - CRON_TICK_MEMORY))
    return True


def _forgotten(tick: int, last_tick: int | None) -> bool:
    """True for a tick so much older than the latest enqueued one that its row may have been pruned:
    refusing it keeps "exactly once" even for a process whose clock runs far behind the others'."""
    return last_tick is not None and tick <= last_tick - CRON_TICK_MEMORY


def cron_state(conn: sqlite3.Connection, entries: Sequence[str]) -> dict[str, CronState]:
    """The ``cron_entries`` row of each name, or an empty state for names without one."""
    states = {name: CronState(name) for name in entries}
    if not states:
        return states
    marks = ", ".join("?" * len(states))
    rows = conn.execute(
        f"SELECT name, last_tick, last_jid, enqueued_at, paused FROM cron_entries WHERE name IN ({marks})",
        list(states),
    )
    for name, last_tick, last_jid, enqueued_at, paused in rows:
        tick = float(last_tick) if last_tick is not None else None
        states[name] = CronState(name, tick, last_jid, enqueued_at, bool(paused))
    return states


def pause(conn: sqlite3.Connection, entry: str, paused: bool) -> None:
    """Set the entry's paused flag, creating its row if needed."""
    conn.execute(SET_PAUSED, (entry, int(paused)))
