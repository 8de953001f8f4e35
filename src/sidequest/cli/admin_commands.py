"""The commands people use on a store: ``stats``, ``history``, ``enqueue``, ``jobs``, ``queues``,
``processes``, ``quiet``, ``stop`` (and ``check`` from :mod:`sidequest.cli.check`).

Each one parses its arguments, calls :class:`sidequest.admin.Admin` (or the Client, for ``enqueue``)
and renders the answer with :mod:`sidequest.cli.format`; no store primitive is called here.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import click

from sidequest.admin import ALL, ActionResult, Admin, Location, ProcessSelection, Selection
from sidequest.cli import format as views
from sidequest.cli.cancel_command import cancel_jobs
from sidequest.cli.check import check
from sidequest.cli.cron_commands import cron
from sidequest.cli.format import to_json
from sidequest.cli.options import (
    WHERE_HELP,
    CommandError,
    json_option,
    opened_admin,
    opened_store,
    reports_errors,
    url_option,
    where_argument,
    yes_option,
)
from sidequest.client import Client


def register(main: click.Group) -> None:
    """Add the admin commands to the ``sidequest`` group."""
    for command in (stats, history, enqueue, jobs, queues, processes, quiet, stop, check, cron):
        main.add_command(command)


# -- reads -------------------------------------------------------------------------------------------


@click.command()
@url_option
@json_option
@reports_errors
def stats(url: str, as_json: bool) -> None:
    """Totals, queues with size and latency, and live processes."""
    with opened_admin(url) as admin:
        overview = admin.overview()
    click.echo(to_json(overview) if as_json else views.overview(overview, time.time()))


@click.command()
@click.option("--days", default=7, show_default=True, help="How many days, up to 180.")
@url_option
@json_option
@reports_errors
def history(days: int, url: str, as_json: bool) -> None:
    """Jobs processed and failed per UTC day, newest first."""
    with opened_admin(url) as admin:
        rows = admin.history(days)
    click.echo(to_json(rows) if as_json else views.history(rows))


@click.command()
@url_option
@json_option
@reports_errors
def processes(url: str, as_json: bool) -> None:
    """Live processes and the jobs they are running."""
    with opened_admin(url) as admin:
        live, busy = admin.processes(), admin.busy()
    if as_json:
        click.echo(to_json({"processes": live, "busy": busy}))
    else:
        click.echo(views.processes(live, busy, time.time()))


# -- enqueue -----------------------------------------------------------------------------------------


@click.command(epilog="Arguments starting with '-' go after '--': sidequest enqueue Cls -- -5")
@click.argument("class_name", metavar="CLASS")
@click.argument("json_args", nargs=-1, metavar="[JSON_ARGS]...")
@click.option(
    "-q", "--queue", help="Queue to push to (default: 'default'; a worker's own options are not read)."
)
@click.option("--in", "delay", type=float, metavar="SECONDS", help="Run after this many seconds.")
@click.option("--at", "at_text", metavar="EPOCH_OR_ISO", help="Run at an epoch second or ISO 8601 time.")
@url_option
@json_option
@reports_errors
def enqueue(
    class_name: str,
    json_args: tuple[str, ...],
    queue: str | None,
    delay: float | None,
    at_text: str | None,
    url: str,
    as_json: bool,
) -> None:
    """Enqueue a job for CLASS (a Python import path or a Ruby class name) and print its jid.

    Each JSON_ARGS is one JSON value: sidequest enqueue app.workers.OrderWorker 42 '"hello"' '{"a":1}'.
    """
    args = [_json_arg(position, text) for position, text in enumerate(json_args, start=1)]
    at = _when(delay, at_text)
    item: dict[str, Any] = {"class": class_name, "args": args}
    if queue is not None:
        item["queue"] = queue
    if at is not None:
        item["at"] = at
    with opened_store(url) as store:
        jid = Client(store).push(item)
    if jid is None:
        raise CommandError("a client middleware dropped the job; nothing was enqueued")
    if as_json:
        click.echo(to_json({"jid": jid, "class": class_name, "queue": queue or "default", "at": at}))
    else:
        click.echo(jid)


def _json_arg(position: int, text: str) -> Any:
    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        return json.loads(text, parse_constant=no_constants)
    except ValueError as exc:
        raise click.BadParameter(
            f"argument {position} ({text!r}) is not a JSON value: {exc}. "
            f"Each argument is one JSON value; quote strings twice, e.g. '\"hello\"'.",
            param_hint="JSON_ARGS",
        ) from None


def _when(delay: float | None, at_text: str | None) -> float | None:
    if delay is not None and at_text is not None:
        raise click.UsageError("give --in or --at, not both")
    if delay is not None:
        if not math.isfinite(delay) or delay < 0:
            raise click.BadParameter(f"must be a number of seconds >= 0, got {delay}", param_hint="--in")
        return time.time() + delay if delay > 0 else None
    if at_text is None:
        return None
    try:
        seconds = float(at_text)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds):
            raise click.BadParameter(
                f"{at_text!r} is not a time: give a finite epoch second or an ISO 8601 time",
                param_hint="--at",
            )
        return seconds
    try:
        return datetime.fromisoformat(at_text).timestamp()
    except ValueError:
        raise click.BadParameter(
            f"{at_text!r} is neither an epoch second nor an ISO 8601 time such as 2030-01-31T09:30:00+00:00 "
            f"(a time without an offset is local time)",
            param_hint="--at",
        ) from None


# -- jobs --------------------------------------------------------------------------------------------


@click.group(epilog=WHERE_HELP)
def jobs() -> None:
    """List jobs in a queue or set, and retry, kill or delete them."""


@jobs.command("list", epilog=WHERE_HELP)
@where_argument
@click.option("--limit", default=25, show_default=True, type=click.IntRange(min=1), help="Jobs per page.")
@click.option("--offset", default=0, show_default=True, type=click.IntRange(min=0), help="Jobs to skip.")
@url_option
@json_option
@reports_errors
def list_jobs(where: Location, limit: int, offset: int, url: str, as_json: bool) -> None:
    """A page of the jobs in WHERE: a queue's next job first, scheduled and retry soonest first, dead
    latest first."""
    with opened_admin(url) as admin:
        entries = admin.jobs(where, offset, limit)
        total = admin.size(where)
    if as_json:
        click.echo(to_json({"where": str(where), "total": total, "offset": offset, "jobs": entries}))
    else:
        click.echo(views.jobs(where, entries, offset, total, time.time()))


@jobs.command("show")
@click.argument("jid")
@url_option
@json_option
@reports_errors
def show_job(jid: str, url: str, as_json: bool) -> None:
    """One job by JID, wherever it is: its payload, error and backtrace, times and retry count."""
    with opened_admin(url) as admin:
        details = admin.job(jid)
    if details is None:
        raise CommandError(f"no job {jid!r} in any queue, the scheduled, retry or dead set, or running")
    if as_json:
        click.echo(to_json(views.job_details_json(details)))
    else:
        click.echo(views.job_details(details, time.time()))


JobAction = Callable[[Admin, Location, Selection], ActionResult]
SignalAction = Callable[[Admin, ProcessSelection], list[str]]


def _job_action(verb: str, past: str, act: JobAction, help_text: str, asks: bool = False) -> click.Command:
    """A ``jobs VERB WHERE (JID... | --all)`` command; with ``asks``, ``--all`` needs a confirmation."""

    def action(
        where: Location, jids: tuple[str, ...], every: bool, url: str, as_json: bool, yes: bool = False
    ) -> None:
        if every == bool(jids):
            raise click.UsageError("give one or more JIDs, or --all")
        selection: Selection = ALL if every else list(jids)
        with opened_admin(url) as admin:
            if every and asks and not yes:
                count = admin.size(where)
                click.confirm(f"{verb.capitalize()} all {count} jobs in {where}?", abort=True, err=True)
            result = act(admin, where, selection)
        if as_json:
            click.echo(to_json(result))
        else:
            click.echo(f"{past} {result.done} job{'' if result.done == 1 else 's'} in {where}")
        if result.missing:
            raise CommandError(f"not found in {where}: {', '.join(result.missing)}")

    command = json_option(url_option(reports_errors(action)))
    if asks:
        command = yes_option(command)
    command = click.option("--all", "every", is_flag=True, help="Every job in WHERE.")(command)
    command = click.argument("jids", nargs=-1, metavar="[JID]...")(command)
    return click.command(verb, help=help_text, epilog=WHERE_HELP)(where_argument(command))


RETRY_HELP = "Move jobs in scheduled, retry or dead to the back of their queues now."
KILL_HELP = "Move jobs in scheduled or retry to the dead set."
DELETE_HELP = "Delete jobs for good (asks first with --all)."
jobs.add_command(_job_action("retry", "retried", Admin.retry, RETRY_HELP))
jobs.add_command(_job_action("kill", "killed", Admin.kill, KILL_HELP))
jobs.add_command(_job_action("delete", "deleted", Admin.delete, DELETE_HELP, asks=True))
jobs.add_command(cancel_jobs)


# -- queues ------------------------------------------------------------------------------------------


@click.group(invoke_without_command=True)
@url_option
@json_option
@click.pass_context
@reports_errors
def queues(ctx: click.Context, url: str, as_json: bool) -> None:
    """List queues with their size and latency ('queues clear|pause|resume NAME' acts on one)."""
    if ctx.invoked_subcommand is not None:
        return
    with opened_admin(url) as admin:
        listed = admin.queues()
    click.echo(to_json(listed) if as_json else views.queues(listed))


@queues.command("clear")
@click.argument("name")
@yes_option
@url_option
@json_option
@reports_errors
def clear_queue(name: str, yes: bool, url: str, as_json: bool) -> None:
    """Delete every job in queue NAME and forget the queue."""
    with opened_admin(url) as admin:
        if not yes:
            size = admin.size(f"queue:{name}")
            click.confirm(f"Delete all {size} jobs in queue {name!r}?", abort=True, err=True)
        removed = admin.clear_queue(name)
    click.echo(to_json({"queue": name, "deleted": removed}) if as_json else f"deleted {removed} jobs")


@queues.command("pause")
@click.argument("name")
@url_option
@json_option
@reports_errors
def pause_queue(name: str, url: str, as_json: bool) -> None:
    """Stop every process taking jobs from queue NAME; jobs keep arriving in it ('queues resume NAME')."""
    with opened_admin(url) as admin:
        admin.pause_queue(name)
    click.echo(to_json({"queue": name, "paused": True}) if as_json else f"paused queue {name}")


@queues.command("resume")
@click.argument("name")
@url_option
@json_option
@reports_errors
def resume_queue(name: str, url: str, as_json: bool) -> None:
    """Let processes take jobs from paused queue NAME again."""
    with opened_admin(url) as admin:
        admin.resume_queue(name)
    click.echo(to_json({"queue": name, "paused": False}) if as_json else f"resumed queue {name}")


# -- process signals ---------------------------------------------------------------------------------


def _signal_command(verb: str, act: SignalAction, help_text: str) -> click.Command:
    @click.command(verb, help=help_text)
    @click.argument("identity", required=False)
    @click.option("--all", "every", is_flag=True, help="Every live process.")
    @url_option
    @json_option
    @reports_errors
    def command(identity: str | None, every: bool, url: str, as_json: bool) -> None:
        if every == (identity is not None):
            raise click.UsageError("give a process IDENTITY (see 'sidequest processes'), or --all")
        target: ProcessSelection = ALL if every or identity is None else identity
        with opened_admin(url) as admin:
            signalled = act(admin, target)
        if as_json:
            click.echo(to_json({"signalled": signalled}))
        elif not signalled:
            click.echo("no live processes")
        else:
            click.echo("\n".join(f"{verb}: {identity}" for identity in signalled))

    return command


QUIET_HELP = "Ask a process (or --all) to stop fetching new jobs (TSTP); it finishes what it runs."
STOP_HELP = "Ask a process (or --all) to shut down (TERM): finish or requeue its jobs, then exit."
quiet = _signal_command("quiet", Admin.quiet, QUIET_HELP)
stop = _signal_command("stop", Admin.stop, STOP_HELP)
