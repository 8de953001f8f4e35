"""The dashboard served for real: uvicorn on a free loopback port in a thread, and headless Chromium
driven by Playwright, watching every page for console errors, off-machine requests and dialogs."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn

from servers import free_port, in_ci, wait_for_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""The flags that work on these machines (../shared/reference/dashboards.md §5): without the
background-networking ones Chromium tries to reach Google and the closed network refuses it."""

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def require_chromium() -> str:
    """Debian's Chromium; skips locally, fails under CI=true, when it is missing."""
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} not found: install the Debian package chromium (.ci/run does)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


class DashboardServer:
    """``app`` served by uvicorn on 127.0.0.1 and a free port, in a thread of the test process."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False)
        )
        self.thread = threading.Thread(target=self.server.run, name="dashboard", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> DashboardServer:
        self.thread.start()
        wait_for_port(self.port)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@dataclass
class Watch:
    """What a browser page did that a test must see: console errors, uncaught exceptions, requests
    to a host that is not this machine, and dialogs (confirmations are accepted, and listed)."""

    console_errors: list[str] = field(default_factory=list)
    offsite: list[str] = field(default_factory=list)
    dialogs: list[tuple[str, str]] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.console_errors == [], self.console_errors
        assert self.offsite == [], self.offsite

    def alerts(self) -> list[tuple[str, str]]:
        """Dialogs other than the dashboard's own confirmations."""
        return [d for d in self.dialogs if d[0] != "confirm"]


@contextmanager
def watched_page(browser: Any, dark: bool = False) -> Iterator[tuple[Any, Watch]]:
    """A fresh browser context and page, with a :class:`Watch` on it. Requests to any host but the
    loopback are aborted and recorded."""
    watch = Watch()
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, color_scheme="dark" if dark else "light"
    )

    def route(route: Any) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:")) or host in LOOPBACK:
            route.continue_()
        else:
            watch.offsite.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda msg: watch.console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: watch.console_errors.append(f"uncaught: {exc}"))

    def dialog(d: Any) -> None:
        watch.dialogs.append((d.type, d.message))
        d.accept() if d.type == "confirm" else d.dismiss()

    page.on("dialog", dialog)
    try:
        yield page, watch
    finally:
        context.close()


@contextmanager
def chromium() -> Iterator[Any]:
    """One headless Chromium for a test module."""
    path = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def keep_screenshots(source: Path) -> None:
    """Copy a run's screenshots to ``$SIDEQUEST_DOCS_SCREENSHOTS`` (how docs/screenshots/ is refreshed)."""
    target = os.environ.get("SIDEQUEST_DOCS_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        for png in source.glob("*.png"):
            shutil.copy(png, Path(target) / png.name)
