"""Refusing what the dashboard must not do: cross-site POSTs, writes in read-only mode, and (for the
standalone server) requests without the right basic-auth credentials.

Cross-site request forgery is refused the way Sidekiq 8.1 does it, with no token: a browser marks
every request with ``Sec-Fetch-Site``, and only ``same-origin`` may change state. A browser too old
to send it still sends ``Origin`` on a POST, which must then name this very host. A client that sends
neither is not a browser (curl, a script), so no other site can have made it send the request.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def same_origin(headers: Headers) -> bool:
    """True when a state-changing request may come from a page of this site."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site == "same-origin"
    origin = headers.get("origin")
    if origin is None:
        return True
    host = headers.get("host", "")
    return origin != "null" and urlsplit(origin).netloc.lower() == host.lower()


class WriteGuard:
    """ASGI middleware: a POST from another site gets 403, and in read-only mode every POST does."""

    def __init__(self, app: ASGIApp, read_only: bool) -> None:
        self.app = app
        self.read_only = read_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            if self.read_only:
                response = PlainTextResponse("This dashboard is read-only: no action can be taken.", 403)
                await response(scope, receive, send)
                return
            if not same_origin(Headers(scope=scope)):
                response = PlainTextResponse(
                    "Cross-site request refused: actions are accepted only from the dashboard's own pages.",
                    403,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def parse_credentials(text: str) -> tuple[str, str]:
    """``"USER:PASS"`` -> ``("USER", "PASS")``; ValueError naming the expected form otherwise."""
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise ValueError("basic auth must be USER:PASS, both parts non-empty (e.g. admin:s3cret)")
    return user, password


class BasicAuth:
    """ASGI middleware for the standalone server: every request needs these basic-auth credentials."""

    def __init__(self, app: ASGIApp, user: str, password: str) -> None:
        self.app = app
        self._expected = f"{user}:{password}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._valid(Headers(scope=scope).get("authorization", "")):
            response = PlainTextResponse(
                "Sign in with the user and password given to sidequest web --basic-auth.",
                401,
                headers={"WWW-Authenticate": 'Basic realm="sidequest"'},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _valid(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            given = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            return False
        return secrets.compare_digest(given, self._expected)
