"""Jinja2 for the dashboard: autoescaping on for every template, and the filters pages use.

Job data (args, error messages, class names) comes from payloads anyone who can enqueue controls, so
it is only ever rendered through autoescaping: no template marks job data ``|safe``, and JSON is
pretty-printed as text inside ``<pre>``.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from sidequest import __version__

TEMPLATES = Path(__file__).resolve().parent / "templates"


def app_path(request: Request) -> str:
    """The request's path inside the dashboard (without the prefix it is mounted under)."""
    root = str(request.scope.get("root_path", ""))
    path = str(request.scope.get("path", "/"))
    return path[len(root) :] if root and path.startswith(root) else path


def ago(timestamp: Any, now: float | None = None) -> str:
    """Epoch seconds as "5 s ago" / "in 3 min"; "-" when there is no time."""
    if not isinstance(timestamp, int | float) or isinstance(timestamp, bool) or timestamp <= 0:
        return "-"
    delta = (time.time() if now is None else now) - float(timestamp)
    text = duration(abs(delta))
    return f"{text} ago" if delta >= 0 else f"in {text}"


def duration(seconds: Any) -> str:
    """Seconds as "42 s", "3 min", "5 h", "2 d"."""
    if not isinstance(seconds, int | float):
        return "-"
    value = float(seconds)
    if value < 60:
        return f"{value:.0f} s" if value >= 1 or value == 0 else f"{value:.2f} s"
    if value < 3600:
        return f"{value / 60:.0f} min"
    if value < 86400:
        return f"{value / 3600:.1f} h"
    return f"{value / 86400:.1f} d"


def when(timestamp: Any) -> str:
    """Epoch seconds as an ISO UTC time; "-" when there is no time."""
    if not isinstance(timestamp, int | float) or isinstance(timestamp, bool) or timestamp <= 0:
        return "-"
    try:
        return datetime.fromtimestamp(float(timestamp), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return "-"


def pretty(value: Any) -> str:
    """Any JSON value, indented, as text (escaped by the template like any other text)."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def compact(value: Any, limit: int = 200) -> str:
    """A JSON value on one line, cut at ``limit`` characters (table cells)."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Templates:
    """The dashboard's templates, with links built under the prefix the app is mounted at."""

    def __init__(self) -> None:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=True,  # every template, whatever its name: payload text is never markup
            undefined=jinja2.ChainableUndefined,  # payload fields are often absent: render them empty
        )
        env.filters.update(ago=ago, when=when, pretty=pretty, compact=compact, duration=duration)
        self._templates = Jinja2Templates(env=env)

    def render(
        self, request: Request, name: str, context: dict[str, Any], status_code: int = 200
    ) -> Response:
        """Render ``name`` with ``context`` plus ``url()`` (prefix-aware links), ``here`` and version."""
        root = str(request.scope.get("root_path", ""))

        def url(path: str, **query: Any) -> str:
            params = {key: value for key, value in query.items() if value not in (None, "")}
            return root + path + ("?" + urlencode(params) if params else "")

        path = app_path(request)
        context.update(
            url=url,
            here=path + (f"?{request.url.query}" if request.url.query else ""),
            path=path,
            version=__version__,
            notice=request.query_params.get("notice", ""),
        )
        return self._templates.TemplateResponse(request, name, context, status_code=status_code)
