"""A stand-in for an outside email provider that fails some of the time, as real ones do.

It keeps its own SQLite file (``EMAIL_DB``, default ``emails.db``): ``sent`` holds every message it
actually sent, ``attempts`` every call and how it ended. Two kinds of failure, both on a first attempt
only, for about one order in ten (chosen by a hash of the order id, so every run fails the same ones):

* ``EmailRefused``: the provider refused the connection; nothing was sent.
* ``EmailTimeout``: the provider sent the message but its answer never came back. The caller cannot
  tell this from a refusal, so it retries - and the retry must not send the message again.

What makes retrying safe is the idempotency key each delivery carries (``order_confirmation:42``): a
key already sent is answered "already sent" without sending. Real providers offer the same thing
(an ``Idempotency-Key`` header, a message id); use it whenever a job calls one.

A retried attempt always succeeds, so the demo's slowest job waits for exactly one retry.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
import zlib
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from app.db import Order, connect

EMAIL_DB_ENV = "EMAIL_DB"

REFUSE_PER_MILLE = 80
"""First attempts refused, per thousand orders."""
TIMEOUT_PER_MILLE = 20
"""First attempts that send but time out, per thousand orders."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS sent (
    id       INTEGER PRIMARY KEY,
    key      TEXT NOT NULL,  -- deliberately not UNIQUE: the demo checks that no key was sent twice
    template TEXT NOT NULL,
    order_id INTEGER NOT NULL,
    address  TEXT NOT NULL,
    sent_at  REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sent_by_key ON sent (key);
CREATE TABLE IF NOT EXISTS attempts (
    id      INTEGER PRIMARY KEY,
    key     TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('sent', 'already_sent', 'refused', 'timeout')),
    at      REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_by_key ON attempts (key);
"""

Outcome = Literal["sent", "already_sent", "refused", "timeout"]


class EmailServiceError(Exception):
    """The provider failed; the message may or may not have been sent."""


class EmailRefused(EmailServiceError):
    """Connection refused: nothing was sent."""


class EmailTimeout(EmailServiceError):
    """No answer in time (the message was in fact sent)."""


@dataclass(frozen=True, slots=True)
class EmailStats:
    """Totals over the provider's records."""

    sent: int
    keys_sent_twice: int
    already_sent: int
    refused: int
    timeouts: int


def email_path() -> Path:
    """The provider's database file: ``$EMAIL_DB``, else ``emails.db`` in the working directory."""
    return Path(os.environ.get(EMAIL_DB_ENV) or "emails.db").resolve()


def _connect(path: Path | None = None) -> AbstractContextManager[sqlite3.Connection]:
    return connect(path or email_path())


def create(path: Path) -> None:
    """Create the provider's tables in a new database file."""
    with _connect(path) as conn:
        conn.executescript(SCHEMA)


def planned_failure(order_id: int, attempt: int) -> Outcome | None:
    """How attempt number ``attempt`` (1-based) for this order fails, or None when it goes through."""
    if attempt > 1:
        return None
    bucket = zlib.crc32(f"order:{order_id}".encode()) % 1000
    if bucket < REFUSE_PER_MILLE:
        return "refused"
    if bucket < REFUSE_PER_MILLE + TIMEOUT_PER_MILLE:
        return "timeout"
    return None


def deliver(template: str, order: Order) -> bool:
    """Send ``template`` to the order's customer, at most once per (template, order).

    Returns True when this call sent it, False when it had been sent before. Raises
    :class:`EmailRefused` or :class:`EmailTimeout` when the provider fails.
    """
    key = f"{template}:{order.id}"
    time.sleep(random.uniform(0.001, 0.004))  # the round trip to the provider
    with _connect() as conn:
        # One write transaction per call: two concurrent calls for one key cannot both send.
        conn.execute("BEGIN IMMEDIATE")
        try:
            attempt = 1 + conn.execute("SELECT count(*) FROM attempts WHERE key = ?", (key,)).fetchone()[0]
            outcome = planned_failure(order.id, attempt)
            if outcome != "refused":
                already = conn.execute("SELECT 1 FROM sent WHERE key = ? LIMIT 1", (key,)).fetchone()
                if already:
                    outcome = "already_sent"
                else:
                    conn.execute(
                        "INSERT INTO sent (key, template, order_id, address, sent_at) VALUES (?, ?, ?, ?, ?)",
                        (key, template, order.id, order.customer_email, time.time()),
                    )
            record = (key, outcome or "sent", time.time())
            conn.execute("INSERT INTO attempts (key, outcome, at) VALUES (?, ?, ?)", record)
            conn.execute("COMMIT")
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
    if outcome == "refused":
        raise EmailRefused(f"{key}: connection refused by the email provider")
    if outcome == "timeout":
        raise EmailTimeout(f"{key}: the email provider did not answer within 5 s")
    return outcome != "already_sent"


def stats(path: Path | None = None) -> EmailStats:
    """What the provider sent and how the attempts ended."""
    with _connect(path) as conn:
        sent = conn.execute("SELECT count(*) FROM sent").fetchone()[0]
        twice = conn.execute(
            "SELECT count(*) FROM (SELECT key FROM sent GROUP BY key HAVING count(*) > 1)"
        ).fetchone()[0]
        outcomes = dict(conn.execute("SELECT outcome, count(*) FROM attempts GROUP BY outcome").fetchall())
    return EmailStats(
        sent=sent,
        keys_sent_twice=twice,
        already_sent=outcomes.get("already_sent", 0),
        refused=outcomes.get("refused", 0),
        timeouts=outcomes.get("timeout", 0),
    )
