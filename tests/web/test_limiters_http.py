"""``/limiters`` and ``/api/limiters`` over HTTP on every store: the stats as JSON, and a limiter name
holding markup shown as text."""

from __future__ import annotations

import httpx

from sidequest.limits import Limit
from sidequest.stores import open_store
from web.harness import DashboardServer


def test_the_api_gives_every_limiters_stats_and_the_page_escapes_names(
    store_url: str, dashboard: DashboardServer
) -> None:
    with open_store(store_url) as store:
        store.limiter_acquire(Limit("leaky", "<b>sms</b>", 4, 60.0), "a")
        store.limiter_acquire(Limit("window", "search", 1, 60.0), "a")
        store.limiter_acquire(Limit("window", "search", 1, 60.0), "b", final=True)
    with httpx.Client(base_url=dashboard.url) as client:
        found = client.get("/api/limiters").json()
        page = client.get("/limiters")
    assert [(item["kind"], item["name"], item["allowed"], item["refused"]) for item in found] == [
        ("leaky", "<b>sms</b>", 1, 0),
        ("window", "search", 1, 1),
    ]
    assert page.status_code == 200
    assert "&lt;b&gt;sms&lt;/b&gt;" in page.text and "<b>sms</b>" not in page.text
    assert "4 then 1 per 15s" in page.text and "1 in any 60s" in page.text
