"""The dashboard, served by Django under the prefix ``urls.py`` mounts it at, to authorized users only.

The dashboard is an ASGI app (:func:`sidequest.web.create_app`); each request that passes
``SIDEQUEST['DASHBOARD']['AUTHORIZE']`` (staff users by default) is handed to it through a2wsgi with
``SCRIPT_NAME`` set to the prefix, so every link and asset URL it writes lands under the prefix. An
anonymous user is sent to ``LOGIN_URL``; a signed-in user who may not see it gets a 403.
"""

from __future__ import annotations

import io
import sys
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt

from sidequest.contrib.django.apps import sidequest_config

HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "upgrade"})


@csrf_exempt  # the dashboard refuses cross-site POSTs itself (Origin / Sec-Fetch-Site checks)
def dashboard(request: HttpRequest, path: str = "") -> HttpResponse:
    """Serve ``path`` of the dashboard, or refuse the request."""
    config = sidequest_config()
    if not config.settings.authorize(request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            response: HttpResponse = redirect_to_login(request.get_full_path())
            return response
        return HttpResponseForbidden("You may not see the sidequest dashboard.")
    inner = "/" + path
    mount = request.path_info[: len(request.path_info) - len(path)].rstrip("/")
    return _call(config.dashboard(), _environ(request, mount, inner))


def _environ(request: HttpRequest, mount: str, inner: str) -> dict[str, Any]:
    body = request.body
    environ: dict[str, Any] = {key: value for key, value in request.META.items() if isinstance(value, str)}
    environ.update(
        {
            "REQUEST_METHOD": request.method or "GET",
            "SCRIPT_NAME": request.META.get("SCRIPT_NAME", "") + _wsgi_string(mount),
            "PATH_INFO": _wsgi_string(inner),
            "QUERY_STRING": request.META.get("QUERY_STRING", ""),
            "CONTENT_LENGTH": str(len(body)),
            "SERVER_NAME": request.META.get("SERVER_NAME", "localhost"),
            "SERVER_PORT": str(request.META.get("SERVER_PORT", "80")),
            "SERVER_PROTOCOL": request.META.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": request.scheme or "http",
            "wsgi.version": (1, 0),
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
    )
    return environ


def _wsgi_string(text: str) -> str:
    """A path as WSGI carries it: its UTF-8 bytes, one latin-1 character each (PEP 3333)."""
    return text.encode("utf-8").decode("latin-1")


def _call(app: Any, environ: dict[str, Any]) -> HttpResponse:
    started: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        started.append((status, headers))

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    status, headers = started[-1]
    response = HttpResponse(body, status=int(status.split(" ", 1)[0]))
    for name, value in headers:
        if name.lower() not in HOP_BY_HOP:
            response[name] = value
    return response
