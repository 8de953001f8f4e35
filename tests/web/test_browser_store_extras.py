"""What the dashboard shows and does with the stores' extras, in a real headless Chromium beside a real
``sidequest run``, on every store: pausing a queue (the process stops taking it, then takes it again),
the per-class metrics of a drain, and the store panel's server facts.

One browser for the module; each test gets a fresh context whose every request is watched.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from processes import SidequestProcess, runs, wait_for
from sidequest.client import Client
from sidequest.stores.base import Store
from testapp.workers import ActionWorker, NoopWorker
from web.harness import DashboardServer, keep_screenshots, watched_page

ACTION = "testapp.workers.ActionWorker"
NOOP = "testapp.workers.NoopWorker"
PANEL_FACTS = {
    "SQLiteStore": ["database size", "WAL size"],
    "RedisStore": ["version", "uptime (days)", "connected clients", "used memory", "peak memory"],
    "PostgresStore": ["table size", "index size", "dead tuples", "oldest open transaction"],
}


@pytest.fixture
def process(store_url: str, opened: Store, tmp_path: Path) -> Iterator[SidequestProcess]:
    """A real ``sidequest run`` on the mail and default queues, recording every job it performs."""
    proc = SidequestProcess(
        store_url, tmp_path, ["-c", "3", "-q", "mail", "-q", "default"], tmp_path / "record.txt"
    )
    wait_for(lambda: len(opened.processes()) == 1, 30, "the process to beat")
    yield proc
    if proc.process.poll() is None:
        assert proc.terminate() == 0


def _submit(page: Any, selector: str) -> None:
    """Click a form's button (accepting its confirmation) and wait for the page the POST redirects to."""
    with page.expect_navigation():
        page.click(selector)


def test_pausing_a_queue_from_the_dashboard_stops_the_process_taking_it_until_resumed(
    browser: Any, dashboard: DashboardServer, opened: Store, process: SidequestProcess, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    client = Client(opened)
    client.enqueue(ActionWorker, ["ok", "before"], options={"queue": "mail"})
    wait_for(lambda: runs(record)["before"] == 1, 30, "the first mail job to run")
    with watched_page(browser) as (page, watch):
        page.goto(dashboard.url + "/queues")
        _submit(page, '#queues tr[data-queue="mail"] button:has-text("Pause")')
        assert "Paused queue mail" in page.inner_text("body")
        assert "paused" in page.inner_text('#queues tr[data-queue="mail"]')
        assert [queue.paused for queue in opened.queues() if queue.name == "mail"] == [True]

        client.enqueue(ActionWorker, ["ok", "while-paused"], options={"queue": "mail"})
        client.enqueue(ActionWorker, ["ok", "default-meanwhile"])
        wait_for(lambda: runs(record)["default-meanwhile"] == 1, 30, "the default queue to be served")
        time.sleep(1.5)  # several claim rounds of the live process
        assert runs(record)["while-paused"] == 0
        page.goto(dashboard.url + "/queues")
        assert page.inner_text('#queues tr[data-queue="mail"] td:nth-child(2)') == "1"
        page.screenshot(path=str(tmp_path / "queues-paused.png"), full_page=True)

        _submit(page, '#queues tr[data-queue="mail"] button:has-text("Resume")')
        assert "Resumed queue mail" in page.inner_text("body")
        wait_for(lambda: runs(record)["while-paused"] == 1, 30, "the mail job to run after the resume")
        assert [queue.paused for queue in opened.queues() if queue.name == "mail"] == [False]
        assert [d[1] for d in watch.dialogs if d[0] == "confirm"] == [
            "Pause mail? No process takes its jobs until it is resumed.",
            "Resume mail? Processes take its jobs again.",
        ]
        watch.assert_clean()
    assert runs(record) == {"before": 1, "while-paused": 1, "default-meanwhile": 1}


def test_metrics_show_the_classes_of_a_drain_and_a_class_page_its_histogram(
    browser: Any, dashboard: DashboardServer, opened: Store, process: SidequestProcess, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    client = Client(opened)
    client.enqueue_bulk(NoopWorker, [[n] for n in range(12)])
    client.enqueue_bulk(ActionWorker, [["sleep", f"slow-{n}", 0.05] for n in range(3)])
    client.enqueue_bulk(ActionWorker, [["fail", f"bad-{n}"] for n in range(2)])
    wait_for(lambda: len(runs(record)) == 12 + 3 + 2, 30, "every job to run")
    # The counts reach the store with the process's next heartbeat (every 0.5 s here).
    wait_for(
        lambda: sum(item.processed for item in opened.metrics(time.time() - 600, time.time() + 60)) == 17,
        30,
        "the metrics of every run to be recorded",
    )
    shots = tmp_path / "screenshots"
    with watched_page(browser) as (page, watch):
        page.goto(dashboard.url + "/metrics")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(shots / "metrics.png"), full_page=True)
        rows = page.locator("#metrics tbody tr")
        assert sorted(rows.nth(n).get_attribute("data-class") for n in range(rows.count())) == [ACTION, NOOP]
        action = [cell.strip() for cell in page.inner_text(f'#metrics tr[data-class="{ACTION}"]').split("\t")]
        assert action[1:3] == ["5", "2"]
        noop = [cell.strip() for cell in page.inner_text(f'#metrics tr[data-class="{NOOP}"]').split("\t")]
        assert noop[1:3] == ["12", "0"]
        assert page.get_attribute("#metrics-chart", "data-series") == "2"
        assert page.locator("#metrics-chart canvas").count() >= 1

        page.fill('input[name="substr"]', "noop")
        _submit(page, "form.filters button")
        rows = page.locator("#metrics tbody tr")
        assert [rows.nth(n).get_attribute("data-class") for n in range(rows.count())] == [NOOP]

        page.goto(dashboard.url + f"/metrics/{ACTION}")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(shots / "metrics-class.png"), full_page=True)
        summary = page.inner_text("#summary")
        assert "processed\t5" in summary and "failed\t2" in summary
        # The three 50 ms sleeps are the successful runs: 45-65 ms, maybe the next bucket when slow.
        assert page.get_attribute("#histogram-chart", "data-runs") == "3"
        histogram = page.inner_text("#histogram tbody")
        assert "ms" in histogram and "No successful run" not in histogram
        watch.assert_clean()
    keep_screenshots(shots)


def test_the_store_panel_shows_the_facts_of_the_store(
    browser: Any, dashboard: DashboardServer, opened: Store
) -> None:
    with watched_page(browser) as (page, watch):
        page.goto(dashboard.url + "/")
        panel = page.inner_text("#store-panel")
        for label in PANEL_FACTS[type(opened).__name__]:
            assert label in panel, (label, panel)
        assert "could not be read" not in panel and "reports no server facts" not in panel
        watch.assert_clean()
    stats = page_json(dashboard, "/stats")
    assert stats["store"].keys() >= set(opened.server_facts())
    if type(opened).__name__ == "RedisStore":
        assert stats["redis"]["redis_version"] == opened.server_facts()["redis_version"]


def page_json(dashboard: DashboardServer, path: str) -> Any:
    """A JSON read of the dashboard, as a script would make it."""
    with urllib.request.urlopen(dashboard.url + path, timeout=10) as response:
        return json.loads(response.read())
