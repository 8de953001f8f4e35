"""``create_app``: the dashboard as one Starlette (ASGI) application."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sidequest.admin import Admin
from sidequest.admin_cron import CronAdmin
from sidequest.errors import SidequestError
from sidequest.periodic import PeriodicEntry
from sidequest.stores import open_store
from sidequest.stores.base import Store
from sidequest.web import actions, api, batch_pages, pages, prometheus
from sidequest.web.cancel_action import cancel_action
from sidequest.web.dashboard import LOG, Authorize, Dashboard
from sidequest.web.security import WriteGuard
from sidequest.web.templating import Templates

STATIC = Path(__file__).resolve().parent / "static"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'"
)
"""Scripts only from the dashboard's own files: even a payload that slipped past escaping could not
run, and nothing is loaded from another host."""


def _routes() -> list[BaseRoute]:
    set_paths = ["/scheduled", "/retries", "/morgue"]
    routes: list[BaseRoute] = [
        Route("/", pages.home, methods=["GET"]),
        Route("/stats", api.stats, methods=["GET"]),
        Route("/stats/queues", api.stats_queues, methods=["GET"]),
        Route("/dashboard/stats", _to_stats, methods=["GET"]),  # Sidekiq's old URL for the same JSON
        Route("/busy", pages.busy, methods=["GET"]),
        Route("/busy", actions.busy_action, methods=["POST"]),
        Route("/queues", pages.queues, methods=["GET"]),
        Route("/queues/{name}", pages.queue, methods=["GET"]),
        Route("/queues/{name}/{action}", actions.queue_action, methods=["POST"]),
        Route("/jobs/{jid}", pages.job, methods=["GET"]),
        Route("/jobs/{jid}/cancel", cancel_action, methods=["POST"]),
        Route("/batches", batch_pages.batches, methods=["GET"]),
        Route("/batches/{bid}", batch_pages.batch, methods=["GET"]),
        Route("/api/batches", batch_pages.api_batches, methods=["GET"]),
        Route("/api/batches/{bid}", batch_pages.api_batch, methods=["GET"]),
        Route("/cron", pages.cron, methods=["GET"]),
        Route("/cron/{name}/{action}", actions.cron_action, methods=["POST"]),
        Route("/errors", pages.errors, methods=["GET"]),
        Route("/limiters", pages.limiters, methods=["GET"]),
        Route("/errors", actions.error_group_action, methods=["POST"]),
        Route("/metrics", pages.metrics, methods=["GET"]),
        Route("/metrics/{name}", pages.metric_class, methods=["GET"]),
        Route("/api/metrics", api.api_metrics, methods=["GET"]),
        Route("/prometheus", prometheus.prometheus, methods=["GET"]),  # observability: store-wide gauges
        Route("/api/overview", api.api_overview, methods=["GET"]),
        Route("/api/history", api.api_history, methods=["GET"]),
        Route("/api/jobs", api.api_jobs, methods=["GET"]),
        Route("/api/jobs/{jid}", api.api_job, methods=["GET"]),
        Route("/api/cron", api.api_cron, methods=["GET"]),
        Route("/api/errors", api.api_errors, methods=["GET"]),
        Route("/api/limiters", api.api_limiters, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    for path in set_paths:
        slug = path[1:]
        routes += [
            Route(path, _page_with_slug(pages.job_set, slug), methods=["GET"]),
            Route(path, _action_with_slug(actions.set_action, slug), methods=["POST"]),
            Route(path + "/all/{action}", _action_with_slug(actions.set_action, slug), methods=["POST"]),
        ]
    return routes


def _to_stats(request: Request) -> Response:
    return RedirectResponse(str(request.scope.get("root_path", "")) + "/stats", status_code=301)


def _page_with_slug(endpoint: Callable[[Request], Response], slug: str) -> Callable[[Request], Response]:
    """A page handler for one set: ``path_params["slug"]`` names it (run in a thread, as it blocks)."""

    def page(request: Request) -> Response:
        request.scope["path_params"] = {**request.path_params, "slug": slug}
        return endpoint(request)

    return page


def _action_with_slug(
    endpoint: Callable[[Request], Awaitable[Response]], slug: str
) -> Callable[[Request], Awaitable[Response]]:
    """An action handler for one set."""

    async def action(request: Request) -> Response:
        request.scope["path_params"] = {**request.path_params, "slug": slug}
        return await endpoint(request)

    return action


class Reads:
    """ASGI middleware: every request passes ``authorize(request, "read")``; ``HEAD /`` answers as a
    cheap health check before any page is rendered; security headers on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        dashboard: Dashboard = scope["app"].state.dashboard
        if not dashboard.allowed(request, "read"):
            await PlainTextResponse("Not allowed to read this dashboard.", 403)(scope, receive, send)
            return
        if scope["method"] == "HEAD" and _inner_path(scope) == "/":
            from starlette.concurrency import run_in_threadpool

            response = await run_in_threadpool(api.health, request)
            await response(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _inner_path(scope: Scope) -> str:
    root = str(scope.get("root_path", ""))
    path = str(scope.get("path", "/"))
    return (path[len(root) :] if root and path.startswith(root) else path) or "/"


async def _store_error(request: Request, exc: Exception) -> Response:
    # A store that is down or refuses a read must not turn into a traceback page; the next request
    # tries again (the store reconnects by itself).
    LOG.warning("dashboard request %s failed: %s", request.url.path, exc)
    return PlainTextResponse(f"The store did not answer: {exc}. Reload to try again.", 503)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return PlainTextResponse(str(exc.detail), exc.status_code)


def create_app(
    url: str | None = None,
    store: Store | None = None,
    authorize: Authorize | None = None,
    read_only: bool = False,
    periodic: Sequence[PeriodicEntry] = (),
) -> Starlette:
    """The dashboard over the store ``url`` names (or an open ``store``), as an ASGI app.

    ``authorize(request, action) -> bool`` is asked before every read (``"read"``) and action;
    ``read_only=True`` refuses every action and hides the buttons; ``periodic`` are the entries the
    Cron page shows (``registry.periodic_entries()`` of the loaded workers). Mount it under a prefix
    (``Mount("/jobs", app=create_app(...))``): every link honours ``root_path``.
    """
    if (url is None) == (store is None):
        raise ValueError("create_app needs exactly one of url= (a store URL) or store= (an open Store)")
    opened = store if store is not None else open_store(str(url))
    dashboard = Dashboard(Admin(opened), CronAdmin(opened, list(periodic)), Templates(), authorize, read_only)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if store is None:  # the store this app opened is its own to close; a given one is the caller's
            opened.close()

    app = Starlette(
        lifespan=lifespan,
        routes=_routes(),
        middleware=[Middleware(Reads), Middleware(WriteGuard, read_only=read_only)],
        exception_handlers={SidequestError: _store_error, HTTPException: _http_error},
    )
    app.state.dashboard = dashboard
    return app
