"""``sidequest migrate``: bring a PostgreSQL store's schema up to date, or print the SQL that does, for
teams whose migrations run through their own tool (Alembic, Django, Flyway)."""

from __future__ import annotations

import click

from sidequest.cli.options import CommandError, opened_store, reports_errors, url_option


@click.command("migrate")
@url_option
@click.option(
    "--print-sql",
    is_flag=True,
    help="Print every migration as one SQL script (for the schema the URL names) and touch nothing.",
)
@reports_errors
def migrate(url: str, print_sql: bool) -> None:
    """Apply the PostgreSQL store's migrations (a store also applies them when it opens)."""
    scheme = url.split(":", 1)[0].lower()
    if scheme not in ("postgres", "postgresql"):
        raise CommandError(
            f"sidequest migrate is for PostgreSQL stores (postgresql://...); {scheme or url!r} stores "
            "create their schema themselves when they open"
        )
    try:
        from sidequest.stores.postgres.connection import parse_url
        from sidequest.stores.postgres.schema import MIGRATIONS, migration_sql
    except ImportError as exc:
        raise CommandError(
            f"the PostgreSQL store needs psycopg: pip install 'sidequest[postgres]' ({exc})"
        ) from None
    options = parse_url(url)
    if print_sql:
        click.echo(migration_sql(options.schema), nl=False)
        return
    with opened_store(url):
        pass
    click.echo(f"schema {options.schema} is at migration {len(MIGRATIONS)}")
