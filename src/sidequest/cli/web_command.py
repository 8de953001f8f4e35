"""``sidequest web``: serve the dashboard with uvicorn, on 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from sidequest.cli.options import ArgumentProblem, CommandError, require_option, url_option
from sidequest.errors import ConfigurationError

DEFAULT_PORT = 7433


@click.command()
@url_option
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every one)."
)
@click.option(
    "--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535), help="TCP port."
)
@click.option("--basic-auth", metavar="USER:PASS", default=None, envvar="SIDEQUEST_WEB_AUTH",
              help="Ask every visitor for this user and password (env: SIDEQUEST_WEB_AUTH).")  # fmt: skip
@click.option("--read-only", is_flag=True, help="Show everything, allow no action.")
@click.option(
    "--root-path", default="", metavar="PREFIX", help="URL prefix when served behind a proxy at a subpath."
)
@require_option
def web(
    url: str,
    host: str,
    port: int,
    basic_auth: str | None,
    read_only: bool,
    root_path: str,
    requires: tuple[str, ...],
) -> None:
    """Serve the web dashboard (Sidekiq's Web UI pages) for the store URL names.

    Give -r with your worker modules to see their periodic (cron) entries.
    """
    try:
        import uvicorn
        from starlette.types import ASGIApp

        from sidequest.web import create_app
        from sidequest.web.security import BasicAuth, parse_credentials
    except ImportError as exc:
        raise CommandError(
            f"the dashboard needs the web extra: pip install 'sidequest[web]' ({exc})"
        ) from None
    from sidequest.loader import load_workers

    entries = []
    if requires:
        try:
            _, registry = load_workers(list(requires), Path.cwd())
        except ConfigurationError as exc:
            raise ArgumentProblem(str(exc)) from None
        entries = registry.periodic_entries()
    try:
        app = create_app(url=url, read_only=read_only, periodic=entries)
    except ConfigurationError as exc:
        raise ArgumentProblem(str(exc)) from None
    served: ASGIApp = app
    if basic_auth is not None:
        try:
            user, password = parse_credentials(basic_auth)
        except ValueError as exc:
            raise ArgumentProblem(f"--basic-auth: {exc}") from None
        served = BasicAuth(app, user, password)
    if host not in ("127.0.0.1", "localhost", "::1") and basic_auth is None:
        click.echo(
            f"Warning: listening on {host} without --basic-auth: "
            "anyone who can reach this port can act on jobs.",
            err=True,
        )
    # One line per action taken goes to the sidequest.web logger; show it beside uvicorn's own lines.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    click.echo(
        f"sidequest dashboard on http://{host}:{port}{root_path}/ "
        f"for {app.state.dashboard.admin.store.safe_url}"
    )
    uvicorn.run(served, host=host, port=port, root_path=root_path, log_level="info", access_log=False)
