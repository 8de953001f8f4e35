"""The ``sidequest`` command. Each subcommand lives in its own module and only parses arguments."""

from __future__ import annotations

import click

from sidequest import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sidequest")
def main() -> None:
    """sidequest: background jobs for Python, the Sidekiq way."""


def _register() -> None:
    from sidequest.cli import run as run_module
    from sidequest.cli.limiter_commands import limiters
    from sidequest.cli.migrate_command import migrate
    from sidequest.cli.web_command import web

    main.add_command(run_module.run)
    main.add_command(web)
    main.add_command(migrate)
    main.add_command(limiters)
    from sidequest.cli.batch_commands import batches

    main.add_command(batches)
    try:
        from sidequest.cli import admin_commands
    except ImportError:  # pragma: no cover - while the admin commands are being written
        return
    admin_commands.register(main)


_register()
