"""``sidequest batches``: list a store's batches, show one (``show BID``), forget one (``delete BID``).
Parses arguments, calls :class:`sidequest.admin_batches.BatchAdmin`, renders; nothing else."""

from __future__ import annotations

import time

import click

from sidequest.admin_batches import BatchAdmin, state_of
from sidequest.batch import BatchStatus
from sidequest.cli import format as views
from sidequest.cli.format import to_json
from sidequest.cli.options import CommandError, json_option, opened_store, reports_errors, url_option


@click.group(invoke_without_command=True)
@click.option(
    "--limit", default=25, show_default=True, type=click.IntRange(min=1, max=500), help="Batches per page."
)
@click.option("--offset", default=0, show_default=True, type=click.IntRange(min=0), help="Batches to skip.")
@url_option
@json_option
@click.pass_context
@reports_errors
def batches(ctx: click.Context, limit: int, offset: int, url: str, as_json: bool) -> None:
    """Batches, newest first: total, pending, failures and state. See also 'batches show BID'."""
    if ctx.invoked_subcommand is not None:
        return
    with opened_store(url) as store:
        page = BatchAdmin(store).page(offset, limit)
    if as_json:
        click.echo(to_json([status.to_dict() for status in page]))
        return
    if not page:
        click.echo("no batches")
        return
    now = time.time()
    rows = [
        [
            s.bid,
            views.clip(s.description, 40),
            s.total,
            s.pending,
            s.failures,
            state_of(s),
            views.relative(s.created_at, now),
        ]
        for s in page
    ]
    click.echo(views.table(["BID", "DESCRIPTION", "TOTAL", "PENDING", "FAILURES", "STATE", "CREATED"], rows))


@batches.command("show")
@click.argument("bid")
@url_option
@json_option
@reports_errors
def show_batch(bid: str, url: str, as_json: bool) -> None:
    """One batch: its counters, the callbacks it fired and its failed jobs' JIDs."""
    with opened_store(url) as store:
        status = BatchAdmin(store).get(bid)
    if status is None:
        raise CommandError(f"no batch {bid!r}: unknown, or it succeeded and its linger passed, or it expired")
    click.echo(to_json(status.to_dict()) if as_json else details(status, time.time()))


@batches.command("delete")
@click.argument("bid")
@url_option
@reports_errors
def delete_batch(bid: str, url: str) -> None:
    """Forget a batch: its jobs stay where they are and run as plain jobs, no callback fires."""
    with opened_store(url) as store:
        deleted = BatchAdmin(store).delete(bid)
    if not deleted:
        raise CommandError(f"no batch {bid!r}")
    click.echo(f"deleted batch {bid}")


def details(status: BatchStatus, now: float) -> str:
    """A batch as text for people."""
    lines = [
        f"batch        {status.bid}",
        f"description  {status.description}",
        f"parent       {status.parent_bid or '-'}",
        f"created      {views.iso_time(status.created_at)} ({views.relative(status.created_at, now)})",
        f"state        {state_of(status)}",
        f"total        {views.number(status.total)}",
        f"pending      {views.number(status.pending)}",
        f"failures     {views.number(status.failures)}",
        f"callbacks    {', '.join(status.callbacks) or '-'}",
    ]
    for event, when in sorted(status.fired.items(), key=lambda item: item[1]):
        lines.append(f"fired        {event} at {views.iso_time(when)}")
    if status.failed_jids:
        lines.append("failed jobs  " + " ".join(status.failed_jids))
    return "\n".join(lines)
