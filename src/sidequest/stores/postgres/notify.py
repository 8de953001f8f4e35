"""Wake-ups for idle claims: one LISTEN connection per store object (so one per process), and a
counter claims wait on.

Enqueues send ``NOTIFY`` from their own statement, at most once per queue per transaction, with the
queue name as payload (see ``moves.PUSH``); never from a trigger (NOTIFY takes a database-wide lock at
commit, which turns a trigger per row into a queue of commits) and never from acks or beats. Claims
always poll too, so a lost notification (the LISTEN connection was down, a pooler dropped it) costs at
most one poll interval, never a job.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time

import psycopg

from sidequest.stores.postgres.connection import Options, connection_kwargs

log = logging.getLogger("sidequest.stores.postgres")

RECONNECT_DELAY = (0.1, 5.0)
"""The first and the longest pause between reconnection attempts of the LISTEN connection."""


def channel_name(schema: str) -> str:
    """The channel one schema's enqueues notify: several stores may share a database."""
    return f"sidequest_{schema}"


class Wakeups:
    """A counter bumped by every wake-up (a notification, or a push by this store object). A claim
    reads it before it looks for jobs and waits only while it is unchanged, so a wake-up that arrives
    while the claim's query runs is never missed."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._count = 0

    @property
    def count(self) -> int:
        """How many wake-ups so far."""
        return self._count

    def bump(self) -> None:
        """Wake every waiting claim."""
        with self._condition:
            self._count += 1
            self._condition.notify_all()

    def wait(self, seen: int, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a wake-up after ``seen``; True if one came."""
        with self._condition:
            if self._count == seen:
                self._condition.wait(timeout)
            return self._count != seen


class Listener:
    """A daemon thread holding one connection that LISTENs on the store's channel.

    It never dies silently: every error is logged and followed by a reconnection with backoff, and
    ``healthy`` tells claims whether to poll at the slow or the fast rate meanwhile.
    """

    def __init__(self, options: Options, wakeups: Wakeups) -> None:
        self._options = options
        self._wakeups = wakeups
        self._channel = channel_name(options.schema)
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._thread = threading.Thread(target=self._run, name="sidequest-pg-listen", daemon=True)
        self._thread.start()

    @property
    def healthy(self) -> bool:
        """True while the LISTEN connection is up."""
        return self._ready.is_set()

    def wait_ready(self, timeout: float) -> bool:
        """Wait until LISTEN is in place (so no enqueue after this goes unheard)."""
        return self._ready.wait(timeout)

    def _run(self) -> None:
        delay = RECONNECT_DELAY[0]
        while not self._stopping.is_set():
            try:
                self._listen()
                delay = RECONNECT_DELAY[0]
            except Exception as exc:  # the thread must survive every failure: claims depend on it
                self._ready.clear()
                if self._stopping.is_set():
                    return
                log.warning("PostgreSQL LISTEN connection lost (%s); claims poll until it is back", exc)
                self._wakeups.bump()  # claims switch to the fast poll at once
                self._stopping.wait(delay)
                delay = min(delay * 2, RECONNECT_DELAY[1])
            finally:
                self._close_conn()

    def _listen(self) -> None:
        kwargs = connection_kwargs(self._options)
        conn: psycopg.Connection[tuple[object, ...]] = psycopg.connect(
            self._options.conninfo,
            connect_timeout=5,
            **kwargs,  # type: ignore[arg-type]
        )
        self._conn = conn
        conn.execute(f'LISTEN "{self._channel}"')
        self._ready.set()
        self._wakeups.bump()  # anything pushed while we were down may be waiting
        while not self._stopping.is_set():
            for _ in conn.notifies(timeout=1.0, stop_after=1):
                self._wakeups.bump()
            # No notification for a second: ask the server, so a dead TCP peer is noticed.
            if not self._stopping.is_set():
                conn.execute("SELECT 1")

    def _close_conn(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # closing a broken connection may raise; nothing is left
                conn.close()

    def close(self) -> None:
        """Stop the thread and close its connection."""
        self._stopping.set()
        conn = self._conn
        if conn is not None:
            with contextlib.suppress(Exception):  # it may be broken already; the thread exits within 1 s
                conn.cancel_safe(timeout=1.0)
        self._thread.join(3.0)


def sleep_until(deadline: float) -> float:
    """Seconds left until the ``time.monotonic()`` ``deadline`` (never negative)."""
    return max(deadline - time.monotonic(), 0.0)
