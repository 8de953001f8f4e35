"""The dashboard's ``/prometheus``: store-wide gauges for Prometheus, the same on every store: queue
sizes and latencies, the scheduled, retry and dead sets, live processes, and the store's totals."""

from __future__ import annotations

import time

import httpx
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.routing import Mount

from sidequest.client import Client
from sidequest.registry import WorkerRegistry
from sidequest.runtime import Launcher, ProcessConfig
from sidequest.stores.base import Store
from sidequest.web import create_app
from testapp.workers import ActionWorker
from web.harness import DashboardServer


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_the_dashboard_serves_store_wide_gauges_on_every_store(store: Store) -> None:
    client = Client(store)
    client.enqueue(ActionWorker, ["ok", "done"])
    client.enqueue(ActionWorker, ["fail", "retried"])
    client.enqueue(ActionWorker, ["fail", "dead"], options={"retry": 0})
    assert Launcher(store, WorkerRegistry.of(ActionWorker), ProcessConfig(concurrency=2)).drain(timeout=30)
    for key in ("a", "b", "c"):
        client.enqueue(ActionWorker, ["ok", key], options={"queue": "mail"})
    client.enqueue(ActionWorker, ["ok", "later"], at=time.time() + 3600)
    time.sleep(1.1)  # the oldest mail job is now over a second old

    with DashboardServer(create_app(store=store)) as server:
        response = httpx.get(f"{server.url}/prometheus")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    found = samples(response.text)
    assert found[("sidequest_queue_size", (("queue", "mail"),))] == 3
    assert found[("sidequest_queue_latency_seconds", (("queue", "mail"),))] >= 1.0
    assert found[("sidequest_queue_paused", (("queue", "mail"),))] == 0
    assert found[("sidequest_enqueued_jobs", ())] == 3
    assert found[("sidequest_scheduled_jobs", ())] == 1
    assert found[("sidequest_retry_jobs", ())] == 1
    assert found[("sidequest_dead_jobs", ())] == 1
    assert found[("sidequest_processes", ())] == 0  # the drained process left the process list
    assert found[("sidequest_busy_jobs", ())] == 0
    assert found[("sidequest_store_jobs_processed_total", ())] == 3
    assert found[("sidequest_store_jobs_failed_total", ())] == 2


def test_the_prometheus_page_asks_the_dashboards_own_authorization(store: Store) -> None:
    app = create_app(
        store=store, authorize=lambda request, action: request.headers.get("x-token") == "s3cret"
    )
    with DashboardServer(app) as server:
        assert httpx.get(f"{server.url}/prometheus").status_code == 403
        assert httpx.get(f"{server.url}/prometheus", headers={"x-token": "s3cret"}).status_code == 200


def test_the_prometheus_page_of_a_dashboard_mounted_under_a_prefix(sqlite_url: str) -> None:
    client = Client(sqlite_url)
    client.enqueue(ActionWorker, ["ok", "waiting"], options={"queue": "mail"})
    client.close()
    host = Starlette(routes=[Mount("/jobs", app=create_app(url=sqlite_url))])
    with DashboardServer(host) as server:
        response = httpx.get(f"{server.url}/jobs/prometheus")
    assert response.status_code == 200
    assert samples(response.text)[("sidequest_queue_size", (("queue", "mail"),))] == 1
