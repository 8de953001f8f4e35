"""The enumerators of sidequest.iteration: each resumes right after the cursor it gave last."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from sidequest import iteration
from sidequest.errors import JobArgumentError


def test_a_range_and_a_list_resume_after_their_cursor() -> None:
    assert list(iteration.over_range(0, 4, cursor=None)) == [(0, 0), (1, 1), (2, 2), (3, 3)]
    assert list(iteration.over_range(0, 10, 3, cursor=3)) == [(6, 6), (9, 9)]
    assert list(iteration.over_list(["a", "b", "c"], cursor=None)) == [("a", 0), ("b", 1), ("c", 2)]
    assert list(iteration.over_list(["a", "b", "c"], cursor=1)) == [("c", 2)]


@pytest.fixture
def db() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, active INTEGER)")
    conn.executemany("INSERT INTO users VALUES (?, ?, ?)", [(n, f"u{n}", n % 2) for n in range(1, 26)])
    return conn


def test_db_api_batches_walk_a_query_by_primary_key_and_resume_after_the_last_key(
    db: sqlite3.Connection,
) -> None:
    sql = "SELECT id, name FROM users WHERE active = ?"
    batches = list(iteration.row_batches_by_key(db, sql, "id", cursor=None, batch_size=5, params=[1]))
    assert [len(rows) for rows, _ in batches] == [5, 5, 3]
    assert [cursor for _, cursor in batches] == [9, 19, 25]
    resumed = list(iteration.row_batches_by_key(db, sql, "id", cursor=19, batch_size=5, params=[1]))
    assert [row[0] for rows, _ in resumed for row in rows] == [21, 23, 25]


def test_db_api_rows_come_one_by_one_with_their_key_from_a_cursor_too(db: sqlite3.Connection) -> None:
    rows = list(
        iteration.rows_by_key(db.cursor(), "SELECT name, id FROM users", "id", cursor=22, batch_size=2)
    )
    assert rows == [(("u23", 23), 23), (("u24", 24), 24), (("u25", 25), 25)]


def test_a_bad_key_or_batch_size_is_refused_with_what_to_do(db: sqlite3.Connection) -> None:
    with pytest.raises(JobArgumentError, match="plain column name"):
        list(iteration.rows_by_key(db, "SELECT * FROM users", "id; DROP TABLE users", cursor=None))
    with pytest.raises(JobArgumentError, match="batch_size"):
        list(iteration.row_batches_by_key(db, "SELECT * FROM users", "id", cursor=None, batch_size=0))


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


def test_a_sqlalchemy_select_is_walked_by_key_as_objects_or_rows() -> None:
    engine = sa.create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all([User(id=n, name=f"u{n}") for n in range(1, 8)])
        session.commit()
        objects = list(iteration.sqlalchemy_rows(session, sa.select(User), User.id, cursor=4, batch_size=2))
        assert [(user.name, cursor) for user, cursor in objects] == [("u5", 5), ("u6", 6), ("u7", 7)]
        statement = sa.select(User.id, User.name).where(User.id > 1)
        batches = list(iteration.sqlalchemy_batches(session, statement, User.id, cursor=None, batch_size=4))
        assert [[row.id for row in rows] for rows, _ in batches] == [[2, 3, 4, 5], [6, 7]]
        assert [cursor for _, cursor in batches] == [5, 7]
