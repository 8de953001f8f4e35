"""Per-class execution metrics in the PostgreSQL store: one ``class_metrics`` row per (class, UTC
minute), added to by every heartbeat in its transaction (so a failed beat counts nothing; concurrent
beats of several processes add up, the upsert locks the row) and read back by the dashboard's
``/metrics`` pages. Minutes older than :data:`~sidequest.job.METRICS_RETENTION` are deleted by the beats
that record new ones."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from sidequest.job import METRIC_BUCKETS_MS, METRICS_RETENTION, ClassMetrics

# The histograms add up element by element; a missing element (an empty histogram) counts as 0.
UPSERT = """
    INSERT INTO {s}.class_metrics AS m (class, minute, processed, failed, ms, histogram)
    VALUES (%(name)s, %(minute)s, %(processed)s, %(failed)s, %(ms)s, %(histogram)s::bigint[])
    ON CONFLICT (class, minute) DO UPDATE SET
        processed = m.processed + excluded.processed,
        failed = m.failed + excluded.failed,
        ms = m.ms + excluded.ms,
        histogram = ARRAY(
            SELECT coalesce(x.a, 0) + coalesce(x.b, 0)
            FROM unnest(m.histogram, excluded.histogram) WITH ORDINALITY AS x(a, b, i)
            ORDER BY x.i
        )
"""
PRUNE = "DELETE FROM {s}.class_metrics WHERE minute <= %(oldest)s"
READ = """
    SELECT class, minute, processed, failed, ms, histogram FROM {s}.class_metrics
    WHERE minute >= %(since)s AND minute < %(until)s AND minute > %(oldest)s
    ORDER BY minute, class
"""


def record(conn: psycopg.Connection[Any], s: str, metrics: Sequence[ClassMetrics], now: float) -> None:
    """Add each item to its (class, minute) row, then drop the minutes past the retention."""
    if not metrics:
        return
    # Sorted, so two processes beating at once lock the rows in the same order (no deadlock).
    for item in sorted(metrics, key=lambda item: (item.name, item.minute)):
        conn.execute(
            UPSERT.format(s=s),
            {
                "name": item.name,
                "minute": int(item.minute),
                "processed": item.processed,
                "failed": item.failed,
                "ms": item.ms,
                "histogram": list(item.histogram),
            },
        )
    conn.execute(PRUNE.format(s=s), {"oldest": now - METRICS_RETENTION})


def read(conn: psycopg.Connection[Any], s: str, since: float, until: float, now: float) -> list[ClassMetrics]:
    """Every (class, minute) row with ``since <= minute < until``, oldest minute first."""
    rows = conn.execute(
        READ.format(s=s), {"since": since, "until": until, "oldest": now - METRICS_RETENTION}
    ).fetchall()
    return [
        ClassMetrics(
            str(name),
            float(minute),
            int(processed),
            int(failed),
            float(ms),
            tuple(int(count) for count in (histogram or [])[: len(METRIC_BUCKETS_MS)]),
        )
        for name, minute, processed, failed, ms, histogram in rows
    ]
