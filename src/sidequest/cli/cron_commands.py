"""``sidequest cron``: list the periodic jobs of your workers, pause and resume them, enqueue one now.

Periodic entries are registered in code, so each command loads the worker modules first (``-r``, or
the conventional ``app/workers`` package, as ``sidequest run`` does), then calls
:class:`sidequest.admin_cron.CronAdmin`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import click

from sidequest.admin_cron import CronAdmin, CronEntryInfo
from sidequest.cli.format import relative, table, to_json
from sidequest.cli.options import (
    ArgumentProblem,
    json_option,
    opened_store,
    reports_errors,
    require_option,
    url_option,
)
from sidequest.cron import zone
from sidequest.errors import ConfigurationError
from sidequest.loader import load_workers


@click.group()
def cron() -> None:
    """Periodic jobs: list them, pause and resume them, enqueue one now."""


@contextmanager
def opened_cron(requires: tuple[str, ...], url: str) -> Iterator[CronAdmin]:
    """A CronAdmin over the entries the worker modules register, on the store ``url`` names."""
    try:
        _, registry = load_workers(list(requires), Path.cwd())
        entries = registry.periodic_entries()
    except ConfigurationError as exc:
        raise ArgumentProblem(str(exc)) from None
    with opened_store(url) as store:
        yield CronAdmin(store, entries)


@cron.command("list")
@require_option
@url_option
@json_option
@reports_errors
def list_entries(requires: tuple[str, ...], url: str, as_json: bool) -> None:
    """Every periodic entry: schedule, time zone, next run, last enqueue, paused or not."""
    with opened_cron(requires, url) as admin:
        entries = admin.entries()
    click.echo(to_json(entries) if as_json else render(entries, time.time()))


def _state_command(verb: str, help_text: str) -> click.Command:
    @click.command(verb, help=help_text)
    @click.argument("name")
    @require_option
    @url_option
    @json_option
    @reports_errors
    def command(name: str, requires: tuple[str, ...], url: str, as_json: bool) -> None:
        with opened_cron(requires, url) as admin:
            info = admin.pause(name) if verb == "pause" else admin.resume(name)
        if as_json:
            click.echo(to_json(info))
        elif info.paused:
            click.echo(f"paused {name}: no job is enqueued for it until 'sidequest cron resume {name}'")
        else:
            click.echo(f"resumed {name}: next run {when(info.next_run, info.tz, time.time())}")

    return command


cron.add_command(
    _state_command("pause", "Stop enqueueing NAME's ticks in every process (skipped, not saved up).")
)
cron.add_command(_state_command("resume", "Enqueue NAME's ticks again, from the next one."))


@cron.command("enqueue")
@click.argument("name")
@require_option
@url_option
@json_option
@reports_errors
def enqueue_now(name: str, requires: tuple[str, ...], url: str, as_json: bool) -> None:
    """Enqueue one job of periodic entry NAME now (even if paused) and print its jid."""
    with opened_cron(requires, url) as admin:
        jid = admin.enqueue(name)
        queue = admin.entry(name).queue
    click.echo(to_json({"jid": jid, "name": name, "queue": queue}) if as_json else jid)


def when(tick: float | None, tz: str, now: float) -> str:
    """A tick as local time in the entry's zone, and how far from now: ``2026-11-28 03:30:00 CET (in
    4h 12m)``; ``-`` when there is none."""
    if tick is None:
        return "-"
    local = datetime.fromtimestamp(tick, zone(tz))
    return f"{local:%Y-%m-%d %H:%M:%S %Z} ({relative(tick, now)})"


def render(entries: list[CronEntryInfo], now: float) -> str:
    """The entries as a table."""
    if not entries:
        return "no periodic entries: register some with sidequest.periodic(...) in a module loaded with -r"
    rows = [
        [
            info.name,
            info.expression,
            info.tz,
            info.queue,
            when(info.next_run, info.tz, now) if not info.paused else "-",
            when(info.state.last_tick, info.tz, now),
            "paused" if info.paused else "active",
        ]
        for info in entries
    ]
    return table(["NAME", "SCHEDULE", "TZ", "QUEUE", "NEXT RUN", "LAST ENQUEUE", "STATE"], rows)
