"""``sidequest jobs cancel JID...``: cancel jobs by jid (see :mod:`sidequest.cancellation`)."""

from __future__ import annotations

import click

from sidequest.cli.format import to_json
from sidequest.cli.options import CommandError, json_option, opened_admin, reports_errors, url_option

SAID = {
    "removed": "removed: it was waiting and will not run",
    "flagged": "flagged: it is running; it stops if it checks self.cancelled() (iterable jobs do)",
    "not_found": "not found: no waiting or running job has this jid (flagged anyway, for 30 days)",
}


@click.command("cancel")
@click.argument("jids", nargs=-1, required=True, metavar="JID...")
@url_option
@json_option
@reports_errors
def cancel_jobs(jids: tuple[str, ...], url: str, as_json: bool) -> None:
    """Cancel jobs: a waiting one (queued, scheduled, retry) is removed, a running one is flagged.
    Exits 1 when a JID was not found."""
    with opened_admin(url) as admin:
        states = {jid: admin.cancel(jid) for jid in jids}
    if as_json:
        click.echo(to_json(states))
    else:
        for jid, state in states.items():
            click.echo(f"{jid}: {SAID[state]}")
    missing = [jid for jid, state in states.items() if state == "not_found"]
    if missing:
        raise CommandError(f"not found: {', '.join(missing)}")
