"""The dashboard over HTTP, without a browser: health and JSON, refusals (cross-site, read-only,
authorize), escaping, mounting under a prefix in Starlette and in a WSGI app, and the standalone
``sidequest web`` server, each on a real store and a real uvicorn."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from a2wsgi import ASGIMiddleware
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Mount

from processes import SRC, TESTS, wait_for
from servers import RedisServer, free_port, wait_for_port
from sidequest.admin import Admin
from sidequest.stores import open_store
from sidequest.web import create_app
from web.harness import DashboardServer
from web.seed import ACTION, NIGHTLY, seed

PAGES = [
    "/",
    "/busy",
    "/queues",
    "/queues/mail",
    "/retries",
    "/scheduled",
    "/morgue",
    "/cron",
    "/errors",
    "/metrics",
]
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}


def test_every_page_and_the_json_api_answer_on_a_seeded_store(
    store_url: str, dashboard: DashboardServer
) -> None:
    with open_store(store_url) as store:
        seeded = seed(store)
    with httpx.Client(base_url=dashboard.url) as client:
        for path in [*PAGES, f"/jobs/{seeded.dead[0]}", f"/jobs/{seeded.mail[0]}?in=queue:mail"]:
            response = client.get(path)
            assert response.status_code == 200, (path, response.text[:500])
            assert "content-security-policy" in response.headers
        assert client.head("/").status_code == 200
        stats = client.get("/stats").json()
        assert stats["sidekiq"] | {"default_latency": 0} == {
            "processed": 0, "failed": 0, "busy": 0, "processes": 0, "enqueued": 3,
            "scheduled": 2, "retries": 4, "dead": 4, "default_latency": 0,
        }  # fmt: skip
        assert client.get("/stats/queues").json()["mail"] == 3
        assert client.get("/dashboard/stats", follow_redirects=True).json()["sidekiq"]["dead"] == 4
        dead = client.get("/api/jobs", params={"where": "dead", "count": 25}).json()
        assert dead["size"] == 4 and len(dead["jobs"]) == 4
        assert client.get(f"/api/jobs/{seeded.retry[0]}").json()["location"] == "retry"
        assert client.get("/api/jobs/" + "0" * 24).status_code == 404
        [entry] = client.get("/api/cron").json()
        assert entry["name"] == "web-nightly-report" and entry["tz"] == "Europe/Berlin"
        groups = client.get("/api/errors").json()["groups"]
        assert {(g["where"], g["worker"], g["count"]) for g in groups} >= {
            ("dead", ACTION, 2),
            ("retry", ACTION, 3),
        }
        assert client.get("/api/history", params={"days": 999}).status_code == 400
        assert client.get("/jobs/" + "0" * 24).status_code == 404


def test_job_data_holding_html_is_escaped_on_every_page(store_url: str, dashboard: DashboardServer) -> None:
    with open_store(store_url) as store:
        seeded = seed(store)
    with httpx.Client(base_url=dashboard.url) as client:
        bodies = [
            client.get(p).text
            for p in ["/morgue", "/retries", "/errors", *(f"/jobs/{j}" for j in seeded.hostile)]
        ]
    text = "\n".join(bodies)
    assert "<script>alert" not in text and "<img src=x" not in text
    assert "&lt;script&gt;alert(" in text and "&lt;img src=x onerror=alert(" in text


def test_a_cross_site_post_is_refused_and_changes_nothing(store_url: str, dashboard: DashboardServer) -> None:
    with open_store(store_url) as store:
        seed(store)
        admin = Admin(store)
        with httpx.Client(base_url=dashboard.url, follow_redirects=False) as client:
            for headers in (
                {"Sec-Fetch-Site": "cross-site"},
                {"Sec-Fetch-Site": "same-site"},
                {"Origin": "http://evil.example"},
                {"Origin": "null"},
            ):
                for path in ("/morgue/all/delete", "/retries/all/kill", "/queues/mail/clear", "/busy"):
                    response = client.post(path, headers=headers, data={"action": "stop"})
                    assert response.status_code == 403, (path, headers)
                    assert "Cross-site request refused" in response.text
            assert (admin.size("dead"), admin.size("retry"), admin.size("queue:mail")) == (4, 4, 3)
            # The dashboard's own page (same origin) may act; so may a client that is no browser.
            assert client.post("/queues/mail/clear", headers=SAME_ORIGIN).status_code == 303
            origin = {"Origin": dashboard.url}
            assert client.post("/morgue/all/delete", headers=origin).status_code == 303
        assert (admin.size("queue:mail"), admin.size("dead")) == (0, 0)


def test_read_only_and_authorize_refuse_actions_and_hide_buttons(store_url: str) -> None:
    asked: list[str] = []

    def authorize(request: Request, action: str) -> bool:
        asked.append(action)
        return request.headers.get("x-user") == "admin" or action == "read"

    with open_store(store_url) as store:
        seed(store)
        admin = Admin(store)
        with (
            DashboardServer(create_app(store=store, read_only=True)) as server,
            httpx.Client(base_url=server.url) as client,
        ):
            page = client.get("/morgue").text
            assert (
                "read-only" in page and "Retry all" not in page and 'type="checkbox" name="jid"' not in page
            )
            assert client.post("/morgue/all/delete", headers=SAME_ORIGIN).status_code == 403
        with (
            DashboardServer(create_app(store=store, authorize=authorize)) as server,
            httpx.Client(base_url=server.url) as client,
        ):
            assert client.post("/morgue/all/delete", headers=SAME_ORIGIN).status_code == 403
            assert admin.size("dead") == 4
            ok = client.post(
                "/morgue/all/delete", headers={**SAME_ORIGIN, "x-user": "admin"}, follow_redirects=False
            )
            assert ok.status_code == 303 and "Deleted+4+jobs" in ok.headers["location"]
        assert admin.size("dead") == 0
        assert asked.count("delete") == 2 and "read" in asked


def test_bad_action_requests_answer_with_a_notice_and_the_dashboard_keeps_serving(
    store_url: str, dashboard: DashboardServer
) -> None:
    with open_store(store_url) as store:
        seed(store)
    with httpx.Client(base_url=dashboard.url, headers=SAME_ORIGIN, follow_redirects=True) as client:
        notice = client.post("/busy", data={"action": "quiet", "identity": "no-such:1:x"}).text
        assert "no live process" in notice
        assert "no queue named" in client.post("/queues/nosuch/clear").text
        assert "has no action" in client.post("/morgue", data={"action": "kill", "jid": "x"}).text
        assert "no job was selected" in client.post("/retries", data={"action": "retry"}).text
        assert "no periodic entry named" in client.post("/cron/nope/enqueue").text
        assert client.get("/").status_code == 200


def test_each_action_leaves_a_log_line(
    store_url: str, dashboard: DashboardServer, caplog: pytest.LogCaptureFixture
) -> None:
    with open_store(store_url) as store:
        seeded = seed(store)
    with (
        caplog.at_level(logging.INFO, logger="sidequest.web"),
        httpx.Client(base_url=dashboard.url, headers=SAME_ORIGIN) as client,
    ):
        client.post("/retries", data={"action": "kill", "jid": seeded.retry[0]})
    assert any("dashboard action kill on retry: 1 done" in record.getMessage() for record in caplog.records)


def test_links_honour_the_prefix_when_mounted_in_starlette_and_in_a_wsgi_app(store_url: str) -> None:
    with open_store(store_url) as store:
        seeded = seed(store)
        dashboard = create_app(store=store, periodic=[NIGHTLY])
        host = Starlette(routes=[Mount("/jobs", app=dashboard)])
        with (
            DashboardServer(host) as server,
            httpx.Client(base_url=server.url, follow_redirects=False) as client,
        ):
            page = client.get("/jobs/morgue").text
            assert 'href="/jobs/retries"' in page and 'src="/jobs/static/app.js' in page
            assert f'href="/jobs/jobs/{seeded.dead[0]}?in=dead"' in page
            assert client.get("/jobs/static/app.js").status_code == 200
            redirect = client.post(
                "/jobs/morgue", data={"action": "delete", "jid": seeded.dead[0]}, headers=SAME_ORIGIN
            )
            assert redirect.headers["location"].startswith("/jobs/morgue?notice=Deleted+1+job")

        # WSGI (Flask, Django): a2wsgi runs the ASGI app; the WSGI server's SCRIPT_NAME is the prefix.
        wsgi = ASGIMiddleware(create_app(store=store))
        from wsgiref.util import setup_testing_defaults

        environ: dict[str, object] = {
            "PATH_INFO": "/morgue",
            "SCRIPT_NAME": "/admin/jobs",
            "REQUEST_METHOD": "GET",
        }
        setup_testing_defaults(environ)
        status: list[str] = []
        body = b"".join(wsgi(environ, lambda s, headers, exc_info=None: status.append(s)))  # type: ignore[arg-type]
        assert status == ["200 OK"]
        assert b'href="/admin/jobs/retries"' in body and seeded.dead[1].encode() in body


def _listening(port: int) -> list[str]:
    """The local addresses of sockets listening on ``port``, from /proc/net/tcp and tcp6."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:
                found.append(address)
    return found


def test_the_standalone_server_listens_on_loopback_only_and_asks_for_basic_auth(
    sqlite_url: str, tmp_path: Path
) -> None:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "sidequest",
        "web",
        "--url",
        sqlite_url,
        "--port",
        str(port),
        "--basic-auth",
        "ops:s3cret",
        "-r",
        "web.seed",
    ]
    env = {"PYTHONPATH": f"{TESTS}:{SRC}", "PATH": "/usr/bin:/bin"}
    with open(tmp_path / "web.log", "wb") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for_port(port, 20)
        assert _listening(port) == ["0100007F"], "sidequest web must bind 127.0.0.1 by default"
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(base + "/").status_code == 401
        assert httpx.get(base + "/", auth=("ops", "wrong")).status_code == 401
        assert httpx.get(base + "/stats", auth=("ops", "s3cret")).json()["sidekiq"]["dead"] == 0
        [entry] = httpx.get(base + "/api/cron", auth=("ops", "s3cret")).json()  # loaded with -r web.seed
        assert entry["name"] == "web-nightly-report"
    finally:
        server.terminate()
        server.wait(15)
    wait_for(lambda: not _listening(port), 5, "the port to close")


def test_hand_edited_urls_get_clear_answers_not_errors(store_url: str, dashboard: DashboardServer) -> None:
    with open_store(store_url) as store:
        seed(store)
    with httpx.Client(base_url=dashboard.url) as client:
        assert client.get("/morgue", params={"page": "abc", "count": "9999"}).status_code == 200
        assert client.get("/morgue", params={"page": "999999"}).status_code == 200
        assert client.get("/?days=12345").status_code == 200
        assert client.get("/queues/bad name!").status_code == 404
        bad_where = client.get("/api/jobs", params={"where": "nowhere"})
        assert bad_where.status_code == 400 and "unknown location" in bad_where.json()["error"]
        assert client.get("/busy", params={"jobs_page": "-3"}).status_code == 200


def test_a_payload_that_is_not_json_is_listed_as_malformed_text(redis_url: str) -> None:
    import redis

    # Another program (or a bug) wrote a dead-set member that is no job: the pages still render it.
    odd = {
        "jid": "odd1", "class": 5, "args": "text", "error_class": ["x"], "error_message": 42,
        "failed_at": "yesterday", "retry_count": "many", "enqueued_at": None, "error_backtrace": 7,
    }  # fmt: skip
    redis.Redis.from_url(redis_url).zadd(
        "dead", {"<b>not json at all": 1_700_000_000.0, json.dumps(odd): 1_700_000_001.0}
    )
    with open_store(redis_url) as store, DashboardServer(create_app(store=store)) as server:
        with httpx.Client(base_url=server.url) as client:
            for path in ("/morgue", "/errors", "/api/jobs?where=dead", "/api/errors", "/"):
                assert client.get(path).status_code == 200, path
            page = client.get("/morgue").text
        assert "(malformed)" in page and "&lt;b&gt;not json at all" in page


def test_the_dashboard_answers_503_while_its_store_is_down_and_recovers(own_redis: RedisServer) -> None:
    with open_store(own_redis.url) as store:
        seed(store)
    app = create_app(url=own_redis.url)
    with DashboardServer(app) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        assert client.head("/").status_code == 200
        own_redis.kill()
        down = client.get("/morgue")
        assert down.status_code == 503 and "The store did not answer" in down.text
        health = client.head("/")
        assert health.status_code == 503 and health.headers["x-sidequest-error"]
        own_redis.start()
        wait_for(lambda: client.head("/").status_code == 200, 30, "the dashboard to reach the store again")
        assert client.get("/morgue").status_code == 200


def test_actions_on_selected_jobs_on_every_match_of_a_filter_on_a_group_and_on_one_queued_job(
    store_url: str, dashboard: DashboardServer
) -> None:
    with open_store(store_url) as store:
        seeded = seed(store)
        admin = Admin(store)
        with httpx.Client(base_url=dashboard.url, headers=SAME_ORIGIN, follow_redirects=True) as client:
            # Two checked retries, killed together.
            page = client.post("/retries", data={"action": "kill", "jid": seeded.retry[:2]}).text
            assert "Killed 2 jobs" in page
            assert {e.jid for e in admin.find("dead", seeded.retry)} == set(seeded.retry[:2])
            # "Retry all" while the dead set is filtered by class: only the matches move.
            page = client.post(
                "/morgue/all/retry", data={"class": ACTION, "error_class": "RuntimeError"}
            ).text
            assert "Retried 4 jobs" in page  # the two seeded dead ActionWorker jobs and the two just killed
            assert {e.display_class for e in admin.jobs("dead")} == {"app.workers.BillingWorker"}
            # A whole error group deleted from /errors.
            assert "app.workers.BillingWorker" in client.get("/errors", params={"window": "1h"}).text
            form = {
                "action": "delete",
                "where": "dead",
                "class": "app.workers.BillingWorker",
                "error_class": "RuntimeError",
                "window": "24h",
            }
            assert "Deleted 2 jobs" in client.post("/errors", data=form).text
            assert admin.size("dead") == 0
            # One job deleted from a queue page; every scheduled job killed.
            assert "Deleted 1 job" in client.post("/queues/mail/delete", data={"jid": seeded.mail[1]}).text
            assert [e.jid for e in admin.jobs("queue:mail")] == [seeded.mail[0], seeded.mail[2]]
            assert "Killed 2 jobs" in client.post("/scheduled/all/kill").text
            assert admin.size("scheduled") == 0 and admin.size("dead") == 2


def test_after_an_action_the_page_keeps_its_filter_and_shows_only_the_new_notice(
    store_url: str, dashboard: DashboardServer
) -> None:
    with open_store(store_url) as store:
        seeded = seed(store)
    back = f"/morgue?class={ACTION}&count=50&notice=Retried+9+jobs"
    with httpx.Client(base_url=dashboard.url, headers=SAME_ORIGIN) as client:
        answer = client.post("/morgue", data={"action": "delete", "jid": seeded.dead[0], "back": back})
        assert answer.headers["location"] == f"/morgue?class={ACTION}&count=50&notice=Deleted+1+job"
        elsewhere = client.post(
            "/morgue", data={"action": "delete", "jid": seeded.dead[1], "back": "//evil.example/x"}
        )
        assert elsewhere.headers["location"] == "/morgue?notice=Deleted+1+job"
