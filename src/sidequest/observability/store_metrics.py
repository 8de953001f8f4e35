"""Store-wide Prometheus gauges, served by the dashboard at ``/prometheus``: what every process and
queue of one store look like now, read from the store at each scrape (one :meth:`Admin.overview`).

* ``sidequest_queue_size{queue}``, ``sidequest_queue_latency_seconds{queue}`` (age of the oldest job),
  ``sidequest_queue_paused{queue}``;
* ``sidequest_enqueued_jobs``, ``sidequest_scheduled_jobs``, ``sidequest_retry_jobs``,
  ``sidequest_dead_jobs``;
* ``sidequest_processes``, ``sidequest_busy_jobs``, ``sidequest_process_concurrency`` (threads of
  every live process);
* ``sidequest_store_jobs_processed_total``, ``sidequest_store_jobs_failed_total``: the store's own
  totals (the dashboard's "Processed" and "Failed").
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from sidequest.admin import Admin


class StoreMetrics(Collector):
    """A prometheus-client collector over one store, read at each scrape."""

    def __init__(self, admin: Admin) -> None:
        self.admin = admin

    def collect(self) -> Iterator[Metric]:
        """The gauges and totals as the store has them now (see the module's docstring)."""
        overview = self.admin.overview()
        size = GaugeMetricFamily("sidequest_queue_size", "Jobs waiting in the queue.", labels=["queue"])
        latency = GaugeMetricFamily(
            "sidequest_queue_latency_seconds",
            "Seconds since the oldest job of the queue was enqueued (0 when empty).",
            labels=["queue"],
        )
        paused = GaugeMetricFamily("sidequest_queue_paused", "1 when the queue is paused.", labels=["queue"])
        for queue in overview.queues:
            size.add_metric([queue.name], queue.size)
            latency.add_metric([queue.name], queue.latency)
            paused.add_metric([queue.name], 1 if queue.paused else 0)
        yield from (size, latency, paused)
        counts = overview.counts
        for name, help_text, value in (
            ("enqueued", "Jobs waiting in every queue.", counts.enqueued),
            ("scheduled", "Jobs in the scheduled set.", counts.scheduled),
            ("retry", "Jobs in the retry set.", counts.retry),
            ("dead", "Jobs in the dead set.", counts.dead),
        ):
            yield GaugeMetricFamily(f"sidequest_{name}_jobs", help_text, value)
        yield GaugeMetricFamily("sidequest_processes", "Live sidequest processes.", len(overview.processes))
        yield GaugeMetricFamily(
            "sidequest_busy_jobs", "Jobs running now in every process.", len(overview.busy)
        )
        yield GaugeMetricFamily(
            "sidequest_process_concurrency",
            "Threads of every live process (busy / this is the utilisation).",
            sum(process.concurrency for process in overview.processes),
        )
        yield CounterMetricFamily(
            "sidequest_store_jobs_processed", "Jobs processed, as the store counts them.", counts.processed
        )
        yield CounterMetricFamily(
            "sidequest_store_jobs_failed", "Jobs failed, as the store counts them.", counts.failed
        )


def exposition(admin: Admin) -> bytes:
    """The store's metrics in Prometheus's text format (a registry of its own per call)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreMetrics(admin))
    return generate_latest(registry)
