"""The SQLite store never blocks on one bad row: a payload that reads as JSON but cannot be written back
(orjson reads 1024 levels of nesting, writes 254), or text that is not UTF-8, stays that row's problem.
The row goes to the dead set as stored, with a reason a person can read; the rest of the pass goes on.

The bad rows are written with plain sqlite3, as another tool or an older sidequest could have left them.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from contract.support import JobMaker, beat, claim_all, let_lease_lapse
from sidequest.admin import ALL, Admin
from sidequest.errors import PermanentStoreError
from sidequest.stores.sqlite import SQLiteStore

OWNER = "host:1:bad-rows"
GONE = "host:2:gone"
DEPTH = 300


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[SQLiteStore]:
    with SQLiteStore(sqlite_url) as store:
        yield store


def deep_raw(jobs: JobMaker, name: str, depth: int = DEPTH) -> str:
    """A real payload whose one argument nests ``depth`` lists deep (readable, not writable)."""
    payload = jobs.payload("PLACEHOLDER", jid=name)
    text = orjson.dumps(payload).decode()
    return text.replace('"PLACEHOLDER"', "[" * depth + "]" * depth)


def insert(store: SQLiteStore, state: str, raw: str | bytes, **columns: object) -> int:
    with sqlite3.connect(store.path) as conn:
        names = ["queue", "state", "payload", *columns]
        values = ["default", state, raw, *columns.values()]
        cursor = conn.execute(
            f"INSERT INTO jobs ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})", values
        )
        return int(cursor.lastrowid or 0)


def assert_buried(store: SQLiteStore, raw: str, doing: str) -> None:
    [dead] = [entry for entry in store.list_set("dead") if entry.raw.startswith(raw[:-1])]
    assert dead.payload is not None
    assert dead.payload["error_class"] == "StoreDataError"
    assert doing in dead.payload["error_message"]
    assert "nested deeper than 254 levels" in dead.payload["error_message"]
    assert dead.jid == orjson.loads(raw)["jid"]


def test_a_due_job_nested_300_deep_goes_to_the_dead_set_and_the_others_are_promoted(
    sqlite_store: SQLiteStore,
) -> None:
    jobs = JobMaker(sqlite_store)
    past = time.time() - 10
    ordinary = jobs.schedule_many(3, past)
    scheduled_bad = deep_raw(jobs, "deep-scheduled")
    retry_bad = deep_raw(jobs, "deep-retry")
    insert(sqlite_store, "scheduled", scheduled_bad, score=past - 1)
    insert(sqlite_store, "retry", retry_bad, score=past - 1)
    more = jobs.schedule_many(2, past + 1)

    assert sqlite_store.promote_due(time.time()) == 5
    assert [entry.jid for entry in sqlite_store.list_queue("default")] == ordinary + more
    assert len(sqlite_store.list_set("dead")) == 2
    assert_buried(sqlite_store, scheduled_bad, "promoting it to its queue")
    assert_buried(sqlite_store, retry_bad, "promoting it to its queue")
    assert sqlite_store.promote_due(time.time()) == 0  # nothing left behind to fail the next pass


def test_a_running_orphan_nested_300_deep_goes_to_the_dead_set_and_the_others_are_rescued(
    sqlite_store: SQLiteStore,
) -> None:
    jobs = JobMaker(sqlite_store)
    jobs.push_many(2)
    bad = deep_raw(jobs, "deep-running")
    insert(sqlite_store, "enqueued", bad, position=1_000)
    last = jobs.push("last")
    let_lease_lapse(sqlite_store, GONE)
    claimed = claim_all(sqlite_store, GONE)
    assert len(claimed) == 4
    assert [job.payload is not None for job in claimed] == [True, True, True, True]  # it reads fine

    result = sqlite_store.rescue_orphans(time.time(), 3, exclude=OWNER)
    assert (result.requeued, result.killed) == (3, 1)
    assert [entry.jid for entry in sqlite_store.list_queue("default")][-1] == last
    assert_buried(sqlite_store, bad, "rescuing it from a process that stopped")
    beat(sqlite_store, OWNER)
    assert len(claim_all(sqlite_store, OWNER)) == 3


def test_retry_now_of_a_set_holding_an_unwritable_job_moves_the_others(sqlite_store: SQLiteStore) -> None:
    jobs = JobMaker(sqlite_store)
    later = time.time() + 3600
    ordinary = jobs.schedule_many(2, later)
    bad = deep_raw(jobs, "deep-later")
    insert(sqlite_store, "scheduled", bad, score=later)
    result = Admin(sqlite_store).retry("scheduled", ALL)
    assert result.done == 2
    assert sorted(entry.jid for entry in sqlite_store.list_queue("default")) == sorted(ordinary)
    assert_buried(sqlite_store, bad, "moving it to its queue")
    # From the dead set it cannot go back either: it stays there, and nothing fails.
    assert Admin(sqlite_store).retry("dead", ALL).done == 0
    assert len(sqlite_store.list_set("dead")) == 1


def test_a_failure_that_cannot_be_written_back_sends_the_job_to_the_dead_set_as_claimed(
    sqlite_store: SQLiteStore,
) -> None:
    jobs = JobMaker(sqlite_store)
    bad = deep_raw(jobs, "deep-failing")
    insert(sqlite_store, "enqueued", bad, position=0)
    beat(sqlite_store, OWNER)
    [job] = claim_all(sqlite_store, OWNER)
    assert job.payload is not None
    failed = {**job.payload, "error_class": "RuntimeError", "error_message": "boom", "retry_count": 0}
    assert sqlite_store.retry(OWNER, job, failed, time.time() + 30)
    assert sqlite_store.list_set("retry") == []
    assert_buried(sqlite_store, bad, "recording its failure")
    [dead] = sqlite_store.list_set("dead")
    assert dead.payload is not None and "RuntimeError: boom" in dead.payload["error_message"]
    assert not sqlite_store.kill(OWNER, job, failed, time.time())  # no longer held: nothing written


def test_text_that_is_not_utf8_does_not_block_the_claim_of_its_queue(sqlite_store: SQLiteStore) -> None:
    jobs = JobMaker(sqlite_store)
    first = jobs.push("first")
    insert(sqlite_store, "enqueued", b'{"class":"X","args":["\xff"],"jid":"latin"}', position=10)
    with sqlite3.connect(sqlite_store.path) as conn:  # stored as TEXT with its bytes as they are
        conn.execute("UPDATE jobs SET payload = CAST(payload AS TEXT) WHERE position = 10")
    last = jobs.push("last")
    beat(sqlite_store, OWNER)
    claimed = claim_all(sqlite_store, OWNER)
    assert [job.jid for job in claimed] == [first, "latin", last]
    assert claimed[1].payload is not None and claimed[1].payload["args"] == ["\ufffd"]
    assert sqlite_store.ack(OWNER, claimed) == 3


def test_a_file_of_garbage_is_a_permanent_error_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    path.write_bytes(os.urandom(8192))
    with pytest.raises(PermanentStoreError, match="is not a SQLite database") as raised:
        SQLiteStore(f"sqlite:///{path}")
    assert str(path) in str(raised.value)


def test_a_directory_at_the_url_is_a_permanent_error_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    path.mkdir()
    with pytest.raises(PermanentStoreError, match="is a directory") as raised:
        SQLiteStore(f"sqlite:///{path}")
    assert str(path) in str(raised.value)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_file_this_user_cannot_write_is_a_permanent_error_naming_the_path() -> None:
    # Root writes any file whatever its mode, so the opening runs in a child that drops to nobody;
    # the directory lives outside pytest's (root-only) tmp tree so that nobody can reach it.
    directory = Path(tempfile.mkdtemp(prefix="sidequest-readonly-"))
    try:
        directory.chmod(0o755)
        path = directory / "jobs.db"
        SQLiteStore(f"sqlite:///{path}").close()
        path.chmod(0o444)
        directory.chmod(0o555)
        reader, writer = os.pipe()
        child = os.fork()
        if child == 0:  # pragma: no cover - runs in the child
            os.close(reader)
            message = "opened"
            try:
                if os.geteuid() == 0:
                    os.setgid(65534)
                    os.setuid(65534)
                SQLiteStore(f"sqlite:///{path}").close()
            except PermanentStoreError as exc:
                message = f"PermanentStoreError: {exc}"
            except BaseException as exc:
                message = f"{type(exc).__name__}: {exc}"
            finally:
                os.write(writer, message.encode())
                os._exit(0)
        os.close(writer)
        with os.fdopen(reader, "rb") as answer:
            message = answer.read().decode()
        os.waitpid(child, 0)
        assert message.startswith("PermanentStoreError: ")
        assert str(path) in message
        assert "read-only for this process" in message
    finally:
        directory.chmod(0o755)
        shutil.rmtree(directory)


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def warnings() -> Iterator[list[str]]:
    handler = Collect()
    logger = logging.getLogger("sidequest")
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


def test_a_new_file_is_announced_with_its_absolute_path_and_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, warnings: list[str]
) -> None:
    subdirectory = tmp_path / "scripts"
    subdirectory.mkdir()
    monkeypatch.chdir(subdirectory)
    with SQLiteStore("sqlite:///jobs.db") as store:
        assert store.path == str(subdirectory / "jobs.db")
    [created] = warnings
    assert f"created a new SQLite store at {subdirectory / 'jobs.db'}" in created
    assert f"working directory {subdirectory}" in created
    SQLiteStore("sqlite:///jobs.db").close()
    assert len(warnings) == 1  # an existing file is opened without a word


def test_an_absolute_url_is_announced_without_a_working_directory(
    tmp_path: Path, warnings: list[str]
) -> None:
    SQLiteStore(f"sqlite:///{tmp_path / 'abs.db'}").close()
    [created] = warnings
    assert str(tmp_path / "abs.db") in created
    assert "working directory" not in created
