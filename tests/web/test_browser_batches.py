"""The dashboard's batch pages in a real headless Chromium, beside a real ``sidequest run`` that
performs a batch, on every store: the list shows each batch's counters and state, and a click opens
one batch with the callbacks it fired and its failed job."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sidequest
from processes import SidequestProcess, wait_for
from sidequest.client import Client
from sidequest.stores.base import Store
from testapp.batch_workers import BatchJob, RecordCallbacks
from web.harness import DashboardServer, keep_screenshots, watched_page


def test_the_batches_page_lists_a_performed_batch_and_opens_it_with_its_failed_job(
    browser: Any, dashboard: DashboardServer, opened: Store, store_url: str, tmp_path: Path
) -> None:
    client = Client(opened)
    batch = sidequest.Batch("nightly <b>import</b>", client=client)
    batch.on("complete", RecordCallbacks).on("success", RecordCallbacks)
    with batch.jobs():
        client.enqueue_bulk(BatchJob, [[n] for n in range(5)])
        dying = client.enqueue(BatchJob, [9, "die"], options={"retry": 0})
    waiting = sidequest.Batch("waiting", client=client)
    with waiting.jobs():
        client.enqueue(BatchJob, [1], options={"queue": "elsewhere"})
    proc = SidequestProcess(
        store_url,
        tmp_path,
        ["-r", "testapp.batch_workers", "-q", "default", "-q", "callbacks"],
        tmp_path / "r.txt",
    )
    try:
        wait_for(
            lambda: (s := sidequest.Batch.status(batch.bid, client)) is not None and "complete" in s.fired,
            60,
            "the batch to complete",
        )
    finally:
        assert proc.terminate() == 0
    shots = tmp_path / "screenshots"
    with watched_page(browser) as (page, watch):
        page.goto(dashboard.url + "/")
        page.click("nav >> text=Batches")
        page.wait_for_url("**/batches")
        rows = page.locator("#batches tbody tr")
        assert rows.count() == 2
        assert rows.nth(0).get_attribute("data-bid") == waiting.bid  # newest first
        row = page.locator(f'#batches tr[data-bid="{batch.bid}"]')
        cells = [cell.strip() for cell in row.locator("td").all_inner_texts()]
        assert cells[1:6] == ["nightly <b>import</b>", "6", "1", "1", "complete"]
        assert page.locator("#batches b").count() == 0  # the description is shown as text
        page.screenshot(path=str(shots / "batches.png"), full_page=True)
        row.locator("a").click()
        page.wait_for_url(f"**/batches/{batch.bid}")
        assert page.inner_text('#batch [data-field="pending"]') == "1"
        assert page.locator('#batch [data-fired="complete"]').count() == 1
        assert page.locator('#batch [data-fired="death"]').count() == 1
        assert page.locator('#batch [data-fired="success"]').count() == 0
        page.screenshot(path=str(shots / "batch.png"), full_page=True)
        page.click(f"#failed-jobs >> text={dying}")
        page.wait_for_url(f"**/jobs/{dying}")
        watch.assert_clean()
        missing = page.goto(dashboard.url + "/batches/no-such-batch")
        assert missing is not None and missing.status == 404
    keep_screenshots(shots)
