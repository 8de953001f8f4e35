"""The job page's Cancel button in a real headless Chromium, on every store, beside a real
``sidequest run``: a waiting job is removed, a running iterable job stops at its next item."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from processes import SidequestProcess, wait_for
from sidequest.client import Client
from sidequest.stores.base import Store
from testapp.iterable_workers import NoteWorker, SlowIterableWorker
from web.harness import DashboardServer, watched_page


def _notes(record: Path, jid: str) -> list[str]:
    text = record.read_text() if record.exists() else ""
    return [line.split(" ", 1)[1] for line in text.splitlines() if line.startswith(f"{jid} ")]


def _cancel(page: Any) -> None:
    with page.expect_navigation():
        page.click('#cancel-job button:has-text("Cancel")')


def test_cancel_on_the_job_page_removes_a_waiting_job_and_stops_a_running_iterable_one(
    browser: Any, dashboard: DashboardServer, opened: Store, store_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    client = Client(opened)
    scheduled = client.enqueue(NoteWorker, ["later"], at=time.time() + 3600)
    assert scheduled is not None
    proc = SidequestProcess(store_url, tmp_path, ["-r", "testapp.iterable_workers", "-c", "2"], record)
    try:
        walking = client.enqueue(SlowIterableWorker, [100, 0.3])
        assert walking is not None
        wait_for(lambda: any(n.startswith("end ") for n in _notes(record, walking)), 30, "the walk to start")
        with watched_page(browser) as (page, watch):
            page.goto(f"{dashboard.url}/jobs/{scheduled}")
            _cancel(page)
            assert f"Cancelled job {scheduled}: it was waiting and will not run" in page.inner_text(".notice")
            assert opened.list_set("scheduled") == []

            wait_for(lambda: bool(opened.busy()), 20, "the walk to show as running")
            page.goto(f"{dashboard.url}/jobs/{walking}")
            assert "running" in page.inner_text("#job-facts")
            _cancel(page)
            assert "it is running and was asked to stop" in page.inner_text(".notice")
            wait_for(lambda: "hook on_stop" in _notes(record, walking), 10, "the walk to stop")
            confirmations = [message for kind, message in watch.dialogs if kind == "confirm"]
            assert confirmations == [
                "Cancel this job?",
                "Cancel this job? It is running: it is asked to stop.",
            ]
            watch.assert_clean()
        assert "hook on_complete" not in _notes(record, walking)
        assert sum(queue.size for queue in opened.queues()) == 0
        assert proc.terminate() == 0
    finally:
        if proc.process.poll() is None:
            proc.kill9()


def test_the_dashboard_counts_expired_jobs(browser: Any, dashboard: DashboardServer, opened: Store) -> None:
    opened.add_expired(4)
    with watched_page(browser) as (page, watch):
        page.goto(dashboard.url + "/")
        assert page.inner_text('[data-stat="expired"]') == "4"
        watch.assert_clean()
