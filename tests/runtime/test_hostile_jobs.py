"""Jobs that fight the process, run by a real Launcher on every store: each becomes its own failure."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import pytest

from processes import runs
from sidequest.client import Client
from sidequest.registry import WorkerRegistry
from sidequest.retry import MAX_RETRY_DELAY
from sidequest.runtime import Launcher, ProcessConfig
from sidequest.runtime.logs import CURRENT_JOB
from sidequest.stores.base import Store
from sidequest.worker import Worker
from testapp.hostile_workers import AsyncHostileWorker, DecoratedAsyncWorker, HostileWorker
from testapp.workers import NoopWorker

FAST = dict(
    heartbeat_interval=0.2, lease_ttl=2.0, scheduler_interval=0.1, rescue_interval=0.5, fetch_timeout=0.2
)


@pytest.fixture
def record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "record.txt"
    monkeypatch.setenv("SIDEQUEST_TEST_RECORD", str(path))
    return path


def launcher(store: Store, *workers: type[Worker]) -> Launcher:
    registry = WorkerRegistry.of(*(workers or (HostileWorker, AsyncHostileWorker, NoopWorker)))
    return Launcher(store, registry, ProcessConfig(**FAST))


def retry_entries(store: Store) -> dict[str, Any]:
    return {entry.jid: entry for entry in store.list_set("retry", limit=100)}


@pytest.mark.parametrize("answer", ["inf", "nan", "huge", "negative", "text"])
def test_a_retry_hook_answer_that_is_not_a_sane_delay_still_schedules_a_finite_retry(
    store: Store, record: Path, answer: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = Client(store)
    jid = client.enqueue(HostileWorker, [f"hook-{answer}", "hooked"])
    client.enqueue(NoopWorker, [1])
    before = time.time()
    with caplog.at_level(logging.WARNING, logger="sidequest"):
        assert launcher(store).drain(timeout=30)
    entry = retry_entries(store)[jid]
    assert entry.score is not None and math.isfinite(entry.score)
    assert before < entry.score <= time.time() + MAX_RETRY_DELAY + 100
    assert entry.payload["error_class"] == "testapp.hostile_workers.HookSays"
    assert "retry_in returned" in caplog.text  # the log says the answer was not used as given
    assert runs(record)["1"] == 1


def test_an_async_perform_under_a_functools_wraps_decorator_is_awaited(store: Store, record: Path) -> None:
    client = Client(store)
    for n in range(5):
        client.enqueue(DecoratedAsyncWorker, [f"awaited-{n}", 0.05])
    proc = launcher(store, DecoratedAsyncWorker, NoopWorker)
    assert proc.drain(timeout=30)
    # drain waits for every outcome: had the coroutine been dropped, the jobs would be acked unrecorded.
    assert {key: count for key, count in runs(record).items()} == {f"awaited-{n}": 1 for n in range(5)}
    assert store.list_set("retry") == [] and store.counts().processed == 5


def test_log_records_made_inside_a_job_carry_its_class_and_jid(store: Store, record: Path) -> None:
    seen: list[tuple[str, str] | None] = []

    class LoggingWorker(Worker):
        def perform(self) -> None:
            seen.append(CURRENT_JOB.get())

    class AsyncLoggingWorker(Worker):
        async def perform(self) -> None:
            seen.append(CURRENT_JOB.get())

    client = Client(store)
    sync_jid = client.enqueue(LoggingWorker, [])
    async_jid = client.enqueue(AsyncLoggingWorker, [])
    assert launcher(store, LoggingWorker, AsyncLoggingWorker).drain(timeout=30)
    assert sorted(item for item in seen if item is not None) == sorted(
        [(LoggingWorker.sidequest_name(), sync_jid), (AsyncLoggingWorker.sidequest_name(), async_jid)]
    )
    assert CURRENT_JOB.get() is None
