"""Batches in the SQL stores (SQLite and PostgreSQL share this logic; each store gives its table
prefix, its placeholder, whether it locks rows, and how it pushes jobs inside its transaction).

Tables (created by each store's migration):

* ``batches``: one row per batch: parent, description, times, ``callbacks`` (JSON list of
  ``[event, jid, queue, template]``), ``tail`` (the status's static JSON end), ``fired`` (JSON
  ``{event: time}``) and ``expires_at`` (30 days after the latest addition; ``linger`` after success);
* ``batch_members``: one row per member (a job's jid, or ``b-<bid>`` for a child batch) with its
  ``ran``, ``succeeded`` and ``failed`` flags; the batch's row keeps their counts (``total``,
  ``unrun``, ``pending``, ``failures``), changed with each flag, so recording an outcome never counts
  the members.

Every function runs inside one transaction its caller opened. On PostgreSQL the batch's row is
locked (``FOR UPDATE``) before its members are read, so two processes recording the last two jobs of
a batch at once are ordered and the second sees the first's marks: the transition is seen exactly
once, and the ``fired`` flag written in the same transaction keeps a re-run from firing again. Locks
are taken from a batch up to its ancestors only, so two transactions never wait on each other in a
cycle. On SQLite the whole write transaction holds the file's write lock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import orjson

from sidequest.batch_records import (
    EVENTS,
    UNFINISHED_TTL,
    BatchAdd,
    BatchCallback,
    BatchInfo,
    BatchOutcome,
    NewBatch,
    child_member,
    fill_template,
    now_text,
    status_json,
)
from sidequest.errors import StoreError
from sidequest.job import NewJob

FAILED_JIDS_SHOWN = 1000
"""At most this many failed jids in a status (the counters are always exact)."""

SWEEP_LIMIT = 100


class Conn(Protocol):
    """The part of a DB-API connection used here (sqlite3 and psycopg both fit)."""

    def execute(self, sql: Any, params: Any = ..., /) -> Any: ...


PushJobs = Callable[[Any, Sequence[NewJob]], None]

COLUMNS = (
    "bid, parent, description, created_at, linger, callbacks, tail, fired, total, unrun, pending, failures"
)
MEMBER = "SELECT ran, succeeded, failed FROM {t}batch_members WHERE bid = ? AND member = ?"
SUCCEEDED = "UPDATE {t}batch_members SET ran = 1, succeeded = 1, failed = 0 WHERE bid = ? AND member = ?"
FAILED = "UPDATE {t}batch_members SET ran = 1, failed = 1 WHERE bid = ? AND member = ?"
COUNTERS = (
    "UPDATE {t}batches SET total = total + ?, unrun = unrun + ?, pending = pending + ?, "
    "failures = failures + ? WHERE bid = ?"
)


class SqlBatches:
    """The batch half of one SQL store."""

    def __init__(self, prefix: str, placeholder: str, lock_rows: bool, push: PushJobs) -> None:
        self._prefix = prefix
        self._placeholder = placeholder
        self._lock_rows = lock_rows
        self._push = push

    def q(self, sql: str) -> str:
        """``sql`` with this store's table prefix and placeholder."""
        return sql.format(t=self._prefix).replace("?", self._placeholder)

    # -- writes ----------------------------------------------------------------------------------------

    def add(self, conn: Conn, adds: Sequence[BatchAdd], now: float) -> bool:
        """:meth:`Store.add_to_batches` inside the caller's transaction; True when jobs were pushed."""
        self._sweep(conn, now)
        created: list[str] = []
        pushed = False
        for add in adds:
            if add.new is not None:
                self._create(conn, add.new, now)
                created.append(add.bid)
            else:
                row = self._lock(conn, add.bid)
                if row is None or "success" in orjson.loads(row[7]):
                    raise StoreError(
                        f"batch {add.bid} is not open to new jobs (it succeeded, expired, or was "
                        f"deleted); open a new Batch instead"
                    )
            members = [str(job.payload["jid"]) for job in add.jobs]
            self._insert_members(conn, add.bid, members)
            conn.execute(
                self.q("UPDATE {t}batches SET expires_at = ? WHERE bid = ?"), (now + UNFINISHED_TTL, add.bid)
            )
            if add.jobs:
                self._push(conn, add.jobs)
                pushed = True
        for bid in reversed(created):  # an empty batch (or one whose jobs all ran) fires now
            self._settle(conn, bid, now, died=False)
        return pushed

    def record(self, conn: Conn, bid: str, outcomes: Sequence[BatchOutcome], now: float) -> int:
        """Record the outcomes of one batch's members and fire what they complete (see the module doc)."""
        if self._lock(conn, bid) is None:
            return 0
        died = False
        deltas = [0, 0, 0, 0]
        for outcome in outcomes:
            if self._mark(conn, bid, outcome.jid, outcome.kind, deltas) and outcome.kind == "death":
                died = True
        self._count(conn, bid, deltas)
        return self._settle(conn, bid, now, died)

    def delete(self, conn: Conn, bid: str) -> bool:
        """Forget one batch and its members."""
        conn.execute(self.q("DELETE FROM {t}batch_members WHERE bid = ?"), (bid,))
        return bool(conn.execute(self.q("DELETE FROM {t}batches WHERE bid = ?"), (bid,)).rowcount)

    # -- reads -----------------------------------------------------------------------------------------

    def status(self, conn: Conn, bid: str, now: float) -> BatchInfo | None:
        """One batch's status with its failed jids; None when unknown or expired."""
        row = conn.execute(
            self.q(f"SELECT {COLUMNS} FROM {{t}}batches WHERE bid = ? AND expires_at > ?"), (bid, now)
        ).fetchone()
        if row is None:
            return None
        return self._info(conn, row, with_failed=True)

    def page(self, conn: Conn, offset: int, limit: int, now: float) -> list[BatchInfo]:
        """A page of batches, newest first."""
        rows = conn.execute(
            self.q(
                f"SELECT {COLUMNS} FROM {{t}}batches WHERE expires_at > ? "
                "ORDER BY created_at DESC, bid LIMIT ? OFFSET ?"
            ),
            (now, max(0, limit), max(0, offset)),
        ).fetchall()
        return [self._info(conn, row, with_failed=False) for row in rows]

    # -- inside ----------------------------------------------------------------------------------------

    def _info(self, conn: Conn, row: Sequence[Any], with_failed: bool) -> BatchInfo:
        bid = str(row[0])
        total, unrun, pending, failures = (int(value) for value in row[8:12])
        failed = self._failed(conn, bid) if with_failed else []
        callbacks = [str(item[0]) for item in orjson.loads(row[5])]
        return BatchInfo(
            bid=bid,
            description=str(row[2]),
            parent=None if row[1] is None else str(row[1]),
            created_at=float(row[3]),
            total=total,
            pending=pending,
            failures=failures,
            unrun=unrun,
            failed_jids=failed,
            fired={str(k): float(v) for k, v in orjson.loads(row[7]).items()},
            callbacks=callbacks,
        )

    def _mark(self, conn: Conn, bid: str, member: str, kind: str, deltas: list[int]) -> bool:
        """Mark one member's run (``success``, ``failure``, ``death``, or ``child_death``: nothing
        marked) and add its effect on the batch's counters (total, unrun, pending, failures) to
        ``deltas``. False, changing nothing, for an unknown member or one that already succeeded."""
        row = conn.execute(self.q(MEMBER), (bid, member)).fetchone()
        if row is None or int(row[1]):
            return False
        ran, failed = int(row[0]), int(row[2])
        if kind == "child_death":
            return True
        if not ran:
            deltas[1] -= 1
        if kind == "success":
            conn.execute(self.q(SUCCEEDED), (bid, member))
            deltas[2] -= 1
            deltas[3] -= failed
        else:
            conn.execute(self.q(FAILED), (bid, member))
            deltas[3] += 1 - failed
        return True

    def _count(self, conn: Conn, bid: str, deltas: list[int]) -> None:
        if any(deltas):
            conn.execute(self.q(COUNTERS), (*deltas, bid))

    def _failed(self, conn: Conn, bid: str) -> list[str]:
        rows = conn.execute(
            self.q(
                "SELECT member FROM {t}batch_members WHERE bid = ? AND failed = 1 AND succeeded = 0 "
                f"ORDER BY member LIMIT {FAILED_JIDS_SHOWN}"
            ),
            (bid,),
        ).fetchall()
        return [str(r[0]) for r in rows]

    def _lock(self, conn: Conn, bid: str) -> Sequence[Any] | None:
        suffix = " FOR UPDATE" if self._lock_rows else ""
        row: Sequence[Any] | None = conn.execute(
            self.q(f"SELECT {COLUMNS} FROM {{t}}batches WHERE bid = ?{suffix}"), (bid,)
        ).fetchone()
        return row

    def _insert_members(self, conn: Conn, bid: str, members: Sequence[str]) -> None:
        sql = self.q("INSERT INTO {t}batch_members (bid, member) VALUES (?, ?) ON CONFLICT DO NOTHING")
        added = sum(max(0, int(conn.execute(sql, (bid, member)).rowcount)) for member in members)
        self._count(conn, bid, [added, added, added, 0])

    def _create(self, conn: Conn, new: NewBatch, now: float) -> None:
        if self._lock(conn, new.bid) is not None:
            return  # created already (a client that retried after a lost reply): added to, not reset
        if new.parent is not None:
            if self._lock(conn, new.parent) is None:
                raise StoreError(
                    f"batch {new.parent} is not in the store (finished, expired or deleted): batch "
                    f"{new.bid} cannot be nested in it"
                )
            self._insert_members(conn, new.parent, [child_member(new.bid)])
        callbacks = [[cb.event, cb.jid, cb.queue, cb.template] for cb in new.callbacks]
        conn.execute(
            self.q(
                "INSERT INTO {t}batches (bid, parent, description, created_at, linger, expires_at, "
                "callbacks, tail, fired, total, unrun, pending, failures) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, '{{}}', 0, 0, 0, 0)"
            ),
            (
                new.bid,
                new.parent,
                new.description,
                new.created_at,
                new.linger,
                now + UNFINISHED_TTL,
                orjson.dumps(callbacks).decode(),
                new.status_tail(),
            ),
        )

    def _settle(self, conn: Conn, bid: str, now: float, died: bool) -> int:
        """Fire what batch ``bid`` (locked) reached, then tell its parent. Returns callbacks pushed."""
        row = self._lock(conn, bid)
        if row is None:
            return 0
        parent = None if row[1] is None else str(row[1])
        fired: dict[str, float] = orjson.loads(row[7])
        total, unrun, pending, failures = (int(value) for value in row[8:12])
        events: list[str] = []
        if died and "death" not in fired:
            events.append("death")
        if unrun == 0 and "complete" not in fired:
            events.append("complete")
        if pending == 0 and "success" not in fired:
            events.append("success")
        if not events:
            return 0
        for event in events:
            fired[event] = now
        expiry = ", expires_at = ?" if "success" in events else ""
        params: tuple[Any, ...] = (orjson.dumps(fired).decode(),)
        params += (now + float(row[4]),) if expiry else ()
        conn.execute(self.q(f"UPDATE {{t}}batches SET fired = ?{expiry} WHERE bid = ?"), (*params, bid))
        status = status_json(
            {
                "total": total,
                "pending": pending,
                "failures": failures,
                "failed_jids": self._failed(conn, bid),
            },
            str(row[6]),
        )
        callbacks = {str(item[0]): BatchCallback(*item) for item in orjson.loads(row[5])}
        pushed = 0
        for event in [e for e in EVENTS if e in events]:
            callback = callbacks.get(event)
            if callback is None:
                continue
            # A child's callback is a member of its parent: the parent finishes after it ran.
            if parent is not None and self._lock(conn, parent) is not None:
                self._insert_members(conn, parent, [callback.jid])
            payload = orjson.loads(fill_template(callback.template, status, now_text(now)))
            self._push(conn, [NewJob(payload)])
            pushed += 1
        if parent is not None:
            pushed += self._tell_parent(conn, parent, bid, events, failures, now)
        return pushed

    def _tell_parent(
        self, conn: Conn, parent: str, bid: str, events: list[str], failures: int, now: float
    ) -> int:
        member = child_member(bid)
        if self._lock(conn, parent) is None:
            return 0
        deltas = [0, 0, 0, 0]
        died = "death" in events and self._mark(conn, parent, member, "child_death", deltas)
        if "success" in events:
            self._mark(conn, parent, member, "success", deltas)
        elif "complete" in events and failures:
            self._mark(conn, parent, member, "failure", deltas)
        self._count(conn, parent, deltas)
        return self._settle(conn, parent, now, died)

    def _sweep(self, conn: Conn, now: float) -> None:
        """Forget a few expired batches (finished ones after their linger, stale unfinished ones)."""
        rows = conn.execute(
            self.q(f"SELECT bid FROM {{t}}batches WHERE expires_at <= ? LIMIT {SWEEP_LIMIT}"), (now,)
        ).fetchall()
        for (bid,) in rows:
            self.delete(conn, str(bid))
