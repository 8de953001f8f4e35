"""What only the SQLite store promises beyond the contract: its URLs, its schema on open, several
processes sharing one file, and damage it survives. The contract scenarios run on it too (``-k sqlite``)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from contract.support import JobMaker, beat, raw_payload
from sidequest.errors import ConfigurationError, StoreError
from sidequest.stores import open_store
from sidequest.stores.sqlite import SQLiteStore
from sidequest.stores.sqlite.schema import MIGRATIONS

OWNER = "host:1:sqlite"

# Opens the store at a given wall-clock moment, so that several processes migrate a new file at once.
OPEN_AT = textwrap.dedent(
    """
    import sys, time
    from sidequest.client import Client
    from sidequest.stores.sqlite import SQLiteStore

    url, at = sys.argv[1], float(sys.argv[2])
    time.sleep(max(at - time.time(), 0))
    store = SQLiteStore(url)
    Client(store).enqueue("tests.Opened", [sys.argv[3]])
    store.close()
    """
)


def test_a_relative_url_names_a_file_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with SQLiteStore("sqlite:///relative.db") as store:
        assert store.url == "sqlite:///relative.db"
        JobMaker(store).push(1)
    assert (tmp_path / "relative.db").exists()


def test_an_absolute_url_has_four_slashes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'absolute.db'}"
    assert url.startswith("sqlite:////")
    with open_store(url) as store:
        assert isinstance(store, SQLiteStore)
        assert store.url == url
    assert (tmp_path / "absolute.db").exists()


@pytest.mark.parametrize(
    "url",
    ["sqlite:///:memory:", "sqlite:///", "sqlite://host/jobs.db", "sqlite:////no/such/directory/jobs.db"],
)
def test_a_url_that_names_no_shareable_file_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError):
        SQLiteStore(url)


def test_a_new_file_gets_the_whole_schema_in_wal_mode(sqlite_url: str) -> None:
    SQLiteStore(sqlite_url).close()
    path = sqlite_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    SQLiteStore(sqlite_url).close()  # opening again migrates nothing


def test_a_file_written_by_a_newer_sidequest_is_refused(sqlite_url: str) -> None:
    SQLiteStore(sqlite_url).close()
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(StoreError, match="newer sidequest"):
        SQLiteStore(sqlite_url)


def test_processes_opening_a_new_file_at_once_all_succeed(sqlite_url: str) -> None:
    at = time.time() + 1.0  # past every child's interpreter start-up
    children = [
        subprocess.Popen([sys.executable, "-c", OPEN_AT, sqlite_url, str(at), str(number)])
        for number in range(4)
    ]
    assert [child.wait(timeout=60) for child in children] == [0, 0, 0, 0]
    with SQLiteStore(sqlite_url) as store:
        assert store.counts().enqueued == 4


def test_a_payload_that_is_not_json_is_claimed_with_payload_none(sqlite_url: str) -> None:
    with SQLiteStore(sqlite_url) as store:
        with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:
            conn.execute(
                "INSERT INTO jobs (queue, state, payload, position) VALUES (?, 'enqueued', ?, 0)",
                ("default", "{oops"),
            )
        beat(store, OWNER)
        [job] = store.claim(["default"], 5, OWNER, 0)
        assert (job.raw, job.payload, job.jid) == ("{oops", None, None)
        assert store.kill(OWNER, job, None, time.time())
        [dead] = store.list_set("dead")
        assert (dead.raw, dead.payload, dead.display_class) == ("{oops", None, "(malformed)")


def test_a_write_waits_for_another_process_holding_the_write_lock(sqlite_url: str) -> None:
    with SQLiteStore(sqlite_url) as store:
        blocker = sqlite3.connect(
            sqlite_url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False
        )
        blocker.execute("BEGIN IMMEDIATE")
        release = threading.Timer(0.3, blocker.execute, args=("COMMIT",))
        release.start()
        started = time.monotonic()
        JobMaker(store).push(1)  # waits on the busy timeout instead of failing with "database is locked"
        assert time.monotonic() - started >= 0.25
        release.join()
        blocker.close()
        assert store.counts().enqueued == 1


def test_a_store_used_after_close_raises_store_error(sqlite_url: str) -> None:
    store = SQLiteStore(sqlite_url)
    store.close()
    with pytest.raises(StoreError):
        store.counts()


def test_a_claim_waiting_when_the_store_closes_returns_nothing(sqlite_url: str) -> None:
    store = SQLiteStore(sqlite_url)
    beat(store, OWNER)
    closer = threading.Timer(0.2, store.close)
    started = time.monotonic()
    closer.start()
    assert store.claim(["default"], 1, OWNER, 10.0) == []
    closer.join()
    assert time.monotonic() - started < 2.0


def test_each_thread_gets_its_own_connection_and_all_of_them_see_every_commit(sqlite_url: str) -> None:
    with SQLiteStore(sqlite_url) as store:
        jobs = JobMaker(store)
        done = []

        def push_from_a_thread(number: int) -> None:
            jobs.push(number)
            done.append(number)

        threads = [threading.Thread(target=push_from_a_thread, args=(number,)) for number in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(done) == [0, 1, 2, 3, 4]
        assert sorted(raw_payload(entry.raw)["args"][0] for entry in store.list_queue("default")) == [
            0,
            1,
            2,
            3,
            4,
        ]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_store_opened_before_fork_works_in_the_child_on_its_own_connection(sqlite_url: str) -> None:
    with SQLiteStore(sqlite_url) as store:
        jobs = JobMaker(store)
        jobs.push("parent")  # the parent's connection is open when it forks
        child = os.fork()
        if child == 0:  # pragma: no cover - runs in the child
            code = 1
            try:
                jobs.push("child")
                store.close()
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        jobs.push("parent again")  # the child's close() left the parent's connection alone
        assert [raw_payload(entry.raw)["args"] for entry in store.list_queue("default")] == [
            ["parent"],
            ["child"],
            ["parent again"],
        ]
