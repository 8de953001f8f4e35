"""Enumerators for :class:`~sidequest.IterableWorker`'s ``build_enumerator``: each yields
``(item, cursor)`` pairs and, given the cursor of the last item handled, starts after it.

* :func:`over_range` - numbers, cursor = the number;
* :func:`over_list` - a list's items, cursor = the index;
* :func:`rows_by_key` / :func:`row_batches_by_key` - rows of a SQL query over a DB-API connection
  (sqlite3, psycopg, ...), read ``batch_size`` at a time in the order of a unique key column, cursor =
  the key of the last row (the recipe's ``find_each`` / ``find_in_batches``): each batch is one short
  query, so no transaction stays open across iterations and a resumed job reads only what is left;
* :func:`sqlalchemy_rows` / :func:`sqlalchemy_batches` - the same for a SQLAlchemy ``select()``
  (SQLAlchemy is imported only by whoever passes it a statement).

Cursors must be JSON values (they are saved in the store): numbers, strings, lists.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from sidequest.errors import JobArgumentError

IDENTIFIER = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]*\Z")


def over_range(start: int, stop: int, step: int = 1, *, cursor: int | None) -> Iterator[tuple[int, int]]:
    """``range(start, stop, step)``, each number its own cursor; resumes after ``cursor``."""
    first = start if cursor is None else cursor + step
    for number in range(first, stop, step):
        yield number, number


def over_list(items: Sequence[Any], *, cursor: int | None) -> Iterator[tuple[Any, int]]:
    """The items of ``items`` with their index as the cursor; resumes after index ``cursor``."""
    first = 0 if cursor is None else cursor + 1
    for index in range(first, len(items)):
        yield items[index], index


def row_batches_by_key(
    connection: Any,
    sql: str,
    key: str,
    *,
    cursor: Any,
    batch_size: int = 1000,
    params: Sequence[Any] = (),
    paramstyle: str | None = None,
) -> Iterator[tuple[list[Any], Any]]:
    """Lists of up to ``batch_size`` rows of ``sql`` in ``key`` order, each with the key of its last
    row as the cursor.

    ``connection`` is a DB-API connection or cursor; ``sql`` a SELECT (with ``params`` in the
    driver's placeholders) whose result has the unique, sortable column ``key``. Each batch runs
    ``SELECT * FROM (sql) AS sidequest_rows WHERE key > ? ORDER BY key LIMIT n``. ``paramstyle``
    defaults to the driver module's (``qmark`` for sqlite3, ``pyformat`` for psycopg)."""
    for rows, index in _row_batches(connection, sql, key, cursor, batch_size, params, paramstyle):
        yield rows, _key_of(rows[-1], key, index)


def _row_batches(
    connection: Any,
    sql: str,
    key: str,
    cursor: Any,
    batch_size: int,
    params: Sequence[Any],
    paramstyle: str | None,
) -> Iterator[tuple[list[Any], int]]:
    if not IDENTIFIER.match(key):
        raise JobArgumentError(f"row_batches_by_key: key must be a plain column name, got {key!r}")
    if batch_size < 1:
        raise JobArgumentError(f"row_batches_by_key: batch_size must be >= 1, got {batch_size}")
    style = paramstyle or _paramstyle(connection)
    db_cursor = connection.cursor() if hasattr(connection, "cursor") else connection
    after = cursor
    while True:
        query, args = _batch_query(sql, key, batch_size, list(params), after, style)
        db_cursor.execute(query, args)
        rows = list(db_cursor.fetchall())
        if not rows:
            return
        index = _column(db_cursor.description, key)
        after = _key_of(rows[-1], key, index)
        yield rows, index
        if len(rows) < batch_size:
            return


def rows_by_key(
    connection: Any,
    sql: str,
    key: str,
    *,
    cursor: Any,
    batch_size: int = 1000,
    params: Sequence[Any] = (),
    paramstyle: str | None = None,
) -> Iterator[tuple[Any, Any]]:
    """The rows of :func:`row_batches_by_key` one by one, each with its own key as the cursor."""
    for rows, index in _row_batches(connection, sql, key, cursor, batch_size, params, paramstyle):
        for row in rows:
            yield row, _key_of(row, key, index)


def sqlalchemy_batches(
    session: Any, statement: Any, key_column: Any, *, cursor: Any, batch_size: int = 1000
) -> Iterator[tuple[list[Any], Any]]:
    """Lists of up to ``batch_size`` results of a SQLAlchemy ``select()`` in ``key_column`` order (a
    column, or a mapped attribute such as ``User.id``), each with the key of its last result as the
    cursor. ``session`` is a Session or Connection. A select of one ORM entity yields the objects; any
    other select yields its rows."""
    if batch_size < 1:
        raise JobArgumentError(f"sqlalchemy_batches: batch_size must be >= 1, got {batch_size}")
    key_name = getattr(key_column, "key", None) or getattr(key_column, "name", None)
    if not isinstance(key_name, str):
        raise JobArgumentError(f"sqlalchemy_batches: key_column must be a column, got {key_column!r}")
    entity = _single_entity(statement)
    after = cursor
    while True:
        query = statement.order_by(None).order_by(key_column).limit(batch_size)
        if after is not None:
            query = query.where(key_column > after)
        result = session.execute(query)
        items = list(result.scalars()) if entity else list(result)
        if not items:
            return
        after = getattr(items[-1], key_name)
        yield items, after
        if len(items) < batch_size:
            return


def sqlalchemy_rows(
    session: Any, statement: Any, key_column: Any, *, cursor: Any, batch_size: int = 1000
) -> Iterator[tuple[Any, Any]]:
    """The results of :func:`sqlalchemy_batches` one by one, each with its own key as the cursor."""
    key_name = getattr(key_column, "key", None) or getattr(key_column, "name", None)
    for items, _ in sqlalchemy_batches(session, statement, key_column, cursor=cursor, batch_size=batch_size):
        for item in items:
            yield item, getattr(item, str(key_name))


def _single_entity(statement: Any) -> bool:
    descriptions = getattr(statement, "column_descriptions", None) or []
    if len(descriptions) != 1:
        return False
    entity = descriptions[0].get("entity")
    return entity is not None and descriptions[0].get("type") is entity


def _paramstyle(connection: Any) -> str:
    module = sys.modules.get(type(connection).__module__.split(".")[0])
    style = getattr(module, "paramstyle", None)
    if not isinstance(style, str):
        raise JobArgumentError(
            f"cannot tell the placeholder style of {type(connection).__name__}: pass paramstyle= "
            "('qmark', 'format', 'pyformat', 'numeric' or 'named')"
        )
    return style


def _batch_query(sql: str, key: str, size: int, params: list[Any], after: Any, style: str) -> tuple[str, Any]:
    base = f"SELECT * FROM ({sql}) AS sidequest_rows"
    order = f" ORDER BY {key} LIMIT {int(size)}"
    if after is None:
        return base + order, params
    if style == "qmark":
        return f"{base} WHERE {key} > ?{order}", [*params, after]
    if style in ("format", "pyformat"):
        return f"{base} WHERE {key} > %s{order}", [*params, after]
    if style == "numeric":
        return f"{base} WHERE {key} > :{len(params) + 1}{order}", [*params, after]
    if style == "named":
        return f"{base} WHERE {key} > :sidequest_after{order}", {"sidequest_after": after}
    raise JobArgumentError(f"unknown paramstyle {style!r}")


def _column(description: Any, key: str) -> int:
    names = [column[0] for column in description or ()]
    for index, name in enumerate(names):
        if isinstance(name, str) and name.lower() == key.lower():
            return index
    raise JobArgumentError(f"the query's result has no column {key!r} (it has {names})")


def _key_of(row: Any, key: str, index: int) -> Any:
    """The key of a row: a tuple (by position), a dict or a mapping-like row (by name)."""
    if isinstance(row, dict):
        return row[key]
    return row[index]
