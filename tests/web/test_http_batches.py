"""The dashboard's batch pages and their JSON over HTTP, on every store: what a batch shows, its
description escaped, and 404 for a batch that is not there."""

from __future__ import annotations

import time

import httpx

import sidequest
from sidequest.batch_records import BatchOutcome
from sidequest.client import Client
from sidequest.stores.base import Store
from testapp.batch_workers import BatchJob, RecordCallbacks
from web.harness import DashboardServer


def test_the_batch_pages_and_json_show_a_batch_and_404_for_none(
    opened: Store, dashboard: DashboardServer
) -> None:
    client = Client(opened)
    batch = sidequest.Batch("<script>alert(1)</script>", client=client)
    batch.on("complete", RecordCallbacks)
    with batch.jobs():
        jids = [str(jid) for jid in client.enqueue_bulk(BatchJob, [[1], [2], [3]])]
    opened.record_batch_outcomes(
        [BatchOutcome(batch.bid, jids[0], "success"), BatchOutcome(batch.bid, jids[1], "failure")],
        time.time(),
    )
    with httpx.Client(base_url=dashboard.url) as http:
        listing = http.get("/batches")
        assert listing.status_code == 200 and batch.bid in listing.text
        assert "<script>alert(1)</script>" not in listing.text and "&lt;script&gt;" in listing.text
        page = http.get(f"/batches/{batch.bid}")
        assert page.status_code == 200 and f"/jobs/{jids[1]}" in page.text
        [listed] = http.get("/api/batches").json()
        assert listed["bid"] == batch.bid and listed["state"] == "pending" and listed["failed_jids"] == []
        shown = http.get(f"/api/batches/{batch.bid}").json()
        assert (shown["total"], shown["pending"], shown["failures"]) == (3, 2, 1)
        assert shown["failed_jids"] == [jids[1]] and shown["callbacks"] == ["complete"]
        assert http.get("/batches/nope").status_code == 404
        assert http.get("/api/batches/nope").status_code == 404
