"""``sidequest limiters``: every rate limiter used on the store, its rule, its use now, and how often
it allowed and refused (:mod:`sidequest.limiter`)."""

from __future__ import annotations

import time

import click

from sidequest.cli.format import number, relative, table, to_json
from sidequest.cli.options import json_option, opened_admin, reports_errors, url_option
from sidequest.limits import LimiterStats, rule_text


@click.command()
@url_option
@json_option
@reports_errors
def limiters(url: str, as_json: bool) -> None:
    """Rate limiters: rule, in use now, allowed and refused since first used, last use."""
    with opened_admin(url) as admin:
        found = admin.limiters()
    click.echo(to_json(found) if as_json else render(found, time.time()))


def in_use_text(item: LimiterStats) -> str:
    """``2/3``: the use now against the size (a leaky bucket's level to one decimal)."""
    used = f"{item.in_use:.1f}" if item.kind == "leaky" else str(int(item.in_use))
    return f"{used}/{item.size}"


def render(found: list[LimiterStats], now: float) -> str:
    """The limiters as a table."""
    if not found:
        return "no rate limiter has been used on this store yet (see sidequest.limiter)"
    rows = [
        [
            item.name,
            item.kind,
            rule_text(item.kind, item.size, item.period),
            in_use_text(item),
            number(item.allowed),
            number(item.refused),
            relative(item.last_used, now),
        ]
        for item in found
    ]
    return table(["NAME", "KIND", "RULE", "IN USE", "ALLOWED", "REFUSED", "LAST USED"], rows)
