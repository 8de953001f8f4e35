"""Options and error handling shared by the ``sidequest`` subcommands.

Every command that talks to a store takes ``--url`` (default: ``$SIDEQUEST_URL``, else
``sqlite:///sidequest.db``) and ``--json``. Errors people cause (a bad URL, a store that is down, an
unknown location) end the command with one ``Error: ...`` line on stderr and a non-zero exit code,
never a traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

import click

from sidequest.admin import LOCATIONS_HELP, Admin, AdminError, Location
from sidequest.defaults import DEFAULT_URL, URL_ENV
from sidequest.errors import SidequestError
from sidequest.stores import open_store
from sidequest.stores.base import Store

F = TypeVar("F", bound=Callable[..., Any])

EXIT_PROBLEM = 1
"""Exit code when the command ran but found a problem (a missing jid, a flagged worker)."""
EXIT_USAGE = 2
"""Exit code for a bad argument, as click uses for usage errors."""


class CommandError(click.ClickException):
    """One line on stderr (``Error: ...``) and exit code 1: how every expected failure ends."""

    exit_code = EXIT_PROBLEM


class ArgumentProblem(CommandError):
    """A bad argument (an unknown location, a worker module that does not import): one line, exit 2."""

    exit_code = EXIT_USAGE


def url_option(func: F) -> F:
    """``--url``: the store to use."""
    return click.option(
        "--url",
        envvar=URL_ENV,
        default=DEFAULT_URL,
        show_default=True,
        metavar="URL",
        help=f"Store URL (sqlite:///path.db, redis://host:6379/0); defaults to ${URL_ENV}.",
    )(func)


def json_option(func: F) -> F:
    """``--json``: print machine-readable JSON instead of tables."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(func)


def require_option(func: F) -> F:
    """``-r/--require MODULE``, repeatable: worker modules to import, as ``sidequest run`` takes them."""
    return click.option(
        "-r",
        "--require",
        "requires",
        multiple=True,
        metavar="MODULE",
        help="Worker module to import (dotted name or path to a .py file); repeatable. "
        "Default: the app/workers or workers package of the current directory.",
    )(func)


def yes_option(func: F) -> F:
    """``-y/--yes``: skip the confirmation prompt of a destructive action."""
    return click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")(func)


def parse_location(ctx: click.Context, param: click.Parameter, value: str) -> Location:
    """Click callback for a WHERE argument: ``queue:NAME``, ``scheduled``, ``retry`` or ``dead``. An
    unknown location ends the command with one clear line and exit code 2."""
    try:
        return Location.parse(value)
    except AdminError as exc:
        raise ArgumentProblem(str(exc)) from None


def where_argument(func: F) -> F:
    """The WHERE argument, parsed to a :class:`Location`."""
    return click.argument("where", metavar="WHERE", callback=parse_location)(func)


WHERE_HELP = f"WHERE is {LOCATIONS_HELP}."


def reports_errors(func: F) -> F:
    """Turn sidequest's own errors (and an unreachable store) into one ``Error:`` line and exit 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except SidequestError as exc:
            raise CommandError(str(exc)) from None
        except OSError as exc:
            # Stores wrap their own errors in StoreError; this net keeps a stray OS error (a socket, a
            # file) from becoming a traceback.
            raise CommandError(f"store error: {exc}") from None

    return cast(F, wrapper)


@contextmanager
def opened_store(url: str) -> Iterator[Store]:
    """Open the store ``url`` names for the length of a command."""
    try:
        store = open_store(url)
    except ImportError as exc:  # a store whose client library is not installed
        raise CommandError(f"cannot load the store for this URL: {exc}") from None
    try:
        yield store
    finally:
        store.close()


@contextmanager
def opened_admin(url: str) -> Iterator[Admin]:
    """An :class:`Admin` over the store ``url`` names, closed at the end of the block."""
    with opened_store(url) as store:
        yield Admin(store)
