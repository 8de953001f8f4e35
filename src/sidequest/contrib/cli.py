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
    """click's ``default_map`` giving ``run`` the settings' defaults."""
    return {"run": dict(run_defaults)} if "run" in group.commands else {}


def framework_group(name: str, setup: Callable[[], CommandSetup], help_text: str) -> click.Group:
    """A click group named ``name`` with every ``sidequest`` command, their defaults from ``setup()``.

    ``setup`` runs when the group is invoked (after the framework has loaded its settings); a
    ConfigurationError it raises is one line for the person who typed the command.
    """
    from sidequest.cli import main

    @click.pass_context
    def prepare(ctx: click.Context) -> None:
        try:
            given = setup()
        except ConfigurationError as exc:
            raise click.ClickException(str(exc)) from None
        if given.url:
            # Every command reads --url or $SIDEQUEST_URL; children of run -p inherit it.
            os.environ[URL_ENV] = given.url
        ctx.default_map = {**default_map(group, given.run_defaults), **(ctx.default_map or {})}
        if given.relaunch is not None:
            ctx.meta[RELAUNCH] = given.relaunch

    group = click.Group(
        name,
        commands=dict(main.commands),
        callback=prepare,
        help=help_text,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    return group
