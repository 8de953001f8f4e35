"""Where a job lands when the SQLite store moves it: positions in a queue, the dead set's limits, and the
payload rewrites a move makes. Shared by the processing side (``sqlite.py``) and the admin side
(``sqlite_admin.py``); every function runs inside a transaction its caller opened.

Tables touched: ``jobs`` (position, score, state), ``queues``.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

from sidequest.job import Payload
from sidequest.retry import DEAD_MAX_JOBS, DEAD_TIMEOUT_SECONDS
from sidequest.stores import payloads
from sidequest.stores.ack_rides import Rider

# The shared payload helpers, re-exported: the SQLite modules read them as moves.decode and so on.
from sidequest.stores.payloads import decode as decode
from sidequest.stores.payloads import decode_list as decode_list
from sidequest.stores.payloads import encode as encode
from sidequest.stores.payloads import queue_of as queue_of
from sidequest.stores.payloads import try_encode as try_encode

log = logging.getLogger("sidequest")

UNWRITABLE = "StoreDataError"
"""``error_class`` of a stored job that sidequest can read but cannot write back (see :func:`bury`)."""

# A queue is an ordered run of positions: claim takes the lowest, push appends above the highest,
# requeue prepends below the lowest. min()/max() read one end of the jobs_ready index.
BACK_OF_QUEUE = "SELECT max(position) FROM jobs WHERE state = 'enqueued' AND queue = ?"
FRONT_OF_QUEUE = "SELECT min(position) FROM jobs WHERE state = 'enqueued' AND queue = ?"

REGISTER_QUEUE = "INSERT OR IGNORE INTO queues (name) VALUES (?)"

TRIM_DEAD_BY_AGE = "DELETE FROM jobs WHERE state = 'dead' AND score < ?"

# Walks the dead end of the jobs_by_score index past the newest DEAD_MAX_JOBS entries; the rest go.
TRIM_DEAD_BY_COUNT = """
    DELETE FROM jobs
    WHERE id IN (
        SELECT id FROM jobs
        WHERE state = 'dead' AND score IS NOT NULL
        ORDER BY score DESC, id DESC
        LIMIT -1 OFFSET ?
    )
"""


# Matches a job only while the claim that handed it out still holds it: same row, same claim, same
# owner, still running. Every finishing statement uses it.
HELD = "id = ? AND claims = ? AND owner = ? AND state = 'running'"

TO_DEAD = f"""
    UPDATE jobs
    SET state = 'dead', queue = ?, payload = coalesce(?, payload), score = ?,
        owner = NULL, claimed_at = NULL, position = NULL
    WHERE {HELD}
"""

# Run once per job, last job first, so the jobs end up at the front in the order given.
# A NULL payload keeps the stored one (requeue); rescue passes the payload with its orphan_count.
TO_FRONT = f"""
    UPDATE jobs
    SET state = 'enqueued', payload = coalesce(?, payload), owner = NULL, claimed_at = NULL,
        position = coalesce(
            (
                SELECT min(position) FROM jobs AS ahead
                WHERE ahead.state = 'enqueued' AND ahead.queue = jobs.queue
            ),
            0
        ) - 1
    WHERE {HELD}
"""


def back_position(conn: sqlite3.Connection, queue: str) -> int:
    """The first free position at the back of ``queue``: appending ``n`` jobs uses this and the next n-1."""
    last = conn.execute(BACK_OF_QUEUE, (queue,)).fetchone()[0]
    return 0 if last is None else int(last) + 1


def front_position(conn: sqlite3.Connection, queue: str) -> int:
    """The position just before the job that would run next in ``queue``."""
    first = conn.execute(FRONT_OF_QUEUE, (queue,)).fetchone()[0]
    return -1 if first is None else int(first) - 1


def register_queues(conn: sqlite3.Connection, names: Iterable[str]) -> None:
    """Add queue names to the list of known queues (the dashboard lists them even when empty)."""
    conn.executemany(REGISTER_QUEUE, ((name,) for name in names))


def trim_dead(conn: sqlite3.Connection, now: float) -> None:
    """Keep the dead set to Sidekiq's limits: nothing older than 180 days, at most the newest 10,000."""
    conn.execute(TRIM_DEAD_BY_AGE, (now - DEAD_TIMEOUT_SECONDS,))
    conn.execute(TRIM_DEAD_BY_COUNT, (DEAD_MAX_JOBS,))


# Matches the row in the state the caller read it in, inside the caller's transaction.
BURY = """
    UPDATE jobs
    SET state = 'dead', payload = ?, score = ?, owner = NULL, claimed_at = NULL, position = NULL
    WHERE id = ? AND state = ?
"""


def bury(
    conn: sqlite3.Connection,
    job_id: int,
    state: str,
    raw: str,
    payload: Payload,
    doing: str,
    now: float,
    failure: Payload | None = None,
) -> int:
    """Move a row whose payload reads but cannot be written back to the dead set, its text kept as it is.

    Without this the row would fail its whole pass (a promotion, a rescue) every time, and with it every
    other row of that pass. The failure fields are appended to the stored text, not re-encoded into it
    (a JSON reader keeps the last of two equal keys), so ``sidequest jobs dead`` shows why; ``failure``,
    the payload a failed run would have written, adds its error to the message. Returns 1 if the row
    was still in ``state``.
    """
    message = (
        f"sidequest could not write this job back while {doing}: its payload reads as JSON but cannot be "
        "written again (arguments nested deeper than 254 levels?), so it was moved to the dead set as "
        "stored. Flatten its arguments and enqueue it again; retrying it as it is cannot succeed."
    )
    if failure is not None and failure.get("error_class"):
        message += f" It had failed with {failure['error_class']}: {failure.get('error_message', '')}"
    fields = {"error_class": UNWRITABLE, "error_message": message, "failed_at": float(now)}
    dead = _append_fields(raw, payload, fields)
    moved = int(conn.execute(BURY, (dead, float(now), job_id, state)).rowcount)
    if moved:
        log.error(
            "job %s (class %s, queue %s, row %d) cannot be written back while %s; moved to the dead set "
            "as stored, the other jobs go on",
            payload.get("jid"),
            payload.get("class"),
            payload.get("queue"),
            job_id,
            doing,
        )
    return moved


def _append_fields(raw: str, payload: Payload, fields: dict[str, Any]) -> str:
    """``raw`` (a JSON object's text) with ``fields`` written after its last member, the rest untouched."""
    body = raw.rstrip()
    if not body.endswith("}"):  # cannot happen for text that decoded to an object; keep it as it is
        return raw
    added = ",".join(f"{encode([key])[1:-1]}:{encode([value])[1:-1]}" for key, value in fields.items())
    return f"{body[:-1]}{',' if payload else ''}{added}}}"


def with_enqueued_at(raw: str, now: float) -> str | Payload:
    """``raw`` with ``enqueued_at`` set to ``now``, every other field kept; malformed text unchanged.

    Returns the decoded payload instead of text when it cannot be written back (see :func:`bury`).
    ``now`` is written as a float on purpose: Sidekiq 8 readers take an integer timestamp as milliseconds.
    """
    payload = decode(raw)
    if payload is None:
        return raw
    written = try_encode({**payload, "enqueued_at": float(now)})
    return payload if written is None else written


def retried_now(payload: Payload, state: str, now: float) -> str | Payload:
    """A ``state`` entry's payload moved to its queue by a person ("Retry Now",
    :func:`sidequest.stores.payloads.retried_now`). Returns the payload, unchanged, instead of text
    when it cannot be written back."""
    written = try_encode(payloads.retried_now(payload, state, now))
    return payload if written is None else written


# Statements of the processing side (SQLiteStore): they move jobs between states.

INSERT_ENQUEUED = "INSERT INTO jobs (queue, state, payload, position) VALUES (?, 'enqueued', ?, ?)"
INSERT_SCHEDULED = "INSERT INTO jobs (queue, state, payload, score) VALUES (?, 'scheduled', ?, ?)"

# The subquery walks jobs_ready from the front (of a queue not paused); the UPDATE flips each row in
# the same statement, so two claimers serialized by the write lock can never take the same row.
CLAIM = """
    UPDATE jobs
    SET state = 'running', owner = ?, claimed_at = ?, claims = claims + 1
    WHERE id IN (
        SELECT id FROM jobs
        WHERE state = 'enqueued' AND queue = ?
          AND NOT EXISTS (SELECT 1 FROM paused_queues WHERE paused_queues.name = jobs.queue)
        ORDER BY position
        LIMIT ?
    )
    RETURNING id, claims, position, payload
"""

# The tokens are a JSON array of [id, claims] pairs: one statement for the whole batch.
ACK = """
    DELETE FROM jobs
    WHERE owner = ? AND state = 'running'
      AND id IN (
        SELECT jobs.id
        FROM json_each(?) AS token
        JOIN jobs ON jobs.id = json_extract(token.value, '$[0]')
                 AND jobs.claims = json_extract(token.value, '$[1]')
      )
"""

TO_RETRY = f"""
    UPDATE jobs
    SET state = 'retry', queue = ?, payload = ?, score = ?, owner = NULL, claimed_at = NULL, position = NULL
    WHERE {HELD}
"""


def ack_riders(conn: sqlite3.Connection, riders: list[Rider]) -> Iterator[int]:
    """Delete the riders' rows still held by their owners (one :data:`ACK` per owner); yields counts."""
    tokens: dict[str, list[list[int]]] = {}
    for rider in riders:
        for job_id, claims, owner in zip(rider.ids, rider.claims, rider.owners, strict=True):
            tokens.setdefault(owner, []).append([job_id, claims])
    for owner, pairs in tokens.items():
        yield conn.execute(ACK, (owner, encode(pairs))).rowcount
