"""Unique jobs through one in-process sidequest process, on every store: when the lock is released
(success, dead set, discard, or the start of perform) and when it is kept (a retry is pending)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from processes import runs, wait_for
from sidequest.client import Client
from sidequest.registry import WorkerRegistry
from sidequest.runtime import Launcher, ProcessConfig
from sidequest.stores.base import Store
from testapp.workers import ActionWorker, AsyncActionWorker

FAST = dict(
    heartbeat_interval=0.2, lease_ttl=2.0, scheduler_interval=0.1, rescue_interval=0.5, fetch_timeout=0.2
)
UNIQUE: dict[str, Any] = {"unique_for": 30}


@pytest.fixture
def record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "record.txt"
    monkeypatch.setenv("SIDEQUEST_TEST_RECORD", str(path))
    return path


def launcher(store: Store) -> Launcher:
    registry = WorkerRegistry.of(ActionWorker, AsyncActionWorker)
    return Launcher(store, registry, ProcessConfig(**FAST, concurrency=4))


def running(proc: Launcher) -> Callable[[], bool]:
    return lambda: bool(proc.tracker.running())


def test_a_unique_job_runs_once_and_an_identical_one_is_accepted_after_it_succeeded(
    store: Store, record: Path
) -> None:
    client = Client(store)
    assert client.enqueue(ActionWorker, ["ok", "once"], options=UNIQUE) is not None
    assert client.enqueue(ActionWorker, ["ok", "once"], options=UNIQUE) is None
    assert launcher(store).drain(timeout=30)
    assert runs(record)["once"] == 1
    assert client.enqueue(ActionWorker, ["ok", "once"], options=UNIQUE) is not None


def test_a_duplicate_is_skipped_while_the_job_runs_and_accepted_once_it_succeeded(
    store: Store, record: Path
) -> None:
    client = Client(store)
    client.enqueue(ActionWorker, ["sleep", "slow", 0.4], options=UNIQUE)
    proc = launcher(store)
    proc.start()
    try:
        wait_for(running(proc), 10, "the job to start")
        assert client.enqueue(ActionWorker, ["sleep", "slow", 0.4], options=UNIQUE) is None
        # The acker frees the lock before it marks the job settled, so idle means released.
        wait_for(lambda: runs(record)["slow"] == 1 and proc.tracker.idle(), 10, "the job to finish")
        assert client.enqueue(ActionWorker, ["sleep", "slow", 0.0], options=UNIQUE) is not None
    finally:
        proc.stop()


def test_unique_until_start_frees_the_lock_when_perform_starts(store: Store, record: Path) -> None:
    client = Client(store)
    options = {**UNIQUE, "unique_until": "start"}
    client.enqueue(ActionWorker, ["sleep", "started", 0.4], options=options)
    assert client.enqueue(ActionWorker, ["sleep", "started", 0.4], options=options) is None
    proc = launcher(store)
    proc.start()
    try:
        wait_for(running(proc), 10, "the job to start")
        assert client.enqueue(ActionWorker, ["sleep", "started", 0.4], options=options) is not None
        wait_for(lambda: runs(record)["started"] == 2, 10, "both jobs to run")
    finally:
        proc.stop()


def test_a_failed_job_waiting_for_its_retry_keeps_its_lock(store: Store, record: Path) -> None:
    client = Client(store)
    jid = client.enqueue(ActionWorker, ["fail", "retried"], options=UNIQUE)
    assert launcher(store).drain(timeout=30)
    assert [entry.jid for entry in store.list_set("retry")] == [jid]
    assert client.enqueue(ActionWorker, ["fail", "retried"], options=UNIQUE) is None


def test_a_job_sent_to_the_dead_set_or_discarded_frees_its_lock(store: Store, record: Path) -> None:
    client = Client(store)
    dead = {**UNIQUE, "retry": 0}
    dropped = {**UNIQUE, "retry": False}
    client.enqueue(ActionWorker, ["fail", "dead"], options=dead)
    client.enqueue(ActionWorker, ["fail", "dropped"], options=dropped)
    assert launcher(store).drain(timeout=30)
    assert len(store.list_set("dead")) == 1
    assert client.enqueue(ActionWorker, ["fail", "dead"], options=dead) is not None
    assert client.enqueue(ActionWorker, ["fail", "dropped"], options=dropped) is not None


def test_async_jobs_free_their_lock_on_success_too(store: Store, record: Path) -> None:
    client = Client(store)
    assert client.enqueue(AsyncActionWorker, ["ok", "async"], options=UNIQUE) is not None
    assert client.enqueue(AsyncActionWorker, ["ok", "async"], options=UNIQUE) is None
    assert launcher(store).drain(timeout=30)
    assert runs(record)["async"] == 1
    assert client.enqueue(AsyncActionWorker, ["ok", "async"], options=UNIQUE) is not None


def test_a_scheduled_unique_job_runs_once_when_due_and_then_frees_its_lock(
    store: Store, record: Path
) -> None:
    client = Client(store)
    due = time.time() + 0.5
    assert client.enqueue(ActionWorker, ["ok", "later"], options=UNIQUE, at=due) is not None
    assert client.enqueue(ActionWorker, ["ok", "later"], options=UNIQUE) is None
    proc = launcher(store)
    assert proc.run_until(lambda: runs(record)["later"] == 1 and proc.tracker.idle(), timeout=10)
    assert client.enqueue(ActionWorker, ["ok", "later"], options=UNIQUE) is not None


def test_best_effort_a_lock_that_expires_while_its_job_runs_lets_a_duplicate_in(
    store: Store, record: Path
) -> None:
    # Documented: unique_for shorter than the job's wait plus run time does not cover the whole run.
    client = Client(store)
    options = {"unique_for": 0.3}
    client.enqueue(ActionWorker, ["sleep", "long", 0.8], options=options)
    proc = launcher(store)
    proc.start()
    try:
        wait_for(running(proc), 10, "the job to start")
        time.sleep(0.4)
        assert client.enqueue(ActionWorker, ["sleep", "long", 0.0], options=options) is not None
        wait_for(lambda: runs(record)["long"] == 2, 10, "both jobs to run")
    finally:
        proc.stop()
