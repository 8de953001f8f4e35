"""Flask: ``Sidequest(app)`` reads ``SIDEQUEST_*``, mounts the dashboard under a prefix whose every
link works, and a job enqueued from a route is performed by a real ``flask sidequest run``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, Request

from processes import wait_for
from sidequest.contrib.flask import Sidequest
from sidequest.defaults import DEFAULT
from sidequest.errors import ConfigurationError
from sidequest.stores import open_store

from .support import FAST, FLASK_APP, FrameworkProcess, environment, follow_links


@pytest.fixture
def shop(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The example Flask shop importable; the default client put back after the test."""
    monkeypatch.syspath_prepend(str(FLASK_APP))
    previous = DEFAULT.configure(None)
    yield
    DEFAULT.configure(previous)


def test_flask_dashboard_under_a_prefix_has_working_links_and_an_order_route_runs_in_flask_sidequest_run(
    shop: None, store_url: str, tmp_path: Path
) -> None:
    from flask_shop import create_app

    app = create_app({"SIDEQUEST_URL": store_url, "SIDEQUEST_DASHBOARD_PREFIX": "/admin/jobs"})
    client = app.test_client()

    def get(url: str) -> tuple[int, str]:
        response = client.get(url)
        return response.status_code, response.get_data(as_text=True)

    links = follow_links(get, "/admin/jobs")
    assert "/admin/jobs/queues" in links and any(link.startswith("/admin/jobs/static/") for link in links)

    response = client.post("/orders", data={"order_id": "7"})
    assert response.status_code == 202 and response.json and response.json["jid"]
    with open_store(store_url) as store:
        assert store.counts().enqueued == 1

    outbox = tmp_path / "outbox.txt"
    env = environment(FLASK_APP, SHOP_OUTBOX=str(outbox), SIDEQUEST_URL=store_url)
    command = ["-m", "flask", "--app", "flask_shop", "sidequest", "run", "-p", "2", *FAST]
    worker = FrameworkProcess(command, tmp_path, env)  # two children, each started through `flask`
    wait_for(lambda: outbox.exists() and "order 7" in outbox.read_text(), 30, "the order's confirmation")
    loaded = "loaded 1 worker from flask_shop.workers"
    wait_for(lambda: worker.output().count(loaded) == 2, 30, "both children started through flask")
    assert worker.terminate() == 0, worker.output()
    assert outbox.read_text() == "flask order 7 confirmed\n"


def test_flask_cli_group_runs_the_admin_commands_with_the_app_config(shop: None, sqlite_url: str) -> None:
    from flask_shop import create_app

    app = create_app({"SIDEQUEST_URL": sqlite_url})
    with app.app_context():
        from flask_shop.workers import ConfirmationWorker

        ConfirmationWorker.perform_async(3)
    before = os.environ.get("SIDEQUEST_URL")
    result = app.test_cli_runner().invoke(
        args=["sidequest", "stats", "--json"], env={"SIDEQUEST_URL": "redis://x"}
    )
    assert result.exit_code == 0, result.output
    assert '"enqueued": 1' in result.output  # the app's SIDEQUEST_URL, not the environment's
    assert os.environ.get("SIDEQUEST_URL") == before


def test_flask_authorize_hook_sees_the_flask_request_and_refuses(shop: None, sqlite_url: str) -> None:
    seen: list[str] = []

    def only_with_token(request: Request) -> bool:
        seen.append(request.script_root + request.path)
        return request.headers.get("X-Token") == "staff"

    app = Flask("guarded")
    app.config.update(SIDEQUEST_URL=sqlite_url)
    Sidequest(app, authorize=only_with_token)
    client = app.test_client()
    assert client.get("/sidequest/queues").status_code == 403
    assert client.get("/sidequest/queues", headers={"X-Token": "staff"}).status_code == 200
    assert seen == ["/sidequest/queues", "/sidequest/queues"]


def test_flask_bad_config_is_an_error_at_init_naming_the_key(shop: None, sqlite_url: str) -> None:
    app = Flask("bad")
    app.config.update(SIDEQUEST_URL=sqlite_url, SIDEQUEST_OPTIONS={"concurency": 5})
    with pytest.raises(ConfigurationError, match="SIDEQUEST_OPTIONS has an unknown option 'concurency'"):
        Sidequest(app)
    app.config.update(SIDEQUEST_OPTIONS={}, SIDEQUEST_DASHBOARD_PREFIX="sidequest/")
    with pytest.raises(ConfigurationError, match="SIDEQUEST_DASHBOARD_PREFIX"):
        Sidequest(app)
