"""The PostgreSQL store: every job a row of ``jobs`` in a schema of its own, shared by any number of
processes on any number of machines.

Each statement of the hot path is one round trip on a pooled autocommit connection: a push (of 1 or
100,000 jobs) is one ``INSERT ... SELECT FROM unnest(...)`` that also registers the queues and sends
one NOTIFY per queue (``push_methods.py``); a claim is one ``UPDATE ... FROM (SELECT ... FOR UPDATE SKIP
LOCKED)`` per queue; an ack of a batch is one ``DELETE ... USING unnest(...)``, sent inside the next
claim's statement while claims keep coming (``ack_rides.py``). Finished rows are deleted: there is no
history table to bloat, the counters per day are the history.

A claim records the owner on the row; a lease is the owner's ``processes.expires_at`` (server clock),
renewed by the heartbeat. Every finishing statement matches ``owner`` *and* the claim's ``(id, claims)``
token, so a process that lost its lease cannot finish a claim it no longer holds.

Idle claims wait on :class:`~sidequest.stores.postgres.notify.Wakeups`, bumped by this object's own
pushes and by the LISTEN thread (one connection per store object), and poll as a fallback.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
import psycopg_pool

from sidequest.errors import MalformedJobError, PermanentStoreError, StoreError
from sidequest.job import (
    Claimed,
    NewJob,
    Payload,
)
from sidequest.serializer import load_payload
from sidequest.stores.ack_rides import AckRides, Rider
from sidequest.stores.base import CronState, Heartbeat, RescueResult, Store
from sidequest.stores.postgres import cron, maintenance, moves, payloads
from sidequest.stores.postgres.admin_methods import PostgresAdminMethods
from sidequest.stores.postgres.batches import PostgresBatchMethods
from sidequest.stores.postgres.connection import Options, make_pool, parse_url, translated
from sidequest.stores.postgres.job_states import PostgresJobStates
from sidequest.stores.postgres.limiters import PostgresLimiterMethods
from sidequest.stores.postgres.notify import Listener, Wakeups, channel_name
from sidequest.stores.postgres.push_methods import PostgresPushMethods
from sidequest.stores.postgres.schema import migrate, quoted

Conn = psycopg.Connection[Any]

log = logging.getLogger("sidequest.stores.postgres")

SETTINGS = "SELECT name, setting FROM pg_settings WHERE name IN ('server_version_num', 'synchronous_commit')"

STORE_ID = """
    SELECT (SELECT id FROM {s}.store_info LIMIT 1) || '/' || d.oid::text || '/' || d.datname
    FROM pg_database AS d WHERE d.datname = current_database()
"""
"""What names this store: the id its migration drew, and the database's oid and name (a copy of the
database made with CREATE DATABASE ... TEMPLATE, or restored elsewhere, has the same drawn id)."""

FAST_POLL = 0.1
"""How often an idle claim polls while the LISTEN connection is down."""


class PostgresStore(
    PostgresPushMethods,
    PostgresAdminMethods,
    PostgresJobStates,
    PostgresLimiterMethods,
    PostgresBatchMethods,
    Store,
):
    """Jobs in PostgreSQL, safe for every thread of every process on every machine sharing it."""

    def __init__(self, url: str) -> None:
        self.options: Options = parse_url(url)
        self.url = url
        self.schema = self.options.schema
        self.s = quoted(self.schema)
        self.channel = channel_name(self.schema)
        self._wakeups = Wakeups()
        self._rides = AckRides()
        self._lock = threading.Lock()
        self._closed = False
        self._listener: Listener | None = None
        self._store_id = ""
        self._server_settings: dict[str, str] = {}
        self._opened = False
        try:
            self._open()
        except PermanentStoreError:
            raise
        except StoreError as exc:
            # An outage at start (the app came up before its database): wait it out like any other
            # outage; the first call that reaches the server migrates. A mistake still fails here.
            log.warning("%s; sidequest will migrate and go on when the server answers", exc)
        self._pid = os.getpid()
        self._pool = make_pool(self.options, f"sidequest-{self.schema}")

    def _open(self) -> None:
        """Apply the migrations and read what names this store; once, on the first call that can."""
        with self._lock:
            if self._opened:
                return
            with (
                translated(self.safe_url),
                psycopg.connect(self.options.conninfo, autocommit=True, connect_timeout=10) as conn,
            ):
                migrate(conn, self.schema)
                row = conn.execute(STORE_ID.format(s=self.s)).fetchone()
                self._store_id = str(row[0]) if row else ""
                settings = conn.execute(SETTINGS).fetchall()
                self._server_settings = {str(name): str(value) for name, value in settings}
            self._opened = True

    @property
    def store_id(self) -> str:
        """What names this store (its drawn id, the database's oid and name); reaches the server once
        if the store opened during an outage."""
        if not self._opened:
            self._open()
        return self._store_id

    @property
    def safe_url(self) -> str:
        """The URL with its password hidden, in every form libpq accepts."""
        return self.options.shown

    # ----------------------------------------------------------------------------------------------
    # Connections and transactions

    def _current_pool(self) -> psycopg_pool.ConnectionPool:
        # A store carried into a child by fork() (a web server preloading the app) must not share
        # the parent's sockets, and the pool's threads did not survive the fork: open a new pool and
        # leave the inherited one alone.
        if os.getpid() != self._pid:
            with self._lock:
                if os.getpid() != self._pid:
                    self._pid = os.getpid()
                    self._listener = None
                    self._pool = make_pool(self.options, f"sidequest-{self.schema}")
        if self._closed:
            raise StoreError(f"the PostgreSQL store {self.safe_url} is closed")
        if not self._opened:
            self._open()
        return self._pool

    @contextmanager
    def _conn(self) -> Iterator[Conn]:
        """One pooled autocommit connection: every statement is a transaction of its own."""
        with translated(self.safe_url), self._checked(), self._current_pool().connection() as conn:
            yield conn

    @contextmanager
    def _tx(self) -> Iterator[Conn]:
        """One read-committed transaction on a pooled connection."""
        with (
            translated(self.safe_url),
            self._checked(),
            self._current_pool().connection() as conn,
            conn.transaction(),
        ):
            yield conn

    @contextmanager
    def _checked(self) -> Iterator[None]:
        """After a connection broke (a server restart kills every session at once), check the pool's
        idle connections too, so the one failed call is the only one, not one per pooled connection."""
        try:
            yield
        except psycopg.OperationalError:
            if not self._closed and os.getpid() == self._pid:
                try:
                    self._pool.check()
                except Exception as exc:  # the server may still be down: the next call will say so
                    log.debug("pool check after a broken connection failed: %s", exc)
            raise

    @contextmanager
    def _read(self) -> Iterator[Conn]:
        """One read-only snapshot: every SELECT inside sees the same moment."""
        with self._tx() as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield conn

    def _woke(self, queues: Sequence[str]) -> None:
        """Wake this object's idle claims at once; other processes hear the NOTIFY."""
        if queues:
            self._wakeups.bump()

    def _notify(self, conn: Conn, queues: Sequence[str]) -> None:
        """Send one NOTIFY per queue that got ready jobs, in the caller's transaction (at commit)."""
        if queues and self.options.notify:
            conn.execute(
                moves.NOTIFY.format(s=self.s), {"channel": self.channel, "names": sorted(set(queues))}
            )

    # ----------------------------------------------------------------------------------------------
    # Processing

    def claim(self, queues: Sequence[str], limit: int, owner: str, timeout: float) -> list[Claimed]:
        """Claim with one statement per queue, in the order given, until ``limit`` is reached. When
        nothing is ready, wait for a wake-up (NOTIFY or a push by this object) or the next poll."""
        names = list(dict.fromkeys(queues))
        if not names or limit <= 0:
            return []
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            seen = self._wakeups.count
            claimed = self._claim_now(names, limit, owner)
            if claimed:
                return claimed
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._closed:
                return []
            self._wakeups.wait(seen, min(remaining, self._poll_interval()))
            if self._closed:
                return []

    @property
    def listening(self) -> bool:
        """True while this store's LISTEN connection is up (it opens with the first idle claim)."""
        listener = self._listener
        return listener is not None and listener.healthy

    def _poll_interval(self) -> float:
        if not self.options.notify:
            return self.options.poll
        listener = self._listener
        if listener is None or os.getpid() != self._pid:
            with self._lock:
                if self._listener is None and not self._closed:
                    self._listener = Listener(self.options, self._wakeups)
                listener = self._listener
            if listener is not None:
                listener.wait_ready(2.0)  # a push after this is heard, not found by the next poll
        if listener is not None and listener.healthy:
            return self.options.poll
        return min(self.options.poll, FAST_POLL)

    def _claim_now(self, names: list[str], limit: int, owner: str) -> list[Claimed]:
        claimed: list[Claimed] = []
        riders = self._rides.board()
        deleted: int | None = None
        try:
            with self._conn() as conn:
                for queue in names:
                    params: dict[str, Any] = {"owner": owner, "queue": queue, "limit": limit - len(claimed)}
                    if riders and deleted is None:  # the waiting acks ride on the first queue's claim
                        params.update(_held(riders))
                        both = conn.execute(moves.ACK_AND_CLAIM.format(s=self.s), params).fetchall()
                        deleted = sum(int(row[1]) for row in both if row[0] is None)  # the count row
                        rows = [row for row in both if row[0] is not None]
                    else:
                        rows = conn.execute(moves.CLAIM.format(s=self.s), params).fetchall()
                    rows.sort(key=lambda row: row[2])  # RETURNING has no order; the queue is by position
                    claimed.extend(
                        Claimed(raw, _load(raw), queue, (job_id, claims)) for job_id, claims, _, raw in rows
                    )
                    if len(claimed) >= limit:
                        break
        finally:
            if riders:
                self._rides.arrive(riders, deleted)
        self._rides.claims_flowing = bool(claimed)
        return claimed

    def owned(self, owner: str) -> list[Claimed]:
        """Every running row held by ``owner``, in claim order."""
        with self._conn() as conn:
            rows = conn.execute(moves.OWNED.format(s=self.s), {"owner": owner}).fetchall()
        return [Claimed(raw, _load(raw), queue, (job_id, claims)) for job_id, claims, queue, raw in rows]

    def ack(self, owner: str, jobs: Sequence[Claimed]) -> int:
        """Delete the batch with one statement that matches each claim's token and the owner: the next
        claim's own statement while claims keep coming (see ``ack_rides``), else a statement of its own."""
        if not jobs:
            return 0
        rider = Rider([job.token[0] for job in jobs], [job.token[1] for job in jobs], [owner] * len(jobs))
        deleted = self._rides.ride(rider)  # on the next claim's statement, while claims keep coming
        if deleted is not None:
            return deleted
        with self._conn() as conn:
            return conn.execute(moves.ACK.format(s=self.s), _held([rider])).rowcount

    def retry(self, owner: str, job: Claimed, payload: Payload, at: float) -> bool:
        """Turn the running row into a retry row in place (one UPDATE; nothing if no longer held)."""
        job_id, claims = job.token
        params = {
            "queue": payloads.queue_of(payload, job.queue),
            "payload": payloads.encode(payload),
            "at": float(at),
            "id": job_id,
            "claims": claims,
            "owner": owner,
        }
        with self._conn() as conn:
            return conn.execute(moves.TO_RETRY.format(s=self.s), params).rowcount == 1

    def kill(self, owner: str, job: Claimed, payload: Payload | None, at: float) -> bool:
        """Turn the running row into a dead row in place and trim the dead set, in one transaction."""
        job_id, claims = job.token
        params = {
            "queue": payloads.queue_of(payload, job.queue),
            "payload": payloads.encode(payload) if payload is not None else None,
            "at": float(at),
            "id": job_id,
            "claims": claims,
            "owner": owner,
        }
        with self._tx() as conn:
            moved = conn.execute(moves.TO_DEAD.format(s=self.s), params).rowcount
            if moved:
                maintenance.trim_dead(conn, self.s, float(at))
        return moved == 1

    def requeue(self, owner: str, jobs: Sequence[Claimed]) -> int:
        """Put held jobs back at the front of their queues, the first given running next."""
        if not jobs:
            return 0
        held = [(job.token[0], job.token[1], None) for job in jobs]
        with self._tx() as conn:
            queues = maintenance.to_front(conn, self.s, [owner] * len(held), held)
            self._notify(conn, queues)
        self._woke(queues)
        return len(queues)

    # ----------------------------------------------------------------------------------------------
    # Process lifecycle and maintenance (see maintenance.py for the statements)

    def beat(self, heartbeat: Heartbeat) -> list[str]:
        """Upsert the process row, add the stats, pop the signals: one transaction."""
        with self._tx() as conn:
            return maintenance.beat(conn, self.s, heartbeat)

    def unregister(self, identity: str) -> None:
        """Delete the process row and its pending signals."""
        with self._tx() as conn:
            maintenance.unregister(conn, self.s, identity)

    def promote_due(self, now: float, limit: int = 1000) -> int:
        """Move due rows to the back of their queues in one transaction, soonest due first."""
        if limit <= 0:
            return 0
        with self._tx() as conn:
            queues = maintenance.promote_due(conn, self.s, now, limit)
            self._notify(conn, queues)
        self._woke(queues)
        return len(queues)

    def end_lease(self, identity: str) -> None:
        """Delete the process row now; its running rows are orphans from here on."""
        with self._tx() as conn:
            maintenance.end_lease(conn, self.s, identity)

    def rescue_orphans(
        self, now: float, max_orphaned: int = 3, *, exclude: str | None = None
    ) -> RescueResult:
        """Rescue orphans in one transaction; SKIP LOCKED keeps two rescuers off the same rows."""
        with self._tx() as conn:
            result, queues = maintenance.rescue_orphans(conn, self.s, now, max_orphaned, exclude)
            self._notify(conn, queues)
        self._woke(queues)
        return result

    # ----------------------------------------------------------------------------------------------
    # Periodic (cron) jobs (see cron.py for the statements)

    def enqueue_tick(self, entry: str, tick: float, job: NewJob) -> bool:
        """Record the tick and insert its job in one transaction; the primary key decides the race."""
        if job.at is not None:
            raise ValueError("enqueue_tick pushes an immediate job; job.at must be None")
        with self._tx() as conn:
            pushed = cron.enqueue_tick(conn, self.s, entry, int(tick), job, time.time())
            if pushed:
                self._notify(conn, [payloads.queue_of(job.payload)])
        if pushed:
            self._woke([payloads.queue_of(job.payload)])
        return pushed

    def cron_state(self, entries: Sequence[str]) -> dict[str, CronState]:
        """The entries' rows, read in one snapshot."""
        with self._read() as conn:
            return cron.cron_state(conn, self.s, entries)

    def pause_cron(self, entry: str, paused: bool) -> None:
        """Set the entry's paused flag."""
        with self._conn() as conn:
            cron.pause(conn, self.s, entry, paused)

    def startup_warnings(self) -> list[str]:
        """Settings of the server a person starting a process should know about."""
        warnings = []
        if not self._opened:
            try:
                self._open()
            except StoreError as exc:
                return [f"cannot reach the server yet: {exc}"]
        if int(self._server_settings.get("server_version_num", "150000")) < 130000:
            warnings.append("PostgreSQL older than 13 is not tested with sidequest; upgrade the server")
        if self._server_settings.get("synchronous_commit") == "off":
            warnings.append(
                "the server runs with synchronous_commit=off: a server crash may lose the last jobs "
                "enqueued or acked (acked jobs then run again)"
            )
        if not self.options.notify:
            warnings.append(f"notifications are off: idle processes poll every {self.options.poll:g} s")
        return warnings

    def close(self) -> None:
        """Close the pool and the LISTEN connection, and wake idle claims (they return ``[]``)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            listener, self._listener = self._listener, None
        self._wakeups.bump()
        if os.getpid() != self._pid:
            return  # the parent's sockets: leave them to the parent
        if listener is not None:
            listener.close()
        self._pool.close()


def _held(riders: list[Rider]) -> dict[str, list[Any]]:
    """The ``ACK`` parameters deleting every rider's rows."""
    ids: list[Any] = [job_id for rider in riders for job_id in rider.ids]
    return {
        "ids": ids,
        "claims": [claims for rider in riders for claims in rider.claims],
        "owners": [owner for rider in riders for owner in rider.owners],
        "states": ["running"] * len(ids),
    }


def _load(raw: str) -> Payload | None:
    try:
        return load_payload(raw)
    except MalformedJobError:
        return None
