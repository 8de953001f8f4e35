"""The SQLite store's connections and transactions: one connection per thread, write transactions that
take turns, read transactions on one snapshot (a mixin of :class:`~sidequest.stores.sqlite.SQLiteStore`).

Threads of one process take turns at the write lock in Python, and processes take turns in the kernel
(:mod:`~sidequest.stores.sqlite.write_turn`): left to SQLite, a writer that finds the file locked
sleeps in its busy handler (1, 2, 5 ... 100 ms) even when the lock frees a microsecond later, and
throughput collapses when jobs enqueue jobs or several processes share the file.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from sidequest.errors import StoreError
from sidequest.stores.sqlite.schema import connect, open_error
from sidequest.stores.sqlite.write_turn import WriteTurn


class _ThreadConnection:
    """One thread's connection. When the thread ends its threading.local drops this, closing it.

    ``pid`` is the process that opened it: a connection carried into a child by ``fork()`` (a web
    server preloading the app) must never be used there - SQLite's locks would lie and the file could
    be corrupted - nor closed, so the child opens its own and leaves the inherited one alone.
    """

    __slots__ = ("__weakref__", "conn", "pid")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.pid = os.getpid()


class SQLiteConnections:
    """Per-thread connections of one database file, and its read and write transactions."""

    path: str
    """The database file (set by SQLiteStore before :meth:`_open_connections`)."""

    def _open_connections(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._write_turn = threading.Lock()
        self._turn = WriteTurn(self.path)
        self._connections: weakref.WeakSet[_ThreadConnection] = weakref.WeakSet()
        self._closed = False

    def _connection(self) -> sqlite3.Connection:
        held: _ThreadConnection | None = getattr(self._local, "held", None)
        if held is not None and held.pid == os.getpid():
            return held.conn
        with self._lock:
            if self._closed:
                raise StoreError(f"the SQLite store {self.path} is closed")
            try:
                held = _ThreadConnection(connect(self.path))
            except sqlite3.Error as exc:
                raise open_error(self.path, exc) from exc
            self._connections.add(held)
        self._local.held = held
        return held.conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction. BEGIN IMMEDIATE takes the write lock first, waiting up to the busy
        timeout for other processes, so nothing inside can fail half way on a lock upgrade."""
        conn = self._connection()
        try:
            with self._write_turn:
                turn = self._turn.take()
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    try:
                        yield conn
                        conn.execute("COMMIT")
                    finally:
                        if conn.in_transaction:
                            conn.execute("ROLLBACK")
                finally:
                    if turn:
                        self._turn.give_back()
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store {self.path}: {exc}") from exc

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: every SELECT inside sees the same snapshot; never blocks a writer."""
        conn = self._connection()
        try:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store {self.path}: {exc}") from exc

    def _close_connections(self) -> None:
        """Close every connection this process opened; later use raises :class:`StoreError`."""
        with self._lock:
            self._closed = True
            held = [each for each in self._connections if each.pid == os.getpid()]
        for each in held:
            each.conn.close()
        self._turn.close()
