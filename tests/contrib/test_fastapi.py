"""FastAPI / Starlette: the lifespan configures sidequest for the routes, the dashboard mounted under
a prefix has working links, and a job enqueued from a route is performed by a real ``sidequest run``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from processes import wait_for
from sidequest.defaults import DEFAULT, default_client
from sidequest.stores import open_store

from .support import FAST, FASTAPI_APP, FrameworkProcess, environment, follow_links


@pytest.fixture
def shop(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.syspath_prepend(str(FASTAPI_APP))
    previous = DEFAULT.configure(None)
    yield
    DEFAULT.configure(previous)


def test_fastapi_dashboard_under_a_prefix_has_working_links_and_an_order_route_runs_in_a_real_process(
    shop: None, store_url: str, tmp_path: Path
) -> None:
    from fastapi_shop.main import create_app

    with TestClient(create_app(store_url)) as client:
        assert default_client().store.url == store_url  # the lifespan configured it

        def get(url: str) -> tuple[int, str]:
            response = client.get(url)
            return response.status_code, response.text

        links = follow_links(get, "/sidequest")
        assert "/sidequest/retries" in links and any(link.startswith("/sidequest/static/") for link in links)
        response = client.post("/orders/11")
        assert response.status_code == 202 and response.json()["jid"]
    assert DEFAULT.configure(None) is None  # the lifespan put back the default it found
    with open_store(store_url) as store:
        assert store.counts().enqueued == 1

    outbox = tmp_path / "outbox.txt"
    env = environment(FASTAPI_APP, SHOP_OUTBOX=str(outbox))
    command = ["-m", "sidequest", "run", "--url", store_url, "-r", "fastapi_shop.workers", *FAST]
    worker = FrameworkProcess(command, tmp_path, env)
    wait_for(lambda: outbox.exists() and "order 11" in outbox.read_text(), 30, "the order's confirmation")
    assert worker.terminate() == 0, worker.output()
    assert outbox.read_text() == "fastapi order 11 confirmed\n"
