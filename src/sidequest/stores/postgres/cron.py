"""The PostgreSQL store's periodic (cron) jobs. Recording a tick and inserting its job happen in one
transaction: the ``(entry, tick)`` primary key of ``cron_ticks`` lets exactly one of any number of racing
processes insert the job (``ON CONFLICT DO NOTHING`` waits for a racing insert's commit, then skips).

Tables touched: ``cron_ticks`` (pruned after ``CRON_TICK_MEMORY``), ``cron_entries``, ``jobs``, ``queues``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from sidequest.job import NewJob
from sidequest.stores.base import CRON_TICK_MEMORY, CronState
from sidequest.stores.postgres import payloads

# Locks the entry's row (creating it first), so a pause and a tick offer are ordered.
ENTRY = """
    INSERT INTO {s}.cron_entries (name) VALUES (%(entry)s) ON CONFLICT (name) DO NOTHING
"""
LOCK_ENTRY = "SELECT paused, last_tick FROM {s}.cron_entries WHERE name = %(entry)s FOR UPDATE"

RECORD_TICK = """
    INSERT INTO {s}.cron_ticks (entry, tick, jid, enqueued_at) VALUES (%(entry)s, %(tick)s, %(jid)s, %(now)s)
    ON CONFLICT DO NOTHING
"""

INSERT_JOB = """
    WITH registered AS (INSERT INTO {s}.queues (name) VALUES (%(queue)s) ON CONFLICT DO NOTHING)
    INSERT INTO {s}.jobs (queue, state, payload, position)
    VALUES (%(queue)s, 'enqueued', %(payload)s, nextval('{s}.back_positions'))
"""

# An older tick enqueued late (a process catching up) never hides a later one as "the latest".
RECORD_LATEST = """
    UPDATE {s}.cron_entries SET last_tick = %(tick)s, last_jid = %(jid)s, enqueued_at = %(now)s
    WHERE name = %(entry)s AND (last_tick IS NULL OR last_tick < %(tick)s)
"""

FORGET_OLD_TICKS = "DELETE FROM {s}.cron_ticks WHERE entry = %(entry)s AND tick < %(before)s"

SET_PAUSED = """
    INSERT INTO {s}.cron_entries (name, paused) VALUES (%(entry)s, %(paused)s)
    ON CONFLICT (name) DO UPDATE SET paused = excluded.paused
"""

STATES = """
    SELECT name, last_tick, last_jid, enqueued_at, paused FROM {s}.cron_entries WHERE name = ANY(%(names)s)
"""


def enqueue_tick(
    conn: psycopg.Connection[Any], s: str, entry: str, tick: int, job: NewJob, now: float
) -> bool:
    """Inside the caller's transaction: record ``(entry, tick)`` and insert ``job``; False, writing
    nothing, when the entry is paused, the tick is taken, or it is too old to be remembered."""
    params: dict[str, Any] = {"entry": entry, "tick": tick, "now": now}
    conn.execute(ENTRY.format(s=s), params)
    row = conn.execute(LOCK_ENTRY.format(s=s), params).fetchone()
    if row is not None and (row[0] or (row[1] is not None and tick <= row[1] - CRON_TICK_MEMORY)):
        return False
    params["jid"] = str(job.payload.get("jid", ""))
    if conn.execute(RECORD_TICK.format(s=s), params).rowcount == 0:
        return False
    params["queue"] = payloads.queue_of(job.payload)
    params["payload"] = payloads.encode(job.payload)
    conn.execute(INSERT_JOB.format(s=s), params)
    conn.execute(RECORD_LATEST.format(s=s), params)
    conn.execute(FORGET_OLD_TICKS.format(s=s), {"entry": entry, "before": tick - CRON_TICK_MEMORY})
    return True


def cron_state(conn: psycopg.Connection[Any], s: str, entries: Sequence[str]) -> dict[str, CronState]:
    """The ``cron_entries`` row of each name, or an empty state for names without one."""
    states = {name: CronState(name) for name in entries}
    if not states:
        return states
    for name, last_tick, last_jid, enqueued_at, paused in conn.execute(
        STATES.format(s=s), {"names": list(states)}
    ):
        tick = float(last_tick) if last_tick is not None else None
        states[name] = CronState(name, tick, last_jid, enqueued_at, bool(paused))
    return states


def pause(conn: psycopg.Connection[Any], s: str, entry: str, paused: bool) -> None:
    """Set the entry's paused flag, creating its row if needed."""
    conn.execute(SET_PAUSED.format(s=s), {"entry": entry, "paused": paused})
