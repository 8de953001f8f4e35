"""The embedded store: every job in one SQLite file, shared by the threads and processes of one machine.

Every job is a row of ``jobs`` whose ``state`` is its place (see :mod:`sidequest.stores.sqlite.schema`).
Writes are short ``BEGIN IMMEDIATE`` transactions, so the file's single write lock orders them: a claim,
a promotion or a rescue sees the rows as the previous writer left them, and no job moves twice. Each
thread has its own connection (SQLite connections must not be shared by concurrent statements).

A claim records the owner on the row; a lease is the owner's ``processes.expires_at``. Every finishing
statement (ack, retry, kill, requeue) matches ``owner`` *and* the claim's ``(id, claims)`` token, so a
process that lost its lease - or that got the same job again after a rescue - cannot finish a claim
it no longer holds: it is worse to lose a job than to run it twice.

Tables touched here: ``jobs`` and ``queues`` (push, claim, ack, retry, kill, requeue). Heartbeats,
promotion and rescue are in ``sqlite_maintenance.py``; the admin side in ``sqlite_admin.py``; unique-job
locks in ``sqlite_unique.py``.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Sequence
from typing import Any

from sidequest.errors import ConfigurationError, MalformedJobError, StoreError
from sidequest.job import (
    Claimed,
    NewJob,
    Payload,
)
from sidequest.serializer import load_payload
from sidequest.stores.ack_rides import AckRides, Rider
from sidequest.stores.base import CronState, Heartbeat, RescueResult, Store
from sidequest.stores.sqlite import cron, maintenance, moves, unique
from sidequest.stores.sqlite.admin_methods import SQLiteAdminMethods
from sidequest.stores.sqlite.batches import SQLiteBatchMethods
from sidequest.stores.sqlite.connections import SQLiteConnections
from sidequest.stores.sqlite.job_states import SQLiteJobStates
from sidequest.stores.sqlite.limiters import SQLiteLimiterMethods
from sidequest.stores.sqlite.schema import database_path, migrate, open_error

log = logging.getLogger("sidequest")

POLL_INTERVAL = 0.01
"""How often an idle claim checks ``PRAGMA data_version`` for a commit by another process."""

MIN_SQLITE = (3, 35, 0)
"""``UPDATE ... RETURNING`` and ``DELETE ... RETURNING`` arrived in SQLite 3.35."""


class SQLiteStore(
    SQLiteConnections, SQLiteJobStates, SQLiteAdminMethods, SQLiteLimiterMethods, SQLiteBatchMethods, Store
):
    """Jobs in a SQLite file (WAL mode), safe for every thread and every process on one machine."""

    def __init__(self, url: str) -> None:
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            raise ConfigurationError(
                f"the SQLite store needs SQLite >= 3.35 (UPDATE ... RETURNING); this Python has "
                f"{sqlite3.sqlite_version}"
            )
        self.url = url
        self.path = database_path(url)
        self._open_connections()
        # Acks ride on the next claim's write transaction while claims keep coming (ack_rides.py).
        self._rides = AckRides()
        # Claimers waiting on empty queues sleep on this; writers that add ready jobs bump the count.
        self._ready = threading.Condition()
        self._ready_count = 0
        created = not os.path.exists(self.path)
        conn = self._connection()
        try:
            migrate(conn)
        except sqlite3.Error as exc:
            self.close()
            raise open_error(self.path, exc) from exc
        if created:
            self._warn_created(url)

    def _warn_created(self, url: str) -> None:
        # A relative path resolves against the working directory: an enqueue script run from a
        # subdirectory silently writes to a second database nobody reads. Say where the file is.
        relative = not url[len("sqlite:///") :].startswith("/")
        log.warning(
            "created a new SQLite store at %s%s; if you expected existing jobs, check the URL",
            self.path,
            f" (the relative URL {url} was resolved against the working directory {os.getcwd()})"
            if relative
            else "",
        )

    def _wake_claimers(self) -> None:
        with self._ready:
            self._ready_count += 1
            self._ready.notify_all()

    # ----------------------------------------------------------------------------------------------
    # Client side

    def push(self, jobs: Sequence[NewJob]) -> None:
        """Insert every job in one transaction (all or nothing). Payloads are serialized before the
        transaction starts, so a payload JSON cannot represent raises without writing anything."""
        if not jobs:
            return
        ready: dict[str, list[str]] = {}
        scheduled: list[tuple[str, str, float]] = []
        for job in jobs:
            raw = moves.encode(job.payload)
            if job.at is None:
                ready.setdefault(moves.queue_of(job.payload), []).append(raw)
            else:
                scheduled.append((moves.queue_of(job.payload), raw, float(job.at)))
        with self._write() as conn:
            for queue, raws in ready.items():
                first = moves.back_position(conn, queue)
                conn.executemany(
                    moves.INSERT_ENQUEUED, ((queue, raw, first + i) for i, raw in enumerate(raws))
                )
            if scheduled:
                conn.executemany(moves.INSERT_SCHEDULED, scheduled)
            moves.register_queues(conn, ready)
        if ready:
            self._wake_claimers()

    def push_unique(self, job: NewJob, key: str, ttl: float) -> bool:
        """Take the lock row and insert the job in one transaction (see ``sqlite_unique.py``); the
        lock expires ``ttl`` seconds from now by this machine's clock."""
        raw = moves.encode(job.payload)
        with self._write() as conn:
            pushed = unique.push_unique(conn, job, raw, key, time.time(), ttl)
        if pushed and job.at is None:
            self._wake_claimers()
        return pushed

    def release_unique(self, locks: Sequence[tuple[str, str]]) -> int:
        """Delete the lock rows their jids still hold, in one transaction."""
        if not locks:
            return 0
        with self._write() as conn:
            return unique.release_unique(conn, locks, time.time())

    # ----------------------------------------------------------------------------------------------
    # Processing

    def claim(self, queues: Sequence[str], limit: int, owner: str, timeout: float) -> list[Claimed]:
        """Claim in one transaction, one ``UPDATE ... RETURNING`` per queue in the order given.

        Idle waiting: an in-process condition wakes the claim at once when this store object adds
        ready jobs; other processes' commits are noticed by polling ``PRAGMA data_version`` (a cheap
        counter that changes when another connection commits) every 10 ms. Only when something
        changed does the claim look for ready jobs again, with a plain read first, so idle processes
        do not queue for the write lock every time a busy one acks.
        """
        names = list(dict.fromkeys(queues))
        if not names or limit <= 0:
            return []
        conn = self._connection()
        deadline = time.monotonic() + max(timeout, 0.0)
        must_look = False
        while True:
            seen = self._ready_count
            version = self._data_version(conn)
            if not must_look or self._any_ready(conn, names):
                claimed = self._claim_now(names, limit, owner)
                if claimed:
                    return claimed
            must_look = True
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    return []
                with self._ready:
                    if self._ready_count == seen:
                        self._ready.wait(min(remaining, POLL_INTERVAL))
                if self._closed:  # close() wakes us; the connection is gone
                    return []
                if self._changed(conn, seen, version):
                    break

    def _data_version(self, conn: sqlite3.Connection) -> int:
        try:
            return int(conn.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store {self.path}: {exc}") from exc

    def _changed(self, conn: sqlite3.Connection, seen: int, version: int) -> bool:
        return self._ready_count != seen or self._data_version(conn) != version

    def _any_ready(self, conn: sqlite3.Connection, names: list[str]) -> bool:
        marks = ", ".join("?" * len(names))
        sql = (
            f"SELECT 1 FROM jobs WHERE state = 'enqueued' AND queue IN ({marks})"
            " AND queue NOT IN (SELECT name FROM paused_queues) LIMIT 1"
        )
        try:
            return conn.execute(sql, names).fetchone() is not None
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store {self.path}: {exc}") from exc

    def _claim_now(self, names: list[str], limit: int, owner: str) -> list[Claimed]:
        now = time.time()
        taken: list[tuple[str, list[Any]]] = []
        wanted = limit
        riders = self._rides.board()
        deleted: int | None = None
        try:
            with self._write() as conn:
                carried = sum(moves.ack_riders(conn, riders))  # the waiting acks, in the same transaction
                for queue in names:
                    rows = conn.execute(moves.CLAIM, (owner, now, queue, wanted)).fetchall()
                    if rows:
                        taken.append((queue, rows))
                        wanted -= len(rows)
                        if wanted == 0:
                            break
            deleted = carried  # only once committed: a rolled-back ack deleted nothing
        finally:
            if riders:
                self._rides.arrive(riders, deleted)
        self._rides.claims_flowing = bool(taken)
        claimed: list[Claimed] = []
        # Parsed after COMMIT so the write lock is not held while Python decodes JSON.
        for queue, rows in taken:
            rows.sort(key=lambda row: row[2])  # RETURNING promises no order; the queue's is by position
            for job_id, claims, _position, raw in rows:
                claimed.append(Claimed(raw, _load(raw), queue, (job_id, claims)))
        return claimed

    def owned(self, owner: str) -> list[Claimed]:
        """Every running row held by ``owner``, front of its queue first."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id, claims, queue, payload FROM jobs"
                " WHERE owner = ? AND state = 'running' ORDER BY id",
                (owner,),
            ).fetchall()
        return [Claimed(raw, _load(raw), queue, (job_id, claims)) for job_id, claims, queue, raw in rows]

    def ack(self, owner: str, jobs: Sequence[Claimed]) -> int:
        """Delete the batch with one statement that matches each claim's token and the owner."""
        if not jobs:
            return 0
        rider = Rider([job.token[0] for job in jobs], [job.token[1] for job in jobs], [owner] * len(jobs))
        deleted = self._rides.ride(rider)  # in the next claim's transaction, while claims keep coming
        if deleted is not None:
            return deleted
        with self._write() as conn:
            return sum(moves.ack_riders(conn, [rider]))

    def retry(self, owner: str, job: Claimed, payload: Payload, at: float) -> bool:
        """Turn the running row into a retry row in place (one UPDATE; nothing if no longer held)."""
        job_id, claims = job.token
        queue = moves.queue_of(payload, job.queue)
        written = moves.try_encode(payload)
        if written is None:
            return self._bury_held(owner, job, payload, at)
        with self._write() as conn:
            moved = conn.execute(moves.TO_RETRY, (queue, written, float(at), job_id, claims, owner)).rowcount
        return moved == 1

    def kill(self, owner: str, job: Claimed, payload: Payload | None, at: float) -> bool:
        """Turn the running row into a dead row in place and trim the dead set, in one transaction."""
        job_id, claims = job.token
        raw = moves.try_encode(payload) if payload is not None else None
        if payload is not None and raw is None:
            return self._bury_held(owner, job, payload, at)
        queue = moves.queue_of(payload, job.queue)
        with self._write() as conn:
            moved = conn.execute(moves.TO_DEAD, (queue, raw, float(at), job_id, claims, owner)).rowcount
            if moved:
                moves.trim_dead(conn, float(at))
        return moved == 1

    def _bury_held(self, owner: str, job: Claimed, failure: Payload, at: float) -> bool:
        """The failure of a job whose payload cannot be written back (nested too deep): the row goes
        to the dead set as it was claimed, with the reason appended, instead of failing the acker's
        every try."""
        job_id, claims = job.token
        stored = job.payload if job.payload is not None else failure
        with self._write() as conn:
            held = conn.execute(f"SELECT 1 FROM jobs WHERE {moves.HELD}", (job_id, claims, owner))
            if held.fetchone() is None:
                return False
            buried = moves.bury(
                conn, job_id, "running", job.raw, stored, "recording its failure", float(at), failure
            )
            if buried:
                moves.trim_dead(conn, float(at))
        return buried == 1

    def requeue(self, owner: str, jobs: Sequence[Claimed]) -> int:
        """Put held jobs back at the front, in one transaction; the first job given runs first."""
        if not jobs:
            return 0
        params = [(None, *job.token, owner) for job in reversed(jobs)]
        with self._write() as conn:
            moved = conn.executemany(moves.TO_FRONT, params).rowcount
            moves.register_queues(conn, {job.queue for job in jobs})
        if moved:
            self._wake_claimers()
        return moved

    # ----------------------------------------------------------------------------------------------
    # Process lifecycle and maintenance (see sqlite_maintenance.py for the statements)

    def beat(self, heartbeat: Heartbeat) -> list[str]:
        """Upsert the process row, add the stats, pop the signals: one transaction. The beat time and
        the lease are this machine's clock."""
        now = time.time()
        with self._write() as conn:
            return maintenance.beat(conn, heartbeat, now)

    def unregister(self, identity: str) -> None:
        """Delete the process row and its pending signals."""
        with self._write() as conn:
            maintenance.unregister(conn, identity)

    def promote_due(self, now: float, limit: int = 1000) -> int:
        """Move due rows to the back of their queues in one transaction, soonest due first."""
        if limit <= 0:
            return 0
        with self._write() as conn:
            moved = maintenance.promote_due(conn, now, limit)
        if moved:
            self._wake_claimers()
        return moved

    def end_lease(self, identity: str) -> None:
        """Expire the process row now; its running rows are orphans from here on."""
        with self._write() as conn:
            maintenance.end_lease(conn, identity)

    def rescue_orphans(
        self, now: float, max_orphaned: int = 3, *, exclude: str | None = None
    ) -> RescueResult:
        """Rescue every orphan in one transaction, so two rescuers never move a job twice."""
        with self._write() as conn:
            result = maintenance.rescue_orphans(conn, now, max_orphaned, exclude)
        if result.requeued:
            self._wake_claimers()
        return result

    # ----------------------------------------------------------------------------------------------
    # Periodic (cron) jobs (see sqlite_cron.py for the statements)

    def enqueue_tick(self, entry: str, tick: float, job: NewJob) -> bool:
        """Record the tick and insert its job in one transaction; the primary key decides the race."""
        if job.at is not None:
            raise ValueError("enqueue_tick pushes an immediate job; job.at must be None")
        with self._write() as conn:
            pushed = cron.enqueue_tick(conn, entry, int(tick), job, time.time())
        if pushed:
            self._wake_claimers()
        return pushed

    def cron_state(self, entries: Sequence[str]) -> dict[str, CronState]:
        """The entries' rows, read in one snapshot."""
        with self._read() as conn:
            return cron.cron_state(conn, entries)

    def pause_cron(self, entry: str, paused: bool) -> None:
        """Set the entry's paused flag."""
        with self._write() as conn:
            cron.pause(conn, entry, paused)

    # ----------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close every thread's connection and wake idle claims (they return ``[]``)."""
        self._close_connections()
        self._wake_claimers()


def _load(raw: str) -> Payload | None:
    try:
        return load_payload(raw)
    except MalformedJobError:
        return None
