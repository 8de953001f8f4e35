"""The shop's database: stand-ins for the recipe's ActiveRecord models (Order, Foo, Product).

The database is found the way a Rails app finds its own, from the environment (``RECIPE_SHOP_DB``),
so that a job runs the same in the test's thread, in fake mode and on a sidequest process's threads.
Every call opens a short-lived connection: jobs run on many threads at once.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SHOP_ENV = "RECIPE_SHOP_DB"

CONFIRMED = "confirmed"
PENDING = "pending"

SCHEMA = """
CREATE TABLE orders (
    id INTEGER PRIMARY KEY, email TEXT NOT NULL, status TEXT NOT NULL,
    notified_at REAL, updated_at REAL NOT NULL
);
CREATE TABLE deliveries (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, order_id INTEGER NOT NULL);
CREATE TABLE outages (email TEXT PRIMARY KEY);
CREATE TABLE locked_orders (order_id INTEGER PRIMARY KEY);
CREATE TRIGGER orders_locked BEFORE UPDATE ON orders
    WHEN EXISTS (SELECT 1 FROM locked_orders WHERE order_id = OLD.id)
    BEGIN SELECT RAISE(ABORT, 'order is locked'); END;
CREATE TABLE foos (id INTEGER PRIMARY KEY, count INTEGER NOT NULL);
CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, deleted_at REAL, page TEXT);
CREATE TABLE greetings (id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT NOT NULL);
"""


class RecordNotFound(LookupError):
    """``find`` found no row with that id (ActiveRecord's ``RecordNotFound``)."""


@dataclass(frozen=True)
class Order:
    """One order. Jobs receive its id, never the object (an object is not a JSON job argument)."""

    id: int
    email: str
    status: str
    notified_at: float | None
    updated_at: float


class Shop:
    """The shop's tables in one SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)

    def create_schema(self) -> None:
        with closing(sqlite3.connect(self.path)) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with closing(sqlite3.connect(self.path, timeout=30)) as conn, conn:
            conn.row_factory = sqlite3.Row
            return conn.execute(sql, params).fetchall()

    def _insert(self, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> list[int]:
        """Insert rows in one transaction; returns their ids in order."""
        marks = ", ".join("?" * len(columns))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) RETURNING id"
        with closing(sqlite3.connect(self.path, timeout=30)) as conn, conn:
            return [conn.execute(sql, row).fetchone()[0] for row in rows]

    # -- orders --------------------------------------------------------------------------------------

    def add_orders(
        self, count: int, status: str = CONFIRMED, updated_ago: float = 0.0, email: str | None = None
    ) -> list[int]:
        """Insert ``count`` orders last updated ``updated_ago`` seconds ago; returns their ids."""
        updated_at = time.time() - updated_ago
        rows = [(email or f"customer{n}@example.com", status, updated_at) for n in range(count)]
        return self._insert("orders", ("email", "status", "updated_at"), rows)

    def add_order(self, status: str = CONFIRMED, updated_ago: float = 0.0, email: str | None = None) -> Order:
        [order_id] = self.add_orders(1, status, updated_ago, email)
        return self.find_order(order_id)

    def find_order(self, order_id: int) -> Order:
        """``Order.find(id)``."""
        rows = self._execute("SELECT * FROM orders WHERE id = ?", (order_id,))
        if not rows:
            raise RecordNotFound(f"no order with id {order_id}")
        return Order(**dict(rows[0]))

    def confirmed_unnotified_ids(self, updated_before: float | None = None) -> list[int]:
        """``Order.where(status: CONFIRMED, notified_at: nil).pluck(:id)``, optionally only the orders
        not updated since ``updated_before``."""
        sql = "SELECT id FROM orders WHERE status = ? AND notified_at IS NULL"
        params: tuple[Any, ...] = (CONFIRMED,)
        if updated_before is not None:
            sql, params = sql + " AND updated_at <= ?", (*params, updated_before)
        return [row["id"] for row in self._execute(sql + " ORDER BY id", params)]

    def mark_notified(self, order_id: int) -> None:
        """``o.update!(notified_at: Time.now)``."""
        now = time.time()
        self._execute("UPDATE orders SET notified_at = ?, updated_at = ? WHERE id = ?", (now, now, order_id))

    def lock_order(self, order_id: int) -> None:
        """From now on every update of this order fails (the database refuses it)."""
        self._execute("INSERT INTO locked_orders (order_id) VALUES (?)", (order_id,))

    def unlock_orders(self) -> None:
        self._execute("DELETE FROM locked_orders")

    def notified_ids(self) -> list[int]:
        return [row["id"] for row in self._execute("SELECT id FROM orders WHERE notified_at IS NOT NULL")]

    # -- what the email service did ----------------------------------------------------------------

    def record_delivery(self, kind: str, order_id: int) -> None:
        self._execute("INSERT INTO deliveries (kind, order_id) VALUES (?, ?)", (kind, order_id))

    def deliveries(self) -> list[tuple[str, int]]:
        """Every email sent, as (kind, order id), in the order they were sent."""
        return [
            (row["kind"], row["order_id"]) for row in self._execute("SELECT * FROM deliveries ORDER BY id")
        ]

    def start_outage(self, email: str) -> None:
        """From now on the email service fails for this address."""
        self._execute("INSERT INTO outages (email) VALUES (?)", (email,))

    def end_outage(self) -> None:
        self._execute("DELETE FROM outages")

    def is_down_for(self, email: str) -> bool:
        return bool(self._execute("SELECT 1 FROM outages WHERE email = ?", (email,)))

    # -- foos ----------------------------------------------------------------------------------------

    def add_foo(self, count: int) -> int:
        [foo_id] = self._insert("foos", ("count",), [(count,)])
        return foo_id

    def foo_count(self, foo_id: int) -> int:
        rows = self._execute("SELECT count FROM foos WHERE id = ?", (foo_id,))
        if not rows:
            raise RecordNotFound(f"no foo with id {foo_id}")
        return int(rows[0]["count"])

    def update_foo(self, foo_id: int, params: Mapping[str, Any]) -> None:
        """``Foo.find(id).update!(params)`` (only ``count`` is a column)."""
        self.foo_count(foo_id)
        self._execute("UPDATE foos SET count = ? WHERE id = ?", (params["count"], foo_id))

    # -- products ------------------------------------------------------------------------------------

    def add_products(self, count: int, deleted: bool = False) -> list[int]:
        deleted_at = time.time() if deleted else None
        rows = [(f"product {n}", deleted_at) for n in range(count)]
        return self._insert("products", ("name", "deleted_at"), rows)

    def find_in_batches(
        self, table: str, where: str, params: tuple[Any, ...] = (), batch_size: int = 1000
    ) -> Iterator[list[sqlite3.Row]]:
        """ActiveRecord's ``find_in_batches``: one query per batch of ``batch_size`` rows, by id, so a
        table of millions never sits in memory (keyset paging stays fast where OFFSET would not)."""
        last_id = 0
        while True:
            rows = self._execute(
                f"SELECT * FROM {table} WHERE ({where}) AND id > ? ORDER BY id LIMIT ?",
                (*params, last_id, batch_size),
            )
            if rows:
                yield rows
            if len(rows) < batch_size:
                return
            last_id = rows[-1]["id"]

    def find_each(
        self, table: str, where: str, params: tuple[Any, ...] = (), batch_size: int = 1000
    ) -> Iterator[sqlite3.Row]:
        """ActiveRecord's ``find_each``: the rows of :meth:`find_in_batches`, one at a time."""
        for batch in self.find_in_batches(table, where, params, batch_size):
            yield from batch

    def rebuild_product_detail_page(self, product_id: int, name: str) -> None:
        self._execute("UPDATE products SET page = ? WHERE id = ?", (f"<h1>{name}</h1>", product_id))

    def product_pages(self) -> dict[int, str | None]:
        return {row["id"]: row["page"] for row in self._execute("SELECT id, page FROM products ORDER BY id")}

    # -- greetings (MyWorker's trace) ------------------------------------------------------------------

    def greet(self, name: str, city: str) -> None:
        self._execute("INSERT INTO greetings (name, city) VALUES (?, ?)", (name, city))

    def greetings(self) -> list[tuple[str, str]]:
        return [(row["name"], row["city"]) for row in self._execute("SELECT * FROM greetings ORDER BY id")]


def current_shop() -> Shop:
    """The shop the app is configured for (like ActiveRecord's connection, from the environment)."""
    return Shop(os.environ[SHOP_ENV])
