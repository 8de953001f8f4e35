"""Batches performed by real ``sidequest run`` processes, killed -9 mid-drain: each callback is
enqueued exactly once, after the last job, on every store."""

from __future__ import annotations

import time
from pathlib import Path

import sidequest
from processes import SidequestProcess, runs, wait_for
from sidequest.client import Client
from sidequest.stores import open_store
from testapp.batch_workers import AddToOwnBatch, BatchJob, RecordCallbacks, SpawnChild

ARGS = ["-r", "testapp.batch_workers", "-q", "default", "-q", "callbacks", "-c", "5"]


def lines(record: Path) -> list[str]:
    """Every recorded run's key, in the order they were appended."""
    if not record.exists():
        return []
    return [line.split(" ", 1)[1] for line in record.read_text().splitlines() if " " in line]


def count_of(record: Path, prefix: str) -> int:
    return sum(1 for key in lines(record) if key.startswith(prefix))


def first_index(keys: list[str], prefix: str) -> int:
    return next(i for i, key in enumerate(keys) if key.startswith(prefix))


def test_a_batch_of_1000_jobs_fires_success_and_complete_once_when_a_process_is_killed_twice(
    store_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    store = open_store(store_url)
    client = Client(store)
    batch = sidequest.Batch("thousand", client=client)
    batch.on("success", RecordCallbacks).on("complete", RecordCallbacks)
    with batch.jobs():
        client.enqueue_bulk(BatchJob, [[n, "ok", 0.02] for n in range(1000)])
    steady = SidequestProcess(store_url, tmp_path, ARGS, record, name="steady")
    victim = SidequestProcess(store_url, tmp_path, ARGS, record, name="victim")
    try:
        for threshold in (200, 500):
            wait_for(lambda t=threshold: len(runs(record)) >= t, 90, f"{threshold} jobs to run")
            victim.kill9()
            victim = SidequestProcess(store_url, tmp_path, ARGS, record, name="victim")
        wait_for(lambda: count_of(record, "success-") == 1, 120, "the success callback")
        wait_for(lambda: count_of(record, "complete-") == 1, 30, "the complete callback")
        time.sleep(3.0)  # rescued re-runs and late acks must not fire anything again
    finally:
        assert steady.terminate() == 0
        victim.terminate()
    keys = lines(record)
    assert count_of(record, "success-") == 1 and count_of(record, "complete-") == 1
    assert "success-thousand pending=0 failures=0" in keys
    # Enqueued once: one callback job each (a re-run of the same job would show its jid again).
    callback_jids = {
        line.split(" ", 1)[0] for line in record.read_text().splitlines() if "-thousand " in line
    }
    assert len(callback_jids) == 2
    done = {key for key in keys if key.startswith("job-")}
    assert done == {f"job-{n}" for n in range(1000)}
    # Each callback came after every job's first run (a re-run after a kill may come later).
    callbacks_at = min(first_index(keys, "success-"), first_index(keys, "complete-"))
    assert max(keys.index(f"job-{n}") for n in range(1000)) < callbacks_at
    status = sidequest.Batch.status(batch.bid, client)
    assert status is not None and status.total == 1000 and status.pending == 0 and status.succeeded
    store.close()


def test_a_batch_with_a_job_that_dies_fires_death_and_complete_once_and_never_success(
    store_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    store = open_store(store_url)
    client = Client(store)
    batch = sidequest.Batch("dying", client=client)
    batch.on("success", RecordCallbacks).on("complete", RecordCallbacks).on("death", RecordCallbacks)
    with batch.jobs():
        client.enqueue_bulk(BatchJob, [[n] for n in range(20)])
        client.enqueue(BatchJob, [99, "die"], options={"retry": 0})
    proc = SidequestProcess(store_url, tmp_path, ARGS, record)
    try:
        wait_for(lambda: count_of(record, "complete-") == 1, 60, "the complete callback")
        wait_for(lambda: count_of(record, "death-") == 1, 30, "the death callback")
        time.sleep(1.5)
    finally:
        assert proc.terminate() == 0
    keys = lines(record)
    assert count_of(record, "death-") == 1 and count_of(record, "complete-") == 1
    assert count_of(record, "success-") == 0
    assert "complete-dying pending=1 failures=1" in keys
    status = sidequest.Batch.status(batch.bid, client)
    assert status is not None and status.failures == 1 and not status.succeeded and status.complete
    assert len(status.failed_jids) == 1
    assert store.counts().dead == 1
    store.close()


def test_nested_batches_fire_the_parents_callbacks_after_the_childs(store_url: str, tmp_path: Path) -> None:
    record = tmp_path / "record.txt"
    store = open_store(store_url)
    client = Client(store)
    parent = sidequest.Batch("parent", client=client)
    parent.on("success", RecordCallbacks).on("complete", RecordCallbacks)
    with parent.jobs():
        client.enqueue_bulk(BatchJob, [[n, "ok", 0.01] for n in range(10)])
        client.enqueue(SpawnChild, [30])
        client.enqueue(AddToOwnBatch, [5])
    proc = SidequestProcess(store_url, tmp_path, ARGS, record)
    try:
        wait_for(lambda: count_of(record, "success-parent") == 1, 60, "the parent's success callback")
        time.sleep(1.0)
    finally:
        assert proc.terminate() == 0
    keys = lines(record)
    assert count_of(record, "success-child") == 1 and count_of(record, "complete-child") == 1
    assert count_of(record, "success-parent") == 1 and count_of(record, "complete-parent") == 1
    assert keys.index("success-child pending=0 failures=0") < first_index(keys, "complete-parent")
    assert keys.index("complete-child pending=0 failures=0") < first_index(keys, "success-parent")
    every_job = {f"job-{n}" for n in [*range(10), *range(1000, 1030), *range(2000, 2005)]}
    assert every_job <= set(keys)
    assert max(keys.index(job) for job in every_job) < first_index(keys, "complete-parent")
    status = sidequest.Batch.status(parent.bid, client)
    # Its 10 jobs, the spawner, the adder, 5 added jobs, the child, and the child's 2 callbacks.
    assert status is not None and status.total == 10 + 1 + 1 + 5 + 1 + 2 and status.succeeded
    store.close()
