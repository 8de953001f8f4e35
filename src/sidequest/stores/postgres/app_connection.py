"""An application's own PostgreSQL connection, as ``sidequest.transaction(conn)`` uses it: a psycopg 3
connection, a SQLAlchemy ``Connection`` or ``Session``, or Django's connection (psycopg 3 or psycopg2).

Each is reduced to a DB-API cursor on the connection the application's transaction runs on, and every
push is one statement (see ``moves.PUSH``), so it joins that transaction as it is: no savepoint, no
commit, nothing for the application to undo. The NOTIFY is part of the statement, so idle processes
are woken at commit, and never for a transaction that rolled back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sidequest.errors import ConfigurationError

Execute = Callable[[str, dict[str, Any]], list[tuple[Any, ...]]]

SUPPORTED = (
    "a psycopg 3 connection, a SQLAlchemy Connection or Session, or django.db.connection "
    "(or, on the SQLite store, a sqlite3.Connection to the store's file)"
)


def cursor_runner(make_cursor: Callable[[], Any]) -> Execute:
    """An ``execute(sql, params) -> rows`` running on cursors from ``make_cursor`` (DB-API)."""

    def execute(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        cursor = make_cursor()
        try:
            cursor.execute(sql, params)
            return [tuple(row) for row in cursor.fetchall()] if cursor.description else []
        finally:
            cursor.close()

    return execute


def runner_for(conn: object) -> tuple[Execute, str]:
    """How to run statements on ``conn``, and what it is (for messages). Raises ConfigurationError for
    an object sidequest cannot enqueue through."""
    module = type(conn).__module__
    if module.startswith("django.") or _is_django_proxy(conn):
        vendor = getattr(conn, "vendor", None)
        if vendor != "postgresql":
            raise ConfigurationError(
                f"sidequest.transaction(): this Django connection is {vendor!r}, not PostgreSQL; "
                "the PostgreSQL store can only join a transaction on a PostgreSQL database"
            )
        return cursor_runner(conn.cursor), "Django connection"  # type: ignore[attr-defined]
    if module.startswith("sqlalchemy."):
        raw = _sqlalchemy_driver_connection(conn)
        return cursor_runner(raw.cursor), f"SQLAlchemy {type(conn).__name__}"
    if module.startswith("psycopg.") or module == "psycopg":
        return cursor_runner(conn.cursor), "psycopg connection"  # type: ignore[attr-defined]
    if module.startswith("psycopg2"):
        return cursor_runner(conn.cursor), "psycopg2 connection"  # type: ignore[attr-defined]
    raise ConfigurationError(f"sidequest.transaction() needs {SUPPORTED}; got {type(conn).__qualname__}")


def _is_django_proxy(conn: object) -> bool:
    # django.db.connection is a ConnectionProxy (django.utils.connection) in front of the wrapper.
    return type(conn).__name__ == "ConnectionProxy" and hasattr(conn, "vendor")


def _sqlalchemy_driver_connection(conn: Any) -> Any:
    """The DB-API connection under a SQLAlchemy Session or Connection, inside its transaction
    (``Session.connection()`` begins the session's transaction if it has none yet)."""
    if hasattr(conn, "get_bind") and hasattr(conn, "connection"):  # a Session
        conn = conn.connection()
    dialect = getattr(getattr(conn, "dialect", None), "name", None)
    if dialect != "postgresql":
        raise ConfigurationError(
            f"sidequest.transaction(): this SQLAlchemy connection is {dialect!r}, not PostgreSQL; "
            "the PostgreSQL store can only join a transaction on a PostgreSQL database"
        )
    return conn.connection.driver_connection


def verify(execute: Execute, schema: str, store_id: str, store_id_sql: str, kind: str, shown: str) -> None:
    """Check that the application's connection reaches this very store (same database and schema),
    without an error that would abort the application's transaction: ``to_regclass`` first."""
    table = f'"{schema}".store_info'
    found = execute("SELECT to_regclass(%(table)s) IS NOT NULL", {"table": table})
    if not found or not found[0][0]:
        where = execute("SELECT current_database()", {})
        raise ConfigurationError(
            f"sidequest.transaction(): this {kind} reaches database {where[0][0]!r}, where sidequest's "
            f"schema {schema!r} does not exist; the store is {shown}. Pass a connection to the store's "
            "database (or configure sidequest with this database's URL)"
        )
    rows = execute(store_id_sql.format(s=f'"{schema}"'), {})
    if not rows or rows[0][0] != store_id:
        raise ConfigurationError(
            f"sidequest.transaction(): this {kind} reaches another sidequest store than {shown} "
            "(another server or database); pass a connection to the store's database"
        )
