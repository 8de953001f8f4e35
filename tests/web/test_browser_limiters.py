"""The dashboard's ``/limiters`` page in a real headless Chromium, beside a real ``sidequest run`` whose
jobs use rate limiters, on every store: each limiter's rule, use now, allowed and refused counts, as
the processes left them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from processes import SidequestProcess, wait_for
from sidequest.client import Client
from sidequest.limits import Limit
from sidequest.stores.base import Store
from testapp.rate_workers import OverForAnHourWorker, ThreeAtOnceWorker
from web.harness import DashboardServer, keep_screenshots, watched_page


@pytest.fixture
def process(store_url: str, opened: Store, tmp_path: Path) -> Iterator[SidequestProcess]:
    """A real ``sidequest run`` with the rate-limited workers, recording their runs."""
    proc = SidequestProcess(
        store_url, tmp_path, ["-r", "testapp.rate_workers", "-c", "5"], tmp_path / "record.txt"
    )
    wait_for(lambda: len(opened.processes()) == 1, 30, "the process to beat")
    yield proc
    if proc.process.poll() is None:
        assert proc.terminate() == 0


def recorded(record: Path, prefix: str) -> int:
    """How many recorded runs have a key starting with ``prefix`` (``""`` with ``spans``: limited runs)."""
    if not record.exists():
        return 0
    keys = [line.split(" ", 1)[1] for line in record.read_text().splitlines() if " " in line]
    return sum(1 for key in keys if key.startswith(prefix) and (prefix or key.count(",") == 2))


def test_the_limiters_page_shows_each_limiter_in_use_and_how_often_it_said_no(
    browser: Any, dashboard: DashboardServer, opened: Store, process: SidequestProcess, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    client = Client(opened)
    with watched_page(browser) as (page, watch):
        page.goto(dashboard.url + "/limiters")
        assert "No rate limiter has been used" in page.inner_text("#limiters")
        page.click('nav a:has-text("Limiters")')
        assert page.url.endswith("/limiters")

        # The test holds e2e-full's one slot: the job's try is refused and it is rescheduled.
        assert opened.limiter_acquire(Limit("concurrent", "e2e-full", 1, 300.0), "the-test").allowed
        client.enqueue(OverForAnHourWorker, ["web"])
        client.enqueue_bulk(ThreeAtOnceWorker, [[0.01] for _ in range(12)])
        wait_for(lambda: opened.counts().retry == 1, 30, "the refused job rescheduled")
        wait_for(lambda: recorded(record, "") >= 12, 30, "the 12 limited jobs")

        page.goto(dashboard.url + "/limiters")
        full = page.locator('#limiters tr[data-limiter="concurrent|e2e-full"]')
        three = page.locator('#limiters tr[data-limiter="concurrent|e2e-three"]')
        assert full.locator("td.in-use").inner_text() == "1/1"
        assert full.locator("td.refused").inner_text() == "1"
        assert "1 at once (lock 300s)" in full.inner_text()
        assert three.locator("td.allowed").inner_text() == "12"
        assert three.locator("td.in-use").inner_text() == "0/3"
        assert "3 at once (lock 30s)" in three.inner_text()
        page.screenshot(path=str(tmp_path / "limiters.png"), full_page=True)

        # The rescheduled job waits in Retries (for an hour) with no error, marked as over the limit.
        page.goto(dashboard.url + "/retries")
        assert "over limit (1)" in page.inner_text("#jobs")
        assert recorded(record, "try:") == 1
        watch.assert_clean()
    keep_screenshots(tmp_path)
