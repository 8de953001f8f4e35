"""The dashboard in a real headless Chromium, on SQLite and Redis, beside a real ``sidequest run``:
what a person sees and clicks, checked in the store afterwards.

One browser for the module; each test gets a fresh context whose every request is watched (console
errors, requests to another host, dialogs).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from processes import SidequestProcess, runs, wait_for
from sidequest.admin import Admin
from sidequest.client import Client
from sidequest.stores.base import Store
from web.harness import DashboardServer, keep_screenshots, watched_page
from web.seed import ACTION, BILLING, SCRIPT_ARGS, SCRIPT_ERROR, Seeded, seed

PAGES = {
    "dashboard": "/",
    "busy": "/busy",
    "queues": "/queues",
    "queue-mail": "/queues/mail",
    "retries": "/retries",
    "scheduled": "/scheduled",
    "dead": "/morgue",
    "dead-filtered": f"/morgue?class={ACTION}",
    "cron": "/cron",
    "errors": "/errors",
    "metrics": "/metrics",
    "limiters": "/limiters",
}


@pytest.fixture
def seeded(opened: Store) -> Seeded:
    """Jobs in every set, seeded before the process starts (it would take them from their queue)."""
    return seed(opened)


@pytest.fixture
def process(store_url: str, opened: Store, seeded: Seeded, tmp_path: Path) -> Iterator[SidequestProcess]:
    """A real ``sidequest run`` on the default queue, recording every job it performs."""
    proc = SidequestProcess(store_url, tmp_path, ["-c", "3"], record=tmp_path / "record.txt")
    wait_for(lambda: len(opened.processes()) == 1, 30, "the process to beat")
    yield proc
    if proc.process.poll() is None:
        proc.kill9()


def test_every_page_loads_with_no_console_error_no_offsite_request_and_html_in_jobs_as_text(
    browser: Any,
    dashboard: DashboardServer,
    opened: Store,
    seeded: Seeded,
    process: SidequestProcess,
    tmp_path: Path,
) -> None:
    long_job = Client(opened).enqueue(ACTION, ["sleep", "long", 60.0])  # one job running on the Busy page
    wait_for(lambda: len(opened.busy()) == 1, 20, "the long job to show as running")
    shots = tmp_path / "screenshots"
    pages = {
        **PAGES,
        "job-dead": f"/jobs/{seeded.dead[0]}?in=dead",
        "job-queued": f"/jobs/{seeded.mail[0]}",
        "job-running": f"/jobs/{long_job}",
        "job-hostile": f"/jobs/{seeded.hostile[0]}",
    }
    with watched_page(browser) as (page, watch):
        for name, path in pages.items():
            response = page.goto(dashboard.url + path)
            assert response is not None and response.status == 200, path
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
        # The job whose args and error hold markup (the last page shown) shows them as text; no dialog
        # opened anywhere.
        assert "<script>alert('args')</script>" in page.inner_text("#args")
        assert SCRIPT_ERROR in page.inner_text("#error")
        page.goto(dashboard.url + "/morgue")
        assert f'["{SCRIPT_ARGS[0]}"]' in page.inner_text("#jobs")
        page.goto(dashboard.url + "/retries")
        assert "<img src=x onerror=alert('img')>" in page.inner_text("#jobs")
        assert page.locator("#jobs img").count() == 0 and page.locator("main script:not([type])").count() == 0
        page.goto(dashboard.url + f"/jobs/{long_job}")
        assert "running in" in page.inner_text("#job-facts")
        page.goto(dashboard.url + "/busy")
        assert page.locator("#processes tbody tr").count() == 1
        assert "long" in page.inner_text("#running")
        watch.assert_clean()
        assert watch.alerts() == []
    with watched_page(browser, dark=True) as (page, watch):
        page.goto(dashboard.url + "/")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(shots / "dashboard-dark.png"), full_page=True)
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background != "rgb(247, 247, 248)", "dark mode follows prefers-color-scheme"
        watch.assert_clean()
    assert sorted(p.name for p in shots.glob("*.png")) == sorted(
        [f"{n}.png" for n in pages] + ["dashboard-dark.png"]
    )
    keep_screenshots(shots)


def test_the_real_time_graph_moves_when_jobs_are_performed_and_the_history_shows_the_day(
    browser: Any, dashboard: DashboardServer, opened: Store, process: SidequestProcess, tmp_path: Path
) -> None:
    with watched_page(browser) as (page, watch):
        page.goto(dashboard.url + "/")
        page.locator("#interval").fill("2")
        assert page.inner_text("#interval-value") == "2"
        wait_for(
            lambda: int(page.get_attribute("#realtime-status", "data-polls") or 0) >= 1,
            10,
            "a first interval",
        )
        Client(opened).enqueue_bulk(ACTION, [["ok", f"rt-{n}"] for n in range(12)])

        def processed() -> int:
            return int(page.get_attribute("#realtime-status", "data-processed") or 0)

        wait_for(lambda: processed() >= 12, 30, "the real-time graph to count the 12 jobs", poll=0.25)
        assert "processed" in page.inner_text("#realtime-status")
        assert int(page.inner_text('[data-stat="processed"]')) >= 12
        page.screenshot(path=str(tmp_path / "dashboard-realtime.png"), full_page=True)

        # A hidden tab stops polling; shown again, it resumes.
        polled: list[str] = []
        page.on("request", lambda request: polled.append(request.url) if "/stats" in request.url else None)
        page.evaluate(_SET_HIDDEN, True)
        assert page.inner_text("#realtime-state") == "paused while the tab is hidden"
        time.sleep(4.5)  # two intervals of 2 s: a live graph would have polled twice
        assert polled == []
        page.evaluate(_SET_HIDDEN, False)
        assert page.inner_text("#realtime-state") == "live"
        wait_for(lambda: len(polled) >= 1, 5, "polling to resume")
        # The history graph (and its table) shows today's jobs once the process's counters reach the store.
        page.goto(dashboard.url + "/?days=30")
        assert page.get_attribute("#history", "data-days") == "30"
        assert int(page.get_attribute("#history", "data-processed") or 0) >= 12
        today = datetime.now(UTC).date().isoformat()
        page.click("summary")
        assert today in page.inner_text("#history-table")
        page.screenshot(path=str(tmp_path / "dashboard-live.png"), full_page=True)
        watch.assert_clean()
    keep_screenshots(tmp_path)


_SET_HIDDEN = """hidden => {
    Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
    document.dispatchEvent(new Event("visibilitychange"));
}"""
"""Make the page believe its tab was hidden or shown (what switching tabs does)."""


def _submit(page: Any, selector: str) -> None:
    """Click a form's button and wait for the page the POST redirects to (so the action is done)."""
    with page.expect_navigation():
        page.click(selector)


def _select_and_click(page: Any, jid: str, button: str) -> None:
    page.check(f'input[name="jid"][value="{jid}"]')
    _submit(page, f'#bulk button[value="{button}"]')


def test_click_paths_change_the_store_and_the_running_process_acts_on_them(
    browser: Any,
    dashboard: DashboardServer,
    opened: Store,
    seeded: Seeded,
    process: SidequestProcess,
    tmp_path: Path,
) -> None:
    admin = Admin(opened)
    record = tmp_path / "record.txt"
    with watched_page(browser) as (page, watch):
        # Filter the dead set by class: only the two ActionWorker jobs are listed.
        page.goto(dashboard.url + "/morgue")
        page.fill('#filter input[name="class"]', ACTION)
        _submit(page, "#filter button")
        rows = page.locator("#jobs tbody tr")
        assert sorted(rows.nth(n).get_attribute("data-jid") for n in range(rows.count())) == sorted(
            seeded.dead
        )
        assert BILLING not in page.inner_text("#jobs")
        assert "2 matches" in page.inner_text("#filter-summary")

        # Retry a dead job: it leaves the dead set and the process performs it once.
        _select_and_click(page, seeded.dead[0], "retry")
        assert "Retried 1 job" in page.inner_text(".notice")
        wait_for(lambda: runs(record)["dead-0"] == 1, 20, "the retried dead job to run")
        assert admin.find("dead", [seeded.dead[0]]) == []

        # Delete a retry; kill another (it moves to the dead set).
        page.goto(dashboard.url + "/retries")
        _select_and_click(page, seeded.retry[0], "delete")
        page.goto(dashboard.url + "/retries")
        _select_and_click(page, seeded.retry[1], "kill")
        assert admin.find("retry", seeded.retry[:2]) == []
        assert [e.jid for e in admin.find("dead", seeded.retry)] == [seeded.retry[1]]

        # Add a scheduled job to its queue: it runs now instead of in an hour.
        page.goto(dashboard.url + "/scheduled")
        _select_and_click(page, seeded.scheduled[0], "add_to_queue")
        wait_for(lambda: runs(record)["scheduled-0"] == 1, 20, "the scheduled job to run")
        assert [e.jid for e in admin.jobs("scheduled")] == [seeded.scheduled[1]]

        # Clear a queue (confirmed): its jobs and its name are gone.
        page.goto(dashboard.url + "/queues")
        _submit(page, 'tr[data-queue="mail"] button:has-text("Clear")')
        assert "Cleared queue mail: 3 jobs deleted" in page.inner_text(".notice")
        assert "mail" not in [q.name for q in admin.queues()]

        # Enqueue a cron entry now: one job in its queue, marked with the entry.
        page.goto(dashboard.url + "/cron")
        _submit(page, 'tr[data-entry="web-nightly-report"] button:has-text("Enqueue now")')
        [job] = admin.jobs("queue:reports")
        assert job.payload is not None and job.payload["cron"] == "web-nightly-report"
        page.goto(dashboard.url + "/cron")
        _submit(page, 'tr[data-entry="web-nightly-report"] button:has-text("Pause")')
        assert "paused" in page.inner_text('tr[data-entry="web-nightly-report"]')
        assert opened.cron_state(["web-nightly-report"])["web-nightly-report"].paused

        # Quiet the process: it stops taking jobs. Then stop it: it exits.
        page.goto(dashboard.url + "/busy")
        _submit(page, '#processes button[value="quiet"]')
        wait_for(lambda: admin.processes()[0].quiet, 10, "the process to report quiet")
        waiting = Client(opened).enqueue(ACTION, ["ok", "after-quiet"])
        time.sleep(1.5)  # three heartbeats and many fetch rounds: a fetching process would take it
        assert [e.jid for e in admin.jobs("queue:default")] == [waiting]
        assert runs(record)["after-quiet"] == 0
        page.goto(dashboard.url + "/busy")
        assert "quiet" in page.inner_text("#processes")
        _submit(page, '#processes button[value="stop"]')
        assert process.wait(30) == 0
        wait_for(lambda: admin.processes() == [], 10, "the process to leave the list")

        confirmations = [message for kind, message in watch.dialogs if kind == "confirm"]
        assert len(confirmations) == 9, confirmations
        watch.assert_clean()
    # Every other job ran exactly once.
    assert dict(runs(record)) == {"dead-0": 1, "scheduled-0": 1}
