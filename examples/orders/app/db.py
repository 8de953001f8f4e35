"""The shop's own database: an ``orders`` table in a SQLite file, separate from the job store.

The workers find the file through ``ORDERS_DB`` (default ``orders.db`` in the working directory), so the
demo and every ``sidequest run`` process it starts open the same file. Every function opens a short
connection of its own: sidequest runs jobs on several threads, and SQLite connections are not shared
between threads.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ORDERS_DB_ENV = "ORDERS_DB"

PENDING = "pending"
CONFIRMED = "confirmed"
CANCELLED = "cancelled"

SETTLE_WINDOW = 6 * 60 * 60
"""The recipe's six hours: a sweep leaves alone orders updated more recently than this, because the
jobs a recent change started may still be running."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    id             INTEGER PRIMARY KEY,
    customer_email TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    total_cents    INTEGER NOT NULL,
    updated_at     REAL    NOT NULL,
    notified_at    REAL
);
CREATE INDEX IF NOT EXISTS orders_to_notify ON orders (status, id) WHERE notified_at IS NULL;
CREATE TABLE IF NOT EXISTS reports (
    jid           TEXT PRIMARY KEY,  -- the job that wrote it: a re-run writes nothing new
    scheduled_for REAL NOT NULL,
    ran_at        REAL NOT NULL,
    notified      INTEGER NOT NULL,
    confirmed     INTEGER NOT NULL
);
"""


class OrderNotFound(LookupError):
    """No order has this id (it was deleted after its job was enqueued)."""


@dataclass(frozen=True, slots=True)
class Order:
    """One row of ``orders``."""

    id: int
    customer_email: str
    status: str
    total_cents: int
    updated_at: float
    notified_at: float | None


@dataclass(frozen=True, slots=True)
class SeedSummary:
    """What :func:`seed` wrote, by the group each order falls in."""

    total: int
    eligible: int
    recent: int
    already_notified: int
    not_confirmed: int


def orders_path() -> Path:
    """The orders database file: ``$ORDERS_DB``, else ``orders.db`` in the working directory."""
    return Path(os.environ.get(ORDERS_DB_ENV) or "orders.db").resolve()


@contextmanager
def connect(path: Path | None = None) -> Iterator[sqlite3.Connection]:
    """A connection in autocommit mode (WAL, 10 s busy timeout), closed at the end of the block."""
    conn = sqlite3.connect(path or orders_path(), timeout=10.0, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL: no fsync per commit
        yield conn
    finally:
        conn.close()


def create(path: Path) -> None:
    """Create the tables in a new database file."""
    with connect(path) as conn:
        conn.executescript(SCHEMA)


def seed(path: Path, count: int, rng: random.Random, now: float) -> SeedSummary:
    """Insert ``count`` orders placed over the last 30 days: most confirmed and not yet notified, some
    already notified, some pending or cancelled, and some confirmed less than six hours ago."""
    rows = []
    groups = {"eligible": 0, "recent": 0, "notified": 0, "other": 0}
    for order_id in range(1, count + 1):
        roll = rng.random()
        updated_at = now - rng.uniform(SETTLE_WINDOW + 60, 30 * 24 * 3600)
        notified_at: float | None = None
        status = CONFIRMED
        if roll < 0.08:
            status, group = rng.choice((PENDING, CANCELLED)), "other"
        elif roll < 0.18:
            notified_at, group = updated_at + rng.uniform(1, 60), "notified"
        elif roll < 0.23:
            updated_at, group = now - rng.uniform(60, SETTLE_WINDOW - 60), "recent"
        else:
            group = "eligible"
        groups[group] += 1
        email = f"customer{order_id}@example.com"
        rows.append((order_id, email, status, rng.randrange(500, 50_000), updated_at, notified_at))
    with connect(path) as conn:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?)", rows)
        conn.execute("COMMIT")
    return SeedSummary(count, groups["eligible"], groups["recent"], groups["notified"], groups["other"])


def ids_to_notify(settled_before: float, batch_size: int = 1000) -> Iterator[list[int]]:
    """Ids of confirmed, un-notified orders last updated before ``settled_before``, ``batch_size`` at a
    time (Rails' ``find_in_batches``: each batch is one query that resumes after the last id)."""
    last_id = 0
    while True:
        with connect() as conn:
            rows = conn.execute(
                "SELECT id FROM orders WHERE status = ? AND notified_at IS NULL AND updated_at < ? "
                "AND id > ? ORDER BY id LIMIT ?",
                (CONFIRMED, settled_before, last_id, batch_size),
            ).fetchall()
        if not rows:
            return
        ids = [row[0] for row in rows]
        yield ids
        last_id = ids[-1]


def find(order_id: int) -> Order:
    """The order with this id; :class:`OrderNotFound` if there is none."""
    with connect() as conn:
        row = conn.execute(
            "SELECT id, customer_email, status, total_cents, updated_at, notified_at "
            "FROM orders WHERE id = ?",
            (order_id,),
        ).fetchone()
    if row is None:
        raise OrderNotFound(f"no order with id {order_id}")
    return Order(*row)


def mark_notified(order_id: int, now: float | None = None) -> bool:
    """Set ``notified_at`` unless it is already set, so running this twice changes nothing the second
    time. True when this call set it."""
    at = time.time() if now is None else now
    with connect() as conn:
        cursor = conn.execute(
            "UPDATE orders SET notified_at = ?, updated_at = ? WHERE id = ? AND notified_at IS NULL",
            (at, at, order_id),
        )
    return cursor.rowcount == 1


def count_to_notify(settled_before: float) -> int:
    """How many orders a sweep with this cutoff would enqueue (see :func:`ids_to_notify`)."""
    with connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM orders WHERE status = ? AND notified_at IS NULL AND updated_at < ?",
            (CONFIRMED, settled_before),
        ).fetchone()
    return int(row[0])


def count_notified(since: float = 0.0) -> tuple[int, int]:
    """(notified, confirmed): confirmed orders whose ``notified_at`` is at or after ``since``, and all
    confirmed orders."""
    with connect() as conn:
        notified, confirmed = conn.execute(
            "SELECT count(*) FILTER (WHERE notified_at >= ?), count(*) FROM orders WHERE status = ?",
            (since, CONFIRMED),
        ).fetchone()
    return int(notified), int(confirmed)


def save_report(jid: str, scheduled_for: float, ran_at: float) -> bool:
    """Record a progress report once per job id. True when this call wrote it."""
    notified, confirmed = count_notified()
    with connect() as conn:
        cursor = conn.execute(
            "INSERT OR IGNORE INTO reports VALUES (?, ?, ?, ?, ?)",
            (jid, scheduled_for, ran_at, notified, confirmed),
        )
    return cursor.rowcount == 1
