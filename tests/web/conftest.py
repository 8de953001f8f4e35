"""Fixtures of the dashboard tests: a dashboard served for real over the test's store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sidequest.web import create_app
from web.harness import DashboardServer
from web.seed import NIGHTLY


@pytest.fixture
def dashboard(store_url: str) -> Iterator[DashboardServer]:
    """The dashboard over the test's store (sqlite and redis), with the seed's periodic entry."""
    app = create_app(url=store_url, periodic=[NIGHTLY])
    with DashboardServer(app) as server:  # the app closes the store it opened when uvicorn stops
        yield server
