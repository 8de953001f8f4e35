"""Rate limiters in real ``sidequest run`` processes sharing one store, on every store: a concurrent
limit holds across processes and threads, a bucket across processes and seconds, a slot held by a
process killed with -9 frees itself at ``lock_timeout``, and an over-limit job is rescheduled (never a
failure) until its 20 reschedules are spent, then goes through the normal retry policy."""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path

import sidequest
from processes import SidequestProcess, wait_for
from sidequest.limits import Limit
from sidequest.stores import open_store
from testapp.rate_workers import (
    AlwaysFullWorker,
    AsyncTwoWorker,
    IsolatedFullWorker,
    ShortLockWorker,
    TenPerSecondWorker,
    ThreeAtOnceWorker,
)

RATE = ["-r", "testapp.rate_workers"]


def lines(record: Path) -> list[tuple[str, str]]:
    """Every ``(jid, key)`` recorded so far."""
    if not record.exists():
        return []
    return [tuple(line.split(" ", 1)) for line in record.read_text().splitlines() if " " in line]  # type: ignore[misc]


def spans(record: Path) -> list[tuple[str, float, float, float]]:
    """``(jid, store time of the use, entered, left)`` of every recorded run inside a limit."""
    found = []
    for jid, key in lines(record):
        if key.count(",") == 2:
            at, entered, left = (float(part) for part in key.split(","))
            found.append((jid, at, entered, left))
    return found


def most_at_once(intervals: list[tuple[float, float]]) -> int:
    """The largest number of intervals that overlap at one moment (an exit before an entry at a tie)."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    inside = peak = 0
    for _, step in events:
        inside += step
        peak = max(peak, inside)
    return peak


def stop_all(procs: list[SidequestProcess]) -> list[int]:
    for proc in procs:
        if proc.process.poll() is None:
            proc.signal(signal.SIGTERM)
    return [proc.wait(40) for proc in procs]


def test_a_concurrent_limit_of_3_holds_across_3_processes_of_10_threads_and_every_job_is_done(
    store_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    client = sidequest.Client(store_url)
    jids = client.push_bulk({"class": ThreeAtOnceWorker, "args": [[0.03]] * 300})
    procs = [
        SidequestProcess(store_url, tmp_path, [*RATE, "-c", "10"], record, name=f"three-{i}")
        for i in range(3)
    ]
    try:
        wait_for(lambda: len(spans(record)) >= 300, 150, "300 jobs to run inside the limit")
    finally:
        codes = stop_all(procs)
    assert codes == [0, 0, 0]
    runs = spans(record)
    assert sorted(jid for jid, *_ in runs) == sorted(jids)  # every job once: none was rescheduled
    assert most_at_once([(entered, left) for _, _, entered, left in runs]) == 3
    assert client.store.counts().failed == 0
    (stats,) = client.store.limiters()
    assert (stats.kind, stats.name, stats.size, stats.allowed, stats.in_use) == (
        "concurrent",
        "e2e-three",
        3,
        300,
        0,
    )
    client.close()


def test_a_bucket_of_10_per_second_starts_at_most_10_jobs_in_any_clock_second_across_processes(
    store_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    client = sidequest.Client(store_url)
    jids = client.push_bulk({"class": TenPerSecondWorker, "args": [[]] * 60})
    procs = [
        SidequestProcess(store_url, tmp_path, [*RATE, "-c", "5"], record, name=f"ten-{i}") for i in range(3)
    ]
    try:
        wait_for(lambda: len(spans(record)) >= 60, 60, "60 jobs to start")
    finally:
        codes = stop_all(procs)
    assert codes == [0, 0, 0]
    runs = spans(record)
    assert sorted(jid for jid, *_ in runs) == sorted(jids)
    per_second = Counter(int(at) for _, at, _, _ in runs)
    assert max(per_second.values()) == 10, per_second
    assert len(per_second) >= 6  # 60 starts need six seconds at least
    # The store's clock and the processes' agree here (one machine): the use is judged when it starts.
    assert all(abs(entered - at) < 1.0 for _, at, entered, _ in runs)
    assert client.store.counts().failed == 0
    client.close()


def test_a_concurrent_slot_held_by_a_process_killed_9_frees_itself_after_lock_timeout(
    store_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    client = sidequest.Client(store_url)
    client.push_bulk({"class": ShortLockWorker, "args": [["holder", 600]]})
    victim = SidequestProcess(store_url, tmp_path, RATE, record, name="victim")
    survivor: SidequestProcess | None = None
    try:
        wait_for(lambda: any(key.startswith("held:holder") for _, key in lines(record)), 30, "the slot taken")
        victim.kill9()
        (held,) = [key for _, key in lines(record) if key.startswith("held:holder")]
        taken_at = float(held.rsplit(":", 1)[1])
        assert client.store.limiters()[0].in_use == 1  # nobody released it
        client.push_bulk({"class": ShortLockWorker, "args": [["waiter", 0]]})
        survivor = SidequestProcess(store_url, tmp_path, RATE, record, name="survivor")
        wait_for(lambda: any(key.startswith("held:waiter") for _, key in lines(record)), 30, "the slot freed")
        wait_for(lambda: "again:holder" in {key for _, key in lines(record)}, 30, "the holder rescued")
    finally:
        codes = stop_all([proc for proc in (victim, survivor) if proc is not None])
    assert codes[-1] == 0
    (waited,) = [key for _, key in lines(record) if key.startswith("held:waiter")]
    waiter_at = float(waited.rsplit(":", 1)[1])
    assert 3.0 <= waiter_at - taken_at < 3.0 + 10  # freed at lock_timeout (3 s), not before
    assert client.store.counts().failed == 0
    client.close()


def test_an_over_limit_job_is_rescheduled_without_failing_and_runs_once_the_limit_allows(
    store_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    store = open_store(store_url)
    blocker = Limit("concurrent", "e2e-full", 1, 300.0)
    assert store.limiter_acquire(blocker, "the-test").allowed  # the limit is full until the test lets go
    client = sidequest.Client(store)
    (jid,) = client.push_bulk({"class": AlwaysFullWorker, "args": [["a"]]})
    proc = SidequestProcess(store_url, tmp_path, RATE, record, name="over")
    try:
        wait_for(lambda: Counter(key for _, key in lines(record))["try:a"] >= 3, 30, "three tries")
        waiting = [
            entry for entry in store.list_set("retry") + store.list_queue("default") if entry.jid == jid
        ]
        for entry in waiting:  # rescheduled as it was, plus the counter: no failure recorded
            assert entry.payload is not None
            assert entry.payload["overrated"] >= 2
            assert not {"error_class", "error_message", "retry_count", "failed_at"} & set(entry.payload)
        assert store.limiter_release(blocker, "the-test")
        wait_for(lambda: "done:a" in {key for _, key in lines(record)}, 30, "the job done")
    finally:
        code = proc.terminate()
    assert code == 0
    counts = store.counts()
    assert (counts.failed, counts.retry, counts.dead, counts.enqueued) == (0, 0, 0, 0)
    tries = Counter(key for _, key in lines(record))["try:a"]  # the last try may come after the release
    assert counts.processed == tries  # each refused try is processed (rescheduled), then the one done
    stats = store.limiters()[0]
    assert stats.refused == tries - 1 and stats.allowed == 2
    store.close()


def test_after_20_reschedules_an_over_limit_job_goes_through_the_normal_retry_policy(
    store_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    store = open_store(store_url)
    assert store.limiter_acquire(Limit("concurrent", "e2e-full", 1, 300.0), "the-test").allowed
    client = sidequest.Client(store)
    (jid,) = client.push_bulk({"class": AlwaysFullWorker, "args": [["b"]]})
    proc = SidequestProcess(store_url, tmp_path, RATE, record, name="over")
    try:
        wait_for(lambda: "exhausted:20" in {key for _, key in lines(record)}, 60, "the retries exhausted")
    finally:
        code = proc.terminate()
    assert code == 0
    assert Counter(key for _, key in lines(record))["try:b"] == 21  # 1 + 20 reschedules, then retry: 0
    (dead,) = store.list_set("dead")
    assert dead.jid == jid and dead.payload is not None
    assert dead.payload["overrated"] == 20
    assert dead.payload["error_class"] == "sidequest.errors.OverLimit"
    assert dead.payload["retry_count"] == 0
    counts = store.counts()
    assert (counts.failed, counts.processed) == (1, 21)  # only the last try was a failure
    store.close()


def test_an_async_perform_uses_async_with_and_the_limit_holds(store_url: str, tmp_path: Path) -> None:
    record = tmp_path / "record.txt"
    client = sidequest.Client(store_url)
    jids = client.push_bulk({"class": AsyncTwoWorker, "args": [[0.05]] * 20})
    proc = SidequestProcess(store_url, tmp_path, [*RATE, "-c", "10"], record, name="async")
    try:
        wait_for(lambda: len(spans(record)) >= 20, 60, "20 async jobs")
    finally:
        code = proc.terminate()
    assert code == 0
    runs = spans(record)
    assert sorted(jid for jid, *_ in runs) == sorted(jids)
    assert most_at_once([(entered, left) for _, _, entered, left in runs]) == 2
    client.close()


def test_a_job_in_a_child_process_uses_the_processs_store_and_its_overlimit_is_a_reschedule(
    store_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    store = open_store(store_url)
    assert store.limiter_acquire(Limit("concurrent", "e2e-full", 1, 300.0), "the-test").allowed
    (jid,) = sidequest.Client(store).push_bulk({"class": IsolatedFullWorker, "args": [["iso"]]})
    proc = SidequestProcess(store_url, tmp_path, [*RATE, "--process-pool", "1"], record, name="iso")
    try:
        wait_for(lambda: store.counts().retry == 1, 60, "the job rescheduled")
    finally:
        code = proc.terminate()
    assert code == 0
    (entry,) = store.list_set("retry")
    assert entry.jid == jid and entry.payload is not None
    assert entry.payload["overrated"] == 1 and "error_class" not in entry.payload
    assert store.counts().failed == 0
    assert store.limiters()[0].refused == 1  # the child's refusal, counted in the same store
    store.close()
