"""The ``sidequest`` command line inside a framework's own (``manage.py sidequest``, ``flask sidequest``).

The framework's group holds the very commands of ``sidequest`` (``run``, ``stats``, ``jobs``, ...), so
every option is the same; what the framework's settings say (the store URL, ``run``'s queues and
options, the worker modules) becomes those commands' defaults, and an option on the command line still
wins. ``run -p N`` and ``run --reload`` start their children through the framework's command again.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import click

from sidequest.defaults import URL_ENV
from sidequest.errors import ConfigurationError

RELAUNCH = "sidequest.relaunch"
"""``ctx.meta`` key: ``(prefix, args)``, the command that runs this same group again and the arguments
given after it; ``sidequest run`` starts its ``-p``/``--reload`` children with it."""

NOT_RUN_DEFAULTS = frozenset({"url", "requires", "queues"})
"""``run`` options the settings give by name of their own (URL, QUEUES, worker discovery)."""


@dataclass(frozen=True)
class CommandSetup:
    """What a framework's settings give its ``sidequest`` commands."""

    url: str | None
    run_defaults: Mapping[str, Any] = field(default_factory=dict)
    relaunch: tuple[Sequence[str], Sequence[str]] | None = None


def run_option_names() -> list[str]:
    """The names ``sidequest run`` takes in a settings' OPTIONS (its parameters, as Python names)."""
    from sidequest.cli.run import run

    return sorted(str(param.name) for param in run.params if param.name not in NOT_RUN_DEFAULTS)


def check_run_options(options: object, where: str) -> dict[str, Any]:
    """``options`` as ``run`` defaults, or ConfigurationError naming ``where`` and the bad key."""
    if not isinstance(options, Mapping):
        raise ConfigurationError(
            f"{where} must be a dict of 'sidequest run' options, e.g. {{'concurrency': 5}}"
        )
    known = run_option_names()
    for key in options:
        if key not in known:
            raise ConfigurationError(
                f"{where} has an unknown option {key!r}; 'sidequest run' takes: {', '.join(known)} "
                "(the store, queues and worker modules have settings of their own)"
            )
    return dict(options)


def default_map(group: click.Group, run_defaults: Mapping[str, Any]) -> dict[str, Any]:
    """click's ``default_map`` giving ``run`` the settings' defaults, and every other command those of
    them it takes too (``check`` loads the same worker modules)."""
    found: dict[str, Any] = {}
    for name, command in group.commands.items():
        taken = {str(param.name) for param in command.params}
        given = {key: value for key, value in run_defaults.items() if key in taken}
        if given:
            found[name] = given
    return found


class FrameworkGroup(click.Group):
    """The ``sidequest`` commands under a framework's command line; see :func:`framework_group`."""

    def __init__(self, name: str, setup: Callable[[], CommandSetup], help_text: str) -> None:
        from sidequest.cli import main

        super().__init__(
            name,
            commands=dict(main.commands),
            help=help_text,
            context_settings={"help_option_names": ["-h", "--help"]},
        )
        self.setup = setup

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand with the settings' defaults; the store URL is ``$SIDEQUEST_URL`` for the
        command's duration (children of ``run -p`` inherit it), then put back."""
        try:
            given = self.setup()
        except ConfigurationError as exc:
            raise click.ClickException(str(exc)) from None
        ctx.default_map = {**default_map(self, given.run_defaults), **(ctx.default_map or {})}
        if given.relaunch is not None:
            ctx.meta[RELAUNCH] = given.relaunch
        if not given.url:
            return super().invoke(ctx)
        before = os.environ.get(URL_ENV)
        os.environ[URL_ENV] = given.url
        try:
            return super().invoke(ctx)
        finally:
            if before is None:
                os.environ.pop(URL_ENV, None)
            else:
                os.environ[URL_ENV] = before


def framework_group(name: str, setup: Callable[[], CommandSetup], help_text: str) -> click.Group:
    """A click group named ``name`` with every ``sidequest`` command, their defaults from ``setup()``.

    ``setup`` runs when a command is invoked (after the framework has loaded its settings); a
    ConfigurationError it raises is one line for the person who typed the command. The settings' URL
    wins over ``$SIDEQUEST_URL`` (it is what the application enqueues to); ``--url`` wins over both.
    """
    return FrameworkGroup(name, setup, help_text)
