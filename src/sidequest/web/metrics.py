"""What the ``/metrics`` and ``/metrics/{class}`` pages show, built from :meth:`Admin.metrics`: totals
per class over a period (Sidekiq 8's 1 h to 72 h), a time chart of the busiest classes, and one class's
execution-time histogram. Pure functions over the metrics: no store access here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sidequest.job import METRIC_BUCKETS_MS, ClassMetrics

PERIODS: dict[str, int] = {"1h": 1, "2h": 2, "4h": 4, "8h": 8, "24h": 24, "48h": 48, "72h": 72}
"""The periods the pages offer (``?period=``), in hours, as Sidekiq 8's metrics page does."""

HISTOGRAM_PERIODS: dict[str, int] = {name: hours for name, hours in PERIODS.items() if hours <= 8}
"""Histograms are kept 8 hours (Sidekiq's own limit), so a class's page offers up to 8 h."""

TOP_CLASSES = 5
"""How many classes the time chart draws (the ones with the most execution time)."""


@dataclass(frozen=True, slots=True)
class ClassSummary:
    """One class over the period: runs, failures, total and average time of its successful runs."""

    name: str
    processed: int
    failed: int
    total_ms: float

    @property
    def succeeded(self) -> int:
        """Runs that did not fail (the ones the times are of)."""
        return self.processed - self.failed

    @property
    def average_ms(self) -> float:
        """Average time of a successful run; 0 when none succeeded."""
        return self.total_ms / self.succeeded if self.succeeded > 0 else 0.0


def summaries(items: Sequence[ClassMetrics], substring: str = "") -> list[ClassSummary]:
    """Each class's totals (names holding ``substring``, case-insensitive), most execution time first,
    then most runs, then by name."""
    totals: dict[str, list[float]] = {}
    needle = substring.lower()
    for item in items:
        if needle and needle not in item.name.lower():
            continue
        counters = totals.setdefault(item.name, [0, 0, 0.0])
        counters[0] += item.processed
        counters[1] += item.failed
        counters[2] += item.ms
    rows = [ClassSummary(name, int(p), int(f), ms) for name, (p, f, ms) in totals.items()]
    return sorted(rows, key=lambda row: (-row.total_ms, -row.processed, row.name))


def chart_step(hours: int) -> int:
    """Seconds per point of the time chart: a minute up to 8 hours, else 10 minutes (what Redis keeps
    beyond 8 hours, so every store draws the same chart)."""
    return 60 if hours <= 8 else 600


def time_chart(
    items: Sequence[ClassMetrics], classes: Sequence[str], now: float, hours: int
) -> dict[str, object]:
    """The chart's data over the whole period (so one busy minute is not stretched over the chart):
    every step's start (epoch seconds) and, per class, its execution seconds in each step (0 when idle)."""
    step = chart_step(hours)
    first = int((now - hours * 3600) // step) * step
    starts = list(range(first, int(now // step) * step + step, step))
    series = {name: [0.0] * len(starts) for name in classes}
    for item in items:
        position = (int(item.minute) // step * step - first) // step
        if item.name in series and 0 <= position < len(starts):
            series[item.name][position] += item.ms / 1000
    return {
        "x": starts,
        "series": [{"label": name, "values": [round(v, 3) for v in series[name]]} for name in classes],
    }


def histogram(items: Sequence[ClassMetrics], name: str) -> list[tuple[str, int]]:
    """One class's successful runs by duration over the period, as (bucket label, count), fastest
    first, in Sidekiq 7's buckets."""
    counts = [0] * len(METRIC_BUCKETS_MS)
    for item in items:
        if item.name == name:
            for position, count in enumerate(item.histogram[: len(counts)]):
                counts[position] += count
    return [(bucket_label(position), count) for position, count in enumerate(counts)]


def bucket_bounds() -> list[str]:
    """Each bucket's upper bound, short, for the histogram chart's axis (``'20 ms'``, ..., ``'more'``)."""
    return [_ms(bound) if bound != float("inf") else "more" for bound in METRIC_BUCKETS_MS]


def bucket_label(position: int) -> str:
    """``'< 20 ms'``, ``'20-30 ms'``, ..., ``'>= 335 s'``."""
    bound = METRIC_BUCKETS_MS[position]
    if position == 0:
        return f"< {_ms(bound)}"
    low = METRIC_BUCKETS_MS[position - 1]
    if bound == float("inf"):
        return f">= {_ms(low)}"
    return f"{_ms(low)} - {_ms(bound)}"


def _ms(value: float) -> str:
    return f"{value / 1000:g} s" if value >= 1000 else f"{value:g} ms"
