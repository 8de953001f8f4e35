"""Rate limiters on the SQL stores (SQLite and PostgreSQL): one algorithm over two tables.

``limiters`` has one row per ``(kind, name)``: the limiter's size and period as last used, its
``allowed`` and ``refused`` counts, ``last_used``, and the state of a bucket (``mark`` = start of the
current interval, ``level`` = uses in it) or of a leaky bucket (``level`` at time ``mark``).
``limiter_uses`` has one row per live use of a concurrent limiter (``at`` = when its lock expires) or
per use of a window limiter in its last period (``at`` = when it was used).

Every function runs inside the caller's one write transaction. The first statement of an acquire is
the upsert of the limiter's row, which takes that row's lock (PostgreSQL) or runs under the file's
write lock (SQLite): racing acquires of one limiter are serialised there, and each then sees the
uses the previous one committed. No advisory lock; nothing is held after the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, cast

from sidequest.limits import (
    KINDS,
    Limit,
    LimiterKind,
    LimiterStats,
    Verdict,
    bucket_start,
    bucket_step,
    leaky_level,
    leaky_step,
)


class Rows(Protocol):
    """What ``execute`` returns on either driver."""

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Runner(Protocol):
    """A connection inside a transaction: ``sqlite3.Connection`` or ``psycopg.Connection``."""

    def execute(self, sql: str, params: Sequence[Any], /) -> Rows: ...


UPSERT = """
    INSERT INTO {t}limiters (kind, name, size, period) VALUES (?, ?, ?, ?)
    ON CONFLICT (kind, name) DO UPDATE SET size = excluded.size, period = excluded.period
    RETURNING mark, level
"""
SAVE = """
    UPDATE {t}limiters
    SET mark = ?, level = ?, allowed = allowed + ?, refused = refused + ?, last_used = ?
    WHERE kind = ? AND name = ?
"""
FORGET_OLD = "DELETE FROM {t}limiter_uses WHERE kind = ? AND name = ? AND at <= ?"
TALLY = "SELECT count(*), min(at) FROM {t}limiter_uses WHERE kind = ? AND name = ?"
ADD_USE = """
    INSERT INTO {t}limiter_uses (kind, name, token, at) VALUES (?, ?, ?, ?)
    ON CONFLICT (kind, name, token) DO UPDATE SET at = excluded.at
"""
RELEASE = "DELETE FROM {t}limiter_uses WHERE kind = 'concurrent' AND name = ? AND token = ? RETURNING at"
PEEK_STATE = "SELECT mark, level FROM {t}limiters WHERE kind = ? AND name = ?"
PEEK_USES = "SELECT count(*), min(at) FROM {t}limiter_uses WHERE kind = ? AND name = ? AND at > ?"
LIST = "SELECT kind, name, size, period, mark, level, allowed, refused, last_used FROM {t}limiters"
LIVE_USES = """
    SELECT kind, name, count(*) FROM {t}limiter_uses AS u
    WHERE at > CASE WHEN kind = 'window'
        THEN ? - (SELECT period FROM {t}limiters AS l WHERE l.kind = u.kind AND l.name = u.name)
        ELSE ? END
    GROUP BY kind, name
"""


def clock_at(now: float | None, clock: Callable[[], float]) -> Callable[[], float]:
    """A clock that reads ``now`` when it is given (tests), else ``clock``."""
    if now is None:
        return clock
    fixed = float(now)
    return lambda: fixed


class LimiterSQL:
    """The statements of one store: ``prefix`` qualifies the tables (``""`` or ``"schema".``) and
    ``placeholder`` is the driver's parameter mark (``?`` or ``%s``)."""

    def __init__(self, prefix: str = "", placeholder: str = "?") -> None:
        def sql(text: str) -> str:
            return text.format(t=prefix).replace("?", placeholder)

        self.upsert = sql(UPSERT)
        self.save = sql(SAVE)
        self.forget_old = sql(FORGET_OLD)
        self.tally = sql(TALLY)
        self.add_use = sql(ADD_USE)
        self.release_use = sql(RELEASE)
        self.list = sql(LIST)
        self.live_uses = sql(LIVE_USES)
        self.peek_state = sql(PEEK_STATE)
        self.peek_uses = sql(PEEK_USES)

    def peek(self, conn: Runner, limit: Limit, now: float) -> Verdict | None:
        """A poll's refusal judged from a read (no write lock taken), or None when the limit may allow a
        use: then :meth:`acquire` decides, in its write transaction."""
        if limit.kind in ("concurrent", "window"):
            concurrent = limit.kind == "concurrent"
            cutoff = now if concurrent else now - limit.period
            count, oldest = conn.execute(self.peek_uses, (limit.kind, limit.name, cutoff)).fetchone()
            if int(count) < limit.size:
                return None
            wait = float(oldest) - now if concurrent else float(oldest) + limit.period - now
            return Verdict(False, max(wait, 0.0), now)
        row = conn.execute(self.peek_state, (limit.kind, limit.name)).fetchone()
        if row is None:
            return None
        mark, level = float(row[0]), float(row[1])
        if limit.kind == "bucket":
            verdict = bucket_step(limit, mark, level, now)[0]
        else:
            verdict = leaky_step(limit, level, mark, now)[0]
        return None if verdict.allowed else Verdict(False, verdict.wait, now)

    def acquire(
        self, conn: Runner, limit: Limit, token: str, clock: Callable[[], float], final: bool
    ) -> Verdict:
        """One use of ``limit`` by ``token`` (see ``Store.limiter_acquire``). ``clock`` is read once,
        after the limiter's row is locked."""
        mark, level = conn.execute(self.upsert, (limit.kind, limit.name, limit.size, limit.period)).fetchone()
        now = clock()
        mark, level = float(mark), float(level)
        if limit.kind in ("concurrent", "window"):
            verdict = self._use(conn, limit, token, now)
        elif limit.kind == "bucket":
            verdict, mark, level = bucket_step(limit, mark, level, now)
        else:
            verdict, level = leaky_step(limit, level, mark, now)
            mark = now
        refused = 1 if not verdict.allowed and final else 0
        conn.execute(self.save, (mark, level, int(verdict.allowed), refused, now, limit.kind, limit.name))
        return Verdict(verdict.allowed, verdict.wait, now)

    def _use(self, conn: Runner, limit: Limit, token: str, now: float) -> Verdict:
        # concurrent: a use's `at` is its lock's expiry; window: when it was used.
        concurrent = limit.kind == "concurrent"
        conn.execute(self.forget_old, (limit.kind, limit.name, now if concurrent else now - limit.period))
        count, oldest = conn.execute(self.tally, (limit.kind, limit.name)).fetchone()
        if int(count) < limit.size:
            conn.execute(
                self.add_use, (limit.kind, limit.name, token, now + limit.period if concurrent else now)
            )
            return Verdict(True)
        wait = float(oldest) - now if concurrent else float(oldest) + limit.period - now
        return Verdict(False, max(wait, 0.0))

    def release(self, conn: Runner, limit: Limit, token: str, now: float) -> bool:
        """Free ``token``'s slot of a concurrent limiter; True when it still held a live one."""
        if limit.kind != "concurrent":
            return False
        row = conn.execute(self.release_use, (limit.name, token)).fetchone()
        return row is not None and float(row[0]) > now

    def stats(self, conn: Runner, now: float) -> list[LimiterStats]:
        """Every limiter's :class:`LimiterStats`, by kind and name."""
        live = {
            (str(kind), str(name)): int(count)
            for kind, name, count in conn.execute(self.live_uses, (now, now)).fetchall()
        }
        found: list[LimiterStats] = []
        for kind, name, size, period, mark, level, allowed, refused, last_used in conn.execute(
            self.list, ()
        ).fetchall():
            if kind not in KINDS:
                continue
            limit = Limit(cast(LimiterKind, kind), str(name), int(size), float(period))
            if kind in ("concurrent", "window"):
                in_use = float(live.get((kind, name), 0))
            elif kind == "bucket":
                in_use = float(level) if float(mark) == bucket_start(limit.period, now) else 0.0
            else:
                in_use = leaky_level(limit, float(level), float(mark), now)
            found.append(
                LimiterStats(
                    limit.kind,
                    limit.name,
                    limit.size,
                    limit.period,
                    in_use,
                    int(allowed),
                    int(refused),
                    None if last_used is None else float(last_used),
                )
            )
        return sorted(found, key=lambda item: (item.kind, item.name))
