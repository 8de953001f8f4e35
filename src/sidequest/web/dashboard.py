"""The dashboard's state, shared by every request of one app: the Admin, the cron entries, the
templates and the access rules. One instance per :func:`sidequest.web.create_app` call, kept in
``app.state`` (no module-level state, so several dashboards live in one process)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from sidequest.admin import Admin
from sidequest.admin_cron import CronAdmin
from sidequest.web.templating import Templates

Authorize = Callable[[Request, str], bool]
"""``authorize(request, action) -> bool``: the host application's access check. ``action`` is
``"read"`` for every page and API read, else the action's name (``"retry"``, ``"delete"``, ``"kill"``,
``"clear"``, ``"quiet"``, ``"stop"``, ``"cron.pause"``, ``"cron.resume"``, ``"cron.enqueue"``)."""

PAGE_SIZES = (25, 50, 100, 500)
"""The choices of the page-size selector on every list."""

LOG = logging.getLogger("sidequest.web")

ERROR_WINDOWS: Mapping[str, int | None] = MappingProxyType(
    {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "all": None}
)
"""The Errors page's windows: jobs that last failed within the last hour, day, week, or ever."""


def error_window(text: str | None) -> tuple[str, float | None]:
    """The window a request names (``?window=24h``; ``all`` when absent or unknown) and its start."""
    name = text if text is not None and text in ERROR_WINDOWS else "all"
    seconds = ERROR_WINDOWS[name]
    return name, (time.time() - seconds if seconds is not None else None)


@dataclass(frozen=True, slots=True)
class Paging:
    """Which page of a list a request asks for (``?page=1&count=25``), clamped to sane values."""

    page: int
    count: int

    @classmethod
    def of(cls, request: Request, default: int = 25) -> Paging:
        """Read ``page`` (from 1) and ``count`` (one of :data:`PAGE_SIZES`) from the query."""
        page = parse_int(request.query_params.get("page"), 1)
        count = parse_int(request.query_params.get("count"), default)
        return cls(max(page, 1), count if count in PAGE_SIZES else default)

    @property
    def offset(self) -> int:
        """Index of the page's first item."""
        return (self.page - 1) * self.count

    def pages(self, total: int) -> int:
        """How many pages ``total`` items fill (at least 1)."""
        return max(1, -(-total // self.count))


def parse_int(text: str | None, default: int) -> int:
    """``text`` as an int; ``default`` when it is absent or not a number (a hand-edited URL)."""
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


class Dashboard:
    """Everything a request handler needs; ``app.state.dashboard`` holds the app's one instance."""

    def __init__(
        self,
        admin: Admin,
        cron: CronAdmin,
        templates: Templates,
        authorize: Authorize | None,
        read_only: bool,
    ) -> None:
        self.admin = admin
        self.cron = cron
        self.templates = templates
        self.authorize = authorize
        self.read_only = read_only

    @staticmethod
    def of(request: Request) -> Dashboard:
        """The dashboard serving ``request``."""
        dashboard: Dashboard = request.app.state.dashboard
        return dashboard

    def allowed(self, request: Request, action: str) -> bool:
        """True when ``authorize`` (if any) lets this request do ``action``."""
        return self.authorize is None or bool(self.authorize(request, action))

    def render(self, request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
        """A template rendered with the common context (links, read-only flag)."""
        context.setdefault("read_only", self.read_only)
        return self.templates.render(request, template, context, status_code)

    def done(
        self, request: Request, action: str, where: str, count: int, missing: Sequence[str] = ()
    ) -> None:
        """Write the log line every action leaves: who did what, where, and to how many jobs."""
        client = request.client.host if request.client else "?"
        LOG.info(
            "dashboard action %s on %s: %d done, %d missing (from %s)",
            action,
            where,
            count,
            len(missing),
            client,
        )


def back_to(request: Request, fallback: str, notice: str, form_back: str | None = None) -> Response:
    """A 303 redirect after a POST, to ``form_back`` when it is a path of this app, else ``fallback``,
    with ``notice`` shown on the page. A ``back`` leading off the site (``//host``, ``https:``) is
    ignored, so the form field cannot be used to redirect people elsewhere."""
    root = request.scope.get("root_path", "")
    target = fallback
    if form_back and form_back.startswith("/") and not form_back.startswith("//") and "\\" not in form_back:
        target = form_back
    # The page's own address may carry the previous action's notice: replace it, keep the rest
    # (page, filter, page size).
    parts = urlsplit(target)
    query = [(key, value) for key, value in parse_qsl(parts.query) if key != "notice"]
    query.append(("notice", notice))
    return RedirectResponse(f"{root}{parts.path}?{urlencode(query)}", status_code=303)
