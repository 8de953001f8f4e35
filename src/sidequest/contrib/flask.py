"""sidequest in a Flask application: ``Sidequest(app)`` (or ``Sidequest()`` then ``init_app(app)``).

::

    app = Flask(__name__)
    app.config["SIDEQUEST_URL"] = "redis://localhost:6379/0"
    Sidequest(app)              # the default client, `flask sidequest ...`, the dashboard at /sidequest

Config keys (all optional):

* ``SIDEQUEST_URL``: the store (default ``$SIDEQUEST_URL``, else ``sqlite:///sidequest.db``);
* ``SIDEQUEST_QUEUES``: the queues ``flask sidequest run`` reads by default, e.g. ``["critical", "default"]``;
* ``SIDEQUEST_OPTIONS``: defaults for any other ``sidequest run`` option, e.g. ``{"concurrency": 5}``;
* ``SIDEQUEST_WORKERS``: the worker modules ``flask sidequest run`` loads (default: its ``-r`` default);
* ``SIDEQUEST_DASHBOARD_PREFIX``: where the dashboard is mounted (default ``/sidequest``; None for none);
* ``SIDEQUEST_DASHBOARD_READ_ONLY``: refuse every dashboard action (default False).

``authorize(request) -> bool`` (a Flask request, inside a request context of the app, so ``session``
and extensions such as Flask-Login's ``current_user`` work) guards the dashboard; without it the
dashboard has no login of its own: give it one, or mount it read-only, outside development.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from flask import Flask, Request, request
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.wrappers import Response

from sidequest.contrib.cli import CommandSetup, check_run_options, framework_group
from sidequest.defaults import DEFAULT_URL, URL_ENV
from sidequest.errors import ConfigurationError

EXTENSION = "sidequest"
PREFIX = "/sidequest"


class Sidequest:
    """The Flask extension; one instance may serve several apps (``init_app``)."""

    def __init__(
        self, app: Flask | None = None, *, authorize: Callable[[Request], bool] | None = None
    ) -> None:
        self.authorize = authorize
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Read ``app.config``, configure the default client, add ``flask sidequest``, mount the dashboard.
        A bad ``SIDEQUEST_*`` value is a ConfigurationError here, naming the key."""
        from sidequest.defaults import DEFAULT

        url = self.url(app)
        run_defaults = _run_defaults(app.config)
        DEFAULT.configure_lazily(
            url
        )  # the store is opened at the first enqueue, not by every `flask` command
        app.extensions[EXTENSION] = self

        def setup() -> CommandSetup:
            return CommandSetup(url=url, run_defaults=run_defaults, relaunch=_relaunch())

        app.cli.add_command(
            framework_group("sidequest", setup, "sidequest's commands with this app's config.")
        )
        prefix = app.config.get("SIDEQUEST_DASHBOARD_PREFIX", PREFIX)
        if prefix is not None:
            if not isinstance(prefix, str) or not prefix.startswith("/") or prefix.endswith("/"):
                raise ConfigurationError(
                    f"SIDEQUEST_DASHBOARD_PREFIX must look like '/sidequest' (or be None); got {prefix!r}"
                )
            read_only = bool(app.config.get("SIDEQUEST_DASHBOARD_READ_ONLY", False))
            dashboard = self._guarded(app, _Dashboard(url, read_only))
            app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {prefix: dashboard})  # type: ignore[method-assign]

    @staticmethod
    def url(app: Flask) -> str:
        """The store URL this app uses."""
        url = app.config.get("SIDEQUEST_URL") or os.environ.get(URL_ENV) or DEFAULT_URL
        if not isinstance(url, str):
            raise ConfigurationError(f"SIDEQUEST_URL must be a store URL string; got {url!r}")
        return url

    def _guarded(self, app: Flask, dashboard: Any) -> Callable[[dict[str, Any], Any], Any]:
        authorize = self.authorize

        def guarded(environ: dict[str, Any], start_response: Any) -> Any:
            if authorize is not None:
                with app.request_context(environ):
                    allowed = authorize(request)
                if not allowed:
                    return Response("You may not see the sidequest dashboard.", 403)(environ, start_response)
            return dashboard(environ, start_response)

        return guarded


class _Dashboard:
    """The dashboard as a WSGI app, made (and its store opened) at the first request."""

    def __init__(self, url: str, read_only: bool) -> None:
        self.url, self.read_only = url, read_only
        self._lock = threading.Lock()
        self._app: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        with self._lock:
            if self._app is None:
                from a2wsgi import ASGIMiddleware

                from sidequest.web import create_app

                made = create_app(url=self.url, read_only=self.read_only)
                self._app = ASGIMiddleware(made)  # type: ignore[arg-type]
        return self._app(environ, start_response)


def _run_defaults(config: Mapping[str, Any]) -> dict[str, Any]:
    defaults = check_run_options(config.get("SIDEQUEST_OPTIONS", {}), "SIDEQUEST_OPTIONS")
    for key, name in (("SIDEQUEST_QUEUES", "queues"), ("SIDEQUEST_WORKERS", "requires")):
        value = config.get(key)
        if value is None:
            continue
        if (
            isinstance(value, str)
            or not isinstance(value, Sequence)
            or not all(isinstance(v, str) for v in value)
        ):
            raise ConfigurationError(f"{key} must be a list of names, e.g. ['default']; got {value!r}")
        defaults[name] = list(value)
    return defaults


def _relaunch() -> tuple[list[str], list[str]] | None:
    """``python -m flask [--app X] sidequest`` and the arguments after it, for run -p / --reload."""
    if EXTENSION not in sys.argv[1:]:
        return None
    at = sys.argv.index(EXTENSION, 1)
    return [sys.executable, "-m", "flask", *sys.argv[1:at], EXTENSION], sys.argv[at + 1 :]
