"""``manage.py sidequest run`` (the same options as ``sidequest run``) and the admin commands
(``stats``, ``jobs``, ``queues``, ``processes``, ...), with the project's ``SIDEQUEST`` settings."""

from __future__ import annotations

import os
import sys
from argparse import REMAINDER, ArgumentParser
from typing import Any

import click
from django.core.management.base import BaseCommand, CommandError

from sidequest.contrib.cli import CommandSetup, framework_group
from sidequest.contrib.django.jobs import DJANGO_CONNECTIONS


def _setup() -> CommandSetup:
    from sidequest.contrib.django.apps import sidequest_config

    config = sidequest_config()
    defaults = config.settings.run_defaults()
    if config.worker_modules:
        defaults.setdefault("requires", list(config.worker_modules))
    defaults.setdefault("middleware", [DJANGO_CONNECTIONS])
    manage = os.path.abspath(sys.argv[0])
    relaunch = ([sys.executable, manage, "sidequest"], sys.argv[2:]) if os.path.isfile(manage) else None
    return CommandSetup(
        url=config.settings.url if config.settings.url_given else None,
        run_defaults=defaults,
        relaunch=relaunch,
    )


def group(prog: str) -> click.Group:
    """The ``sidequest`` click group with this project's defaults."""
    return framework_group(prog, _setup, "sidequest's commands with this project's SIDEQUEST settings.")


class Command(BaseCommand):
    help = "sidequest's commands (run, stats, jobs, queues, processes, ...) with this project's settings"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "args", nargs=REMAINDER, help="a sidequest command and its options, e.g. run -c 5"
        )

    def run_from_argv(self, argv: list[str]) -> None:
        """``manage.py sidequest ...``: click parses everything after ``sidequest``."""
        prog = f"{os.path.basename(argv[0])} {argv[1]}"
        group(prog).main(args=argv[2:], prog_name=prog)

    def print_help(self, prog_name: str, subcommand: str) -> None:
        """``manage.py help sidequest``: click's help of the group."""
        prog = f"{os.path.basename(prog_name)} {subcommand}"
        group(prog).main(args=["--help"], prog_name=prog, standalone_mode=False)

    def handle(self, *args: str, **options: Any) -> None:
        """``call_command("sidequest", "stats", "--json")``; a failure is a CommandError."""
        try:
            group("sidequest").main(args=list(args), prog_name="sidequest", standalone_mode=False)
        except click.ClickException as exc:
            raise CommandError(exc.format_message()) from None
        except SystemExit as exc:
            if exc.code:
                raise CommandError(f"sidequest {' '.join(args)} exited with {exc.code}") from None
