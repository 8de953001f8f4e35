"""One sidequest process, in-process, on every store: jobs run once, failures follow Sidekiq's rules."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import sidequest
from processes import runs
from sidequest.client import Client
from sidequest.job import NewJob
from sidequest.registry import WorkerRegistry
from sidequest.runtime import Launcher, ProcessConfig, QueueSpec
from sidequest.stores.base import Store
from testapp.workers import ActionWorker, AsyncActionWorker, NoopWorker

FAST = dict(
    heartbeat_interval=0.2, lease_ttl=2.0, scheduler_interval=0.1, rescue_interval=0.5, fetch_timeout=0.2
)


@pytest.fixture
def record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "record.txt"
    monkeypatch.setenv("SIDEQUEST_TEST_RECORD", str(path))
    return path


def launcher(store: Store, *workers: type[sidequest.Worker], **config: Any) -> Launcher:
    settings = {**FAST, **config}
    registry = WorkerRegistry.of(*(workers or (ActionWorker, AsyncActionWorker, NoopWorker)))
    return Launcher(store, registry, ProcessConfig(**settings))


def test_every_enqueued_job_is_performed_exactly_once(store: Store, record: Path) -> None:
    client = Client(store)
    client.enqueue_bulk(NoopWorker, [[n] for n in range(500)])
    assert launcher(store).drain(timeout=30)
    counted = runs(record)
    assert len(counted) == 500
    assert set(counted.values()) == {1}
    assert store.counts().processed == 500


def test_async_and_sync_workers_run_side_by_side(store: Store, record: Path) -> None:
    client = Client(store)
    for n in range(20):
        client.enqueue(ActionWorker, ["ok", f"sync-{n}"])
        client.enqueue(AsyncActionWorker, ["sleep", f"async-{n}", 0.05])
    started = time.monotonic()
    assert launcher(store, concurrency=20).drain(timeout=30)
    assert len(runs(record)) == 40
    # 20 async sleeps of 50 ms overlap on the event loop instead of running one after another.
    assert time.monotonic() - started < 5


def test_a_failing_job_goes_to_the_retry_set_with_sidekiq_failure_fields(store: Store, record: Path) -> None:
    jid = Client(store).enqueue(ActionWorker, ["fail", "boom"])
    assert launcher(store).drain(timeout=30)
    [entry] = store.list_set("retry")
    assert entry.jid == jid
    assert entry.payload is not None
    assert entry.payload["error_class"] == "RuntimeError"
    assert entry.payload["error_message"] == "told to fail (boom)"
    assert entry.payload["retry_count"] == 0
    assert isinstance(entry.payload["failed_at"], float)
    assert entry.score is not None and entry.score >= time.time() + 14
    assert store.counts().failed == 1


def test_a_job_that_keeps_failing_ends_in_the_dead_set_after_its_retries(store: Store, record: Path) -> None:
    # ActionWorker has retry: 2, so it runs three times in all.
    jid = Client(store).enqueue(ActionWorker, ["fail", "again"])
    proc = launcher(store)

    def dead() -> bool:
        # Retries are due 15+ seconds out: promote them as if that time had passed.
        store.promote_due(time.time() + 3600)
        return len(store.list_set("dead")) == 1

    assert proc.run_until(dead, timeout=30)
    [entry] = store.list_set("dead")
    assert entry.jid == jid
    assert entry.payload is not None and entry.payload["retry_count"] == 2
    assert runs(record)["again"] == 3


def test_retry_false_drops_a_failing_job_and_retry_zero_sends_it_to_the_dead_set(
    store: Store, record: Path
) -> None:
    client = Client(store)
    client.enqueue(ActionWorker, ["fail", "dropped"], options={"retry": False})
    dead_jid = client.enqueue(ActionWorker, ["fail", "dead"], options={"retry": 0})
    assert launcher(store).drain(timeout=30)
    assert store.list_set("retry") == []
    assert [entry.jid for entry in store.list_set("dead")] == [dead_jid]


def test_a_payload_naming_an_unknown_class_is_retried_and_the_process_runs_on(
    store: Store, record: Path
) -> None:
    client = Client(store)
    client.push({"class": "nowhere.MissingWorker", "args": [1]})
    client.enqueue(ActionWorker, ["ok", "after"])
    assert launcher(store).drain(timeout=30)
    [entry] = store.list_set("retry")
    assert entry.payload is not None
    assert entry.payload["error_class"] == "sidequest.errors.UnknownWorkerError"
    assert "nowhere.MissingWorker" in entry.payload["error_message"]
    assert runs(record)["after"] == 1


def test_a_malformed_payload_goes_to_the_dead_set_as_it_was(store: Store, record: Path) -> None:
    client = Client(store)
    good = client.build_payload(ActionWorker, ["ok", "fine"], {}, None)
    assert good is not None
    store.push([NewJob({"class": 42, "queue": "default", "args": "nope", "jid": "x" * 24})])
    store.push([NewJob(good)])
    assert launcher(store).drain(timeout=30)
    [entry] = store.list_set("dead")
    assert entry.payload is None or entry.payload.get("class") == 42
    assert runs(record)["fine"] == 1


def test_jobs_enqueued_from_inside_a_job_go_to_the_same_store(store: Store, record: Path) -> None:
    class ParentWorker(sidequest.Worker):
        def perform(self, n: int) -> None:
            NoopWorker.perform_async(n * 10)

    Client(store).enqueue(ParentWorker, [7])
    registry = WorkerRegistry.of(ParentWorker, NoopWorker)
    assert Launcher(store, registry, ProcessConfig(**FAST)).drain(timeout=30)
    failed = [entry.payload for name in ("retry", "dead") for entry in store.list_set(name)]  # type: ignore[arg-type]
    assert runs(record)["70"] == 1, (runs(record), failed, store.queues())


def test_server_middleware_wraps_perform_and_sees_failures(store: Store, record: Path) -> None:
    seen: list[tuple[str, str]] = []

    @contextlib.contextmanager
    def audit(worker: sidequest.Worker, job: dict[str, Any]) -> Iterator[None]:
        try:
            yield
            seen.append((job["args"][1], "ok"))
        except Exception as exc:
            seen.append((job["args"][1], type(exc).__name__))
            raise

    client = Client(store)
    client.enqueue(ActionWorker, ["ok", "a"])
    client.enqueue(ActionWorker, ["fail", "b"])
    registry = WorkerRegistry.of(ActionWorker)
    proc = Launcher(store, registry, ProcessConfig(**FAST), middleware=[audit])
    assert proc.drain(timeout=30)
    assert sorted(seen) == [("a", "ok"), ("b", "RuntimeError")]


def test_scheduled_jobs_start_within_a_second_of_their_time(store: Store, record: Path) -> None:
    Client(store).enqueue(ActionWorker, ["ok", "later"], at=time.time() + 1.0)
    due = time.time() + 1.0
    proc = launcher(store)
    assert proc.run_until(lambda: runs(record)["later"] == 1, timeout=10)
    assert time.time() - due < 1.5


def test_strict_queue_order_drains_the_first_queue_first(store: Store, record: Path) -> None:
    client = Client(store)
    for n in range(5):
        client.enqueue(ActionWorker, ["ok", f"low-{n}"], options={"queue": "low"})
        client.enqueue(ActionWorker, ["ok", f"high-{n}"], options={"queue": "high"})
    proc = launcher(store, concurrency=1, queues=(QueueSpec("high"), QueueSpec("low")))
    assert proc.drain(timeout=30)
    order = [line.split(" ", 1)[1] for line in record.read_text().splitlines()]
    assert order[:5] == [f"high-{n}" for n in range(5)]
