"""``sidequest run --metrics-port``: one process's Prometheus metrics, read at scrape time.

Each process has its own :class:`~prometheus_client.CollectorRegistry` (never the global default one),
holding :class:`ProcessMetrics` and prometheus-client's process and platform collectors. The job counts
come from a :class:`~sidequest.runtime.job_stats.JobStats` that the tracker, acker and fetcher fill
only once :func:`instrument` attached it; the gauges (busy threads, held jobs) are read from the
tracker when Prometheus scrapes. No prometheus call runs per job.

Metrics (labels ``worker`` = the job's class as the dashboard shows it, ``queue``):

* ``sidequest_jobs_processed_total``, ``sidequest_jobs_failed_total``: performs that returned / raised;
* ``sidequest_jobs_retried_total``, ``sidequest_jobs_dead_total``: failures the store recorded in
  the retry set / the dead set;
* ``sidequest_job_duration_seconds``: histogram of execution time (failed runs included);
* ``sidequest_busy_threads``, ``sidequest_concurrency``, ``sidequest_held_jobs``;
* ``sidequest_fetch_duration_seconds``: claims that returned jobs (a claim that waited for work on
  empty queues counts its wait); ``sidequest_ack_duration_seconds``: one ack per batch of finished jobs;
* ``sidequest_process_info`` (identity, version, tag, queues) and prometheus-client's ``process_*``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from sidequest import __version__
from sidequest.runtime.job_stats import Histogram, JobStats

if TYPE_CHECKING:
    from sidequest.runtime.launcher import Launcher

LABELS = ["worker", "queue"]


def instrument(launcher: Launcher) -> JobStats:
    """Attach a :class:`JobStats` to ``launcher``'s tracker, acker and fetcher (from now on they count
    every job) and return it; the same one if it was attached already."""
    stats = launcher.tracker.stats or JobStats()
    launcher.tracker.stats = launcher.acker.stats = launcher.fetcher.stats = stats
    return stats


def buckets(histogram: Histogram) -> list[tuple[str, float]]:
    """Prometheus's cumulative ``(le, count)`` pairs of ``histogram``, ending with ``+Inf``."""
    out: list[tuple[str, float]] = []
    running = 0
    for bound, count in zip(histogram.bounds, histogram.counts, strict=True):
        running += count
        out.append(("+Inf" if bound == float("inf") else repr(bound), float(running)))
    return out


class ProcessMetrics(Collector):
    """A prometheus-client collector over one launcher: counts from its :class:`JobStats`, gauges
    from its tracker, read at each scrape."""

    def __init__(self, launcher: Launcher, stats: JobStats) -> None:
        self.launcher = launcher
        self.stats = stats

    def collect(self) -> Iterator[Metric]:
        """The metrics as they are now (see the module's docstring)."""
        launcher = self.launcher
        snapshot = self.stats.snapshot()
        counters = {
            name: CounterMetricFamily(f"sidequest_jobs_{name}", help_text, labels=LABELS)
            for name, help_text in (
                ("processed", "Jobs performed (returned or raised) by this process."),
                ("failed", "Jobs whose perform raised in this process."),
                ("retried", "Failed jobs this process recorded in the retry set."),
                ("dead", "Jobs this process recorded in the dead set."),
            )
        }
        durations = HistogramMetricFamily(
            "sidequest_job_duration_seconds",
            "Execution time of perform (failed runs included).",
            labels=LABELS,
        )
        for (worker, queue), counts in sorted(snapshot.jobs.items()):
            labels = [worker, queue]
            counters["processed"].add_metric(labels, counts.processed)
            counters["failed"].add_metric(labels, counts.failed)
            counters["retried"].add_metric(labels, counts.retried)
            counters["dead"].add_metric(labels, counts.dead)
            durations.add_metric(labels, buckets(counts.runs), counts.runs.total)
        yield from counters.values()
        yield durations
        for name, help_text, histogram in (
            (
                "fetch",
                "Time of a claim that returned jobs (waiting on empty queues included).",
                snapshot.fetch,
            ),
            ("ack", "Time of one ack of a batch of finished jobs.", snapshot.ack),
        ):
            family = HistogramMetricFamily(f"sidequest_{name}_duration_seconds", help_text)
            family.add_metric([], buckets(histogram), histogram.total)
            yield family
        tracker = launcher.tracker
        yield GaugeMetricFamily("sidequest_busy_threads", "Jobs being performed now.", len(tracker.running()))
        yield GaugeMetricFamily(
            "sidequest_concurrency", "Jobs this process performs at once (-c).", launcher.config.concurrency
        )
        yield GaugeMetricFamily(
            "sidequest_held_jobs",
            "Jobs claimed whose outcome the store has not recorded yet.",
            len(tracker.held()),
        )
        info = InfoMetricFamily("sidequest_process", "This sidequest process.")
        info.add_metric(
            [],
            {
                "identity": launcher.identity,
                "version": __version__,
                "tag": launcher.config.tag,
                "queues": ",".join(launcher.config.queue_names),
            },
        )
        yield info


def process_registry(launcher: Launcher) -> CollectorRegistry:
    """A registry of its own for ``launcher``: :class:`ProcessMetrics` (with :func:`instrument`) and
    prometheus-client's process and platform collectors."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ProcessMetrics(launcher, instrument(launcher)))
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry
