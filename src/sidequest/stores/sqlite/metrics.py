"""Per-class execution metrics in the SQLite store: one ``class_metrics`` row per (class, UTC minute),
added to by every heartbeat (inside its transaction, so a failed beat counts nothing) and read back by
the dashboard's ``/metrics`` pages. Minutes older than :data:`~sidequest.job.METRICS_RETENTION` are
deleted by the beats that record new ones."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from sidequest import serializer
from sidequest.job import METRIC_BUCKETS_MS, METRICS_RETENTION, ClassMetrics

EXISTING = "SELECT processed, failed, ms, histogram FROM class_metrics WHERE class = ? AND minute = ?"
WRITE = """
    INSERT OR REPLACE INTO class_metrics (class, minute, processed, failed, ms, histogram)
    VALUES (?, ?, ?, ?, ?, ?)
"""
READ = """
    SELECT class, minute, processed, failed, ms, histogram FROM class_metrics
    WHERE minute >= ? AND minute < ? AND minute > ?
    ORDER BY minute, class
"""


def record(conn: sqlite3.Connection, metrics: Sequence[ClassMetrics], now: float) -> None:
    """Add each item to its (class, minute) row, then drop the minutes past the retention."""
    if not metrics:
        return
    for item in metrics:
        minute = int(item.minute)
        row = conn.execute(EXISTING, (item.name, minute)).fetchone()
        total = item if row is None else item.plus(_item(item.name, minute, *row))
        conn.execute(WRITE, (item.name, minute, total.processed, total.failed, total.ms, _encode(total)))
    conn.execute("DELETE FROM class_metrics WHERE minute <= ?", (now - METRICS_RETENTION,))


def read(conn: sqlite3.Connection, since: float, until: float, now: float) -> list[ClassMetrics]:
    """Every (class, minute) row with ``since <= minute < until``, oldest minute first."""
    rows = conn.execute(READ, (since, until, now - METRICS_RETENTION)).fetchall()
    return [
        _item(name, minute, processed, failed, ms, text) for name, minute, processed, failed, ms, text in rows
    ]


def _encode(item: ClassMetrics) -> str:
    return serializer.dumps(list(item.histogram))


def _item(name: str, minute: int, processed: int, failed: int, ms: float, text: str) -> ClassMetrics:
    try:
        loaded = serializer.loads(text)
    except ValueError:
        loaded = []  # a histogram another tool garbled: the counts still show
    histogram = loaded if isinstance(loaded, list) else []
    counts = tuple(int(count) for count in histogram[: len(METRIC_BUCKETS_MS)] if isinstance(count, int))
    return ClassMetrics(name, float(minute), int(processed), int(failed), float(ms), counts)
