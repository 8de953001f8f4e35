"""Processes sharing one SQLite file take turns at its write lock through a kernel lock on
``<file>-writer.lock`` (``stores/sqlite/write_turn.py``), not through SQLite's sleeping busy handler."""

from __future__ import annotations

import fcntl
import logging
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from contract.support import JobMaker, raw_payload
from sidequest.stores.sqlite import SQLiteStore
from sidequest.stores.sqlite.write_turn import SUFFIX

# Pushes one job per argument from its own process, one write each, and says how long it took.
PUSHER = textwrap.dedent(
    """
    import sys, time
    from sidequest.client import Client
    from sidequest.stores.sqlite import SQLiteStore

    store = SQLiteStore(sys.argv[1])
    print("ready", flush=True)
    for name in sys.argv[2:]:
        Client(store).enqueue("tests.Pushed", [name])
    print("pushed", flush=True)
    store.close()
    """
)


def lock_path(url: str) -> str:
    return url.removeprefix("sqlite:///") + SUFFIX


def push_from_another_process(url: str, *names: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", PUSHER, url, *names], stdout=subprocess.PIPE, text=True)


def test_a_write_waits_while_another_process_holds_the_turn(sqlite_url: str) -> None:
    with SQLiteStore(sqlite_url) as store:
        JobMaker(store).push("first")  # creates the lock file
        assert os.path.exists(lock_path(sqlite_url))
        holder = os.open(lock_path(sqlite_url), os.O_RDWR)
        fcntl.flock(holder, fcntl.LOCK_EX)  # this test process is "another process" holding the turn
        try:
            pusher = push_from_another_process(sqlite_url, "second")
            assert pusher.stdout is not None
            assert pusher.stdout.readline() == "ready\n"  # about to push
            time.sleep(0.3)
            assert pusher.poll() is None  # waiting for the turn, though SQLite's own lock is free
            assert store.counts().enqueued == 1
        finally:
            fcntl.flock(holder, fcntl.LOCK_UN)
            os.close(holder)
        out, _ = pusher.communicate(timeout=30)
        assert pusher.returncode == 0
        assert out == "pushed\n"
        assert [raw_payload(entry.raw)["args"] for entry in store.list_queue("default")] == [
            ["first"],
            ["second"],
        ]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_takes_turns_with_its_parent_not_inside_the_parents_turn(sqlite_url: str) -> None:
    with SQLiteStore(sqlite_url) as store:
        jobs = JobMaker(store)
        jobs.push("parent")
        assert store._turn.take()  # the parent holds its turn while the child writes
        about_to_push, told = os.pipe()
        child = os.fork()
        if child == 0:  # pragma: no cover - runs in the child
            code = 1
            try:
                os.write(told, b"!")
                jobs.push("child")  # its own lock file: it must wait for the parent's turn to end
                store.close()
                code = 0
            finally:
                os._exit(code)
        try:
            assert os.read(about_to_push, 1) == b"!"
            time.sleep(0.3)
            assert os.waitpid(child, os.WNOHANG) == (0, 0)  # still waiting: not inside the parent's turn
            assert store.counts().enqueued == 1
        finally:
            store._turn.give_back()
            os.close(about_to_push)
            os.close(told)
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        jobs.push("parent again")  # the child's close() left the parent's lock file open
        assert [raw_payload(entry.raw)["args"] for entry in store.list_queue("default")] == [
            ["parent"],
            ["child"],
            ["parent again"],
        ]


def test_without_a_lock_file_writes_go_on_through_sqlites_own_lock(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    os.mkdir(lock_path(sqlite_url))  # the lock file cannot be opened: a directory holds its name
    with caplog.at_level(logging.WARNING, logger="sidequest"), SQLiteStore(sqlite_url) as store:
        jobs = JobMaker(store)
        for number in range(3):
            jobs.push(number)
        pusher = push_from_another_process(sqlite_url, "other")
        pusher.communicate(timeout=30)
        assert pusher.returncode == 0
        assert store.counts().enqueued == 4
    warnings = [record.getMessage() for record in caplog.records if SUFFIX in record.getMessage()]
    assert len(warnings) == 1  # said once, not at every write
    assert "busy handler" in warnings[0]


def test_processes_writing_at_once_lose_no_write(sqlite_url: str, tmp_path: Path) -> None:
    with SQLiteStore(sqlite_url) as store:
        pushers = [
            push_from_another_process(sqlite_url, *(f"{who}-{n}" for n in range(150))) for who in "abc"
        ]
        for pusher in pushers:
            pusher.communicate(timeout=60)
            assert pusher.returncode == 0
        names = [raw_payload(entry.raw)["args"][0] for entry in store.list_queue("default", limit=1000)]
        assert sorted(names) == sorted(f"{who}-{n}" for who in "abc" for n in range(150))
