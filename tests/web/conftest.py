"""Fixtures of the dashboard tests: a dashboard served for real over the test's store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sidequest.stores import open_store
from sidequest.stores.base import Store
from sidequest.web import create_app
from web.harness import DashboardServer, chromium
from web.seed import NIGHTLY


@pytest.fixture
def dashboard(store_url: str) -> Iterator[DashboardServer]:
    """The dashboard over the test's store (every store kind), with the seed's periodic entry."""
    app = create_app(url=store_url, periodic=[NIGHTLY])
    with DashboardServer(app) as server:  # the app closes the store it opened when uvicorn stops
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per test module (Debian's, driven by Playwright)."""
    with chromium() as launched:
        yield launched


@pytest.fixture
def opened(store_url: str) -> Iterator[Store]:
    """The test's store, opened for seeding and checking what the dashboard did."""
    with open_store(store_url) as store:
        yield store
