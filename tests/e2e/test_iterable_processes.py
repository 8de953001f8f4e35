"""Iterable jobs, expiring jobs and cancellation on real ``sidequest run`` processes, on every store."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from processes import SidequestProcess, wait_for
from sidequest.client import Client
from sidequest.stores import open_store
from testapp.iterable_workers import (
    CappedIterableWorker,
    CountingIterableWorker,
    NoteWorker,
    OftenSavedIterableWorker,
    PatientWorker,
    SlowIterableWorker,
    StuckOnceIterableWorker,
)

ITERABLE = ["-r", "testapp.iterable_workers", "-c", "2", "-t", "5"]


def lines(record: Path) -> list[str]:
    return record.read_text().splitlines() if record.exists() else []


def notes(record: Path, jid: str) -> list[str]:
    """What one job recorded, in order."""
    return [line.split(" ", 1)[1] for line in lines(record) if line.startswith(f"{jid} ")]


def items(record: Path, jid: str) -> list[int]:
    return [int(note.split()[1]) for note in notes(record, jid) if note.startswith("item ")]


def test_an_iterable_job_over_10000_items_stopped_by_term_three_times_completes_with_no_item_repeated(
    store_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    store = open_store(store_url)
    jid = Client(store).enqueue(CountingIterableWorker, [10_000, 0.0005])
    assert jid is not None
    for stop in range(3):
        proc = SidequestProcess(store_url, tmp_path, ITERABLE, record, name=f"run{stop}")
        already = len(items(record, jid))
        wait_for(lambda n=already: len(items(record, jid)) > n + 800, 60, "the job to handle more items")
        assert proc.terminate() == 0, proc.output()
        assert "interrupted: the process is stopping; re-enqueued" in proc.output()
        assert "hook on_complete" not in notes(record, jid)
        assert [queue.size for queue in store.queues()] == [1]  # back in its queue, same job
    last = SidequestProcess(store_url, tmp_path, ITERABLE, record, name="last")
    wait_for(lambda: "hook on_complete" in notes(record, jid), 120, "the job to complete")
    assert last.terminate() == 0
    handled = Counter(items(record, jid))
    assert set(handled) == set(range(10_000))
    repeated = {number: times for number, times in handled.items() if times > 1}
    assert sum(times - 1 for times in repeated.values()) <= 3, repeated  # at most the one in progress
    hooks = [note for note in notes(record, jid) if note.startswith("hook ")]
    assert hooks[0] == "hook on_start"
    assert [hook for hook in hooks if hook.startswith("hook on_resume")] == [
        "hook on_resume 2",
        "hook on_resume 3",
        "hook on_resume 4",
    ]
    assert hooks[-2:] == ["hook on_stop", "hook on_complete"]
    counts = store.counts()
    assert counts.failed == 0 and counts.retry == 0 and counts.dead == 0  # interruptions are no failures
    assert store.job_state(jid) is None  # the finished job's record is gone
    store.close()


def test_max_iteration_runtime_re_enqueues_the_job_and_it_resumes_where_it_stopped(
    store_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    store = open_store(store_url)
    jid = Client(store).enqueue(CappedIterableWorker, [200, 0.01])
    assert jid is not None
    proc = SidequestProcess(store_url, tmp_path, ITERABLE, record)
    wait_for(lambda: "hook on_complete" in notes(record, jid), 60, "the job to complete")
    assert proc.terminate() == 0
    assert sorted(items(record, jid)) == list(range(200))  # each item once: it stopped between two
    resumes = [note for note in notes(record, jid) if note.startswith("hook on_resume")]
    assert len(resumes) >= 2  # 2 s of work in half-second runs
    assert "interrupted: it ran max_iteration_runtime (0.5 s)" in proc.output()
    assert store.counts().failed == 0
    store.close()


def test_an_expired_job_never_runs_and_is_counted(store_url: str, tmp_path: Path) -> None:
    record = tmp_path / "record.txt"
    store = open_store(store_url)
    client = Client(store)
    expired = client.enqueue(NoteWorker, ["too late"], options={"expires_in": 0.5})
    time.sleep(1.0)
    fresh = client.enqueue(NoteWorker, ["in time"], options={"expires_in": 60})
    proc = SidequestProcess(store_url, tmp_path, ITERABLE, record)
    wait_for(lambda: any("ran in time" in line for line in lines(record)), 30, "the fresh job to run")
    assert proc.terminate() == 0
    assert notes(record, str(expired)) == []
    assert notes(record, str(fresh)) == ["ran in time"]
    assert store.expired_count() == 1
    assert sum(queue.size for queue in store.queues()) == 0
    assert "expired: not started before its expires_at" in proc.output()
    store.close()


def test_cancelled_waiting_jobs_never_run(store_url: str, tmp_path: Path) -> None:
    record = tmp_path / "record.txt"
    store = open_store(store_url)
    client = Client(store)
    queued = client.enqueue(NoteWorker, ["queued"])
    scheduled = client.enqueue(NoteWorker, ["scheduled"], at=time.time() + 1)
    kept = client.enqueue(NoteWorker, ["kept"], at=time.time() + 1.5)
    assert queued and scheduled and kept
    assert client.cancel(queued) == "removed"
    assert client.cancel(scheduled) == "removed"
    assert client.cancel("no-such-jid") == "not_found"
    proc = SidequestProcess(store_url, tmp_path, ITERABLE, record)
    wait_for(lambda: notes(record, kept) == ["ran kept"], 30, "the kept job to run")
    time.sleep(0.5)
    assert proc.terminate() == 0
    assert notes(record, queued) == [] and notes(record, scheduled) == []
    store.close()


def test_a_cancelled_running_iterable_job_stops_within_one_iteration_and_is_not_re_enqueued(
    store_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    store = open_store(store_url)
    client = Client(store)
    jid = client.enqueue(SlowIterableWorker, [100, 1.2])
    assert jid is not None
    proc = SidequestProcess(store_url, tmp_path, ITERABLE, record)
    wait_for(lambda: sum(note.startswith("end ") for note in notes(record, jid)) >= 2, 30, "two items done")
    assert client.cancel(jid) == "flagged"
    cancelled_at = time.time()
    wait_for(lambda: "hook on_stop" in notes(record, jid), 10, "the job to stop")
    starts = [float(note.split()[2]) for note in notes(record, jid) if note.startswith("start ")]
    assert not [start for start in starts if start > cancelled_at]  # the item in progress was the last
    wait_for(lambda: not store.busy(), 10, "the job to leave the busy list")
    assert proc.terminate() == 0
    assert "hook on_complete" not in notes(record, jid)
    assert sum(queue.size for queue in store.queues()) == 0  # acked, not re-enqueued
    counts = store.counts()
    assert counts.failed == 0 and counts.retry == 0
    store.close()


def test_a_plain_job_sees_its_cancel_through_self_cancelled(store_url: str, tmp_path: Path) -> None:
    record = tmp_path / "record.txt"
    store = open_store(store_url)
    client = Client(store)
    jid = client.enqueue(PatientWorker, [30])
    assert jid is not None
    proc = SidequestProcess(store_url, tmp_path, ITERABLE, record)
    wait_for(lambda: notes(record, jid) == ["began"], 30, "the job to start")
    assert client.cancel(jid) == "flagged"
    wait_for(lambda: "saw cancel" in notes(record, jid), 5, "the job to see its cancel")
    assert proc.terminate() == 0
    store.close()


def test_an_item_cut_by_the_time_limit_is_done_again_from_the_last_saved_cursor_without_a_failure(
    store_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    store = open_store(store_url)
    jid = Client(store).enqueue(StuckOnceIterableWorker, [20, 5])
    assert jid is not None
    proc = SidequestProcess(store_url, tmp_path, ITERABLE, record)
    wait_for(lambda: "hook on_complete" in notes(record, jid), 30, "the job to complete")
    assert proc.terminate() == 0
    handled = Counter(items(record, jid))
    assert set(handled) == set(range(20))
    assert {number for number, times in handled.items() if times > 1} == {5}  # only the item cut short
    assert "interrupted: its time_limit was reached" in proc.output()
    assert store.counts().failed == 0
    store.close()


def test_after_a_kill_9_another_process_resumes_the_walk_from_the_last_periodic_save(
    store_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    store = open_store(store_url)
    jid = Client(store).enqueue(OftenSavedIterableWorker, [3000, 0.001])
    assert jid is not None
    doomed = SidequestProcess(store_url, tmp_path, ITERABLE, record, name="doomed")
    wait_for(lambda: len(items(record, jid)) > 1000, 60, "the walk to get going")
    doomed.kill9()
    handled_before = len(items(record, jid))
    heir = SidequestProcess(store_url, tmp_path, ITERABLE, record, name="heir")
    wait_for(lambda: "hook on_complete" in notes(record, jid), 90, "the rescued walk to complete")
    assert heir.terminate() == 0
    handled = Counter(items(record, jid))
    assert set(handled) == set(range(3000))
    repeated = sum(times - 1 for times in handled.values())
    assert repeated < handled_before  # resumed from a save, not the start (none if killed on one)
    assert repeated <= 600, repeated  # at most what a quarter second (plus a save's time) handles
    store.close()


def test_a_process_recycled_by_max_jobs_interrupts_the_walk_and_the_next_one_resumes_it(
    sqlite_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    store = open_store(sqlite_url)
    client = Client(store)
    jid = client.enqueue(CountingIterableWorker, [400, 0.01])
    assert jid is not None
    recycled = SidequestProcess(sqlite_url, tmp_path, [*ITERABLE, "--max-jobs", "3"], record, name="recycled")
    wait_for(lambda: len(items(record, jid)) > 20, 30, "the walk to start")
    client.enqueue_bulk(NoteWorker, [["a"], ["b"], ["c"]])
    assert recycled.wait(30) == 0
    assert "recycling: it performed" in recycled.output()
    assert "interrupted: the process is stopping" in recycled.output()
    heir = SidequestProcess(sqlite_url, tmp_path, ITERABLE, record, name="heir")
    wait_for(lambda: "hook on_complete" in notes(record, jid), 60, "the walk to complete")
    assert heir.terminate() == 0
    assert sorted(items(record, jid)) == list(range(400))
    store.close()


def test_a_walk_longer_than_its_time_limit_stops_before_it_and_resumes_without_a_timeout(
    sqlite_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    store = open_store(sqlite_url)
    jid = Client(store).enqueue(CountingIterableWorker, [150, 0.02], options={"time_limit": 2})
    assert jid is not None
    proc = SidequestProcess(sqlite_url, tmp_path, ITERABLE, record)
    wait_for(lambda: "hook on_complete" in notes(record, jid), 60, "the walk to complete")
    assert proc.terminate() == 0
    assert sorted(items(record, jid)) == list(range(150))  # 3 s of items under a 2 s limit, each once
    assert "interrupted: its time_limit (2 s) is near" in proc.output()
    assert "JobTimeoutError" not in proc.output()
    assert store.counts().failed == 0
    store.close()
