"""Real ``sidequest run`` processes killed and stopped the way production does it."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from processes import SidequestProcess, runs, wait_for
from sidequest.client import Client
from sidequest.stores import open_store
from testapp.workers import ActionWorker, NoopWorker


def test_kill_9_of_a_process_holding_100_jobs_loses_none(store_url: str, tmp_path: Path) -> None:
    record = tmp_path / "record.txt"
    store = open_store(store_url)
    client = Client(store)
    client.enqueue_bulk(ActionWorker, [["block", n, 60] for n in range(100)])
    holder = SidequestProcess(store_url, tmp_path, ["-c", "100"], record, env={"SIDEQUEST_TEST_BLOCK": "1"})
    wait_for(
        lambda: store.counts().enqueued == 0 and store.counts().busy == 100,
        30,
        "the first process to hold all 100 jobs",
    )
    holder.kill9()
    rescuer = SidequestProcess(store_url, tmp_path, ["-c", "10"], record)
    try:
        wait_for(lambda: len(runs(record)) == 100, 60, "every job to run in the second process")
        assert set(runs(record).values()) == {1}
    finally:
        assert rescuer.terminate() == 0
    assert store.counts().enqueued == 0
    store.close()


def test_term_pushes_a_job_running_past_the_timeout_back_intact(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url)
    jid = Client(store).enqueue(ActionWorker, ["sleep", "long", 30])
    [original] = store.list_queue("default")
    proc = SidequestProcess(store_url, tmp_path, ["-t", "1"], tmp_path / "record.txt")
    wait_for(lambda: store.counts().busy == 1, 30, "the job to start")
    started = time.monotonic()
    proc.signal(signal.SIGTERM)
    assert proc.wait(10) == 0
    assert time.monotonic() - started < 1 + 2
    [back] = store.list_queue("default")
    assert back.jid == jid
    assert back.payload == original.payload
    assert "pushed 1 jobs back" in proc.output()
    store.close()


def test_tstp_quiets_a_process_it_finishes_running_jobs_and_takes_no_more(
    store_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    store = open_store(store_url)
    client = Client(store)
    client.enqueue(ActionWorker, ["sleep", "running", 1.0])
    proc = SidequestProcess(store_url, tmp_path, ["-c", "1"], record)
    try:
        wait_for(lambda: store.counts().busy == 1, 30, "the job to start")
        proc.signal(signal.SIGTSTP)
        time.sleep(0.3)
        client.enqueue(ActionWorker, ["ok", "after-quiet"])
        wait_for(lambda: runs(record)["running"] == 1, 10, "the running job to finish")
        time.sleep(1.0)
        assert runs(record)["after-quiet"] == 0
        assert store.counts().enqueued == 1
    finally:
        assert proc.terminate() == 0
    store.close()


def test_two_processes_of_ten_threads_perform_20000_jobs_exactly_once(store_url: str, tmp_path: Path) -> None:
    record = tmp_path / "record.txt"
    store = open_store(store_url)
    client = Client(store)
    client.enqueue_bulk(NoopWorker, [[n] for n in range(20_000)])
    procs = [
        SidequestProcess(store_url, tmp_path, ["-c", "10", "--log-level", "WARNING"], record, name=f"p{i}")
        for i in range(2)
    ]
    try:
        wait_for(lambda: len(runs(record)) == 20_000, 120, "20,000 jobs to run", poll=0.25)
    finally:
        for proc in procs:
            assert proc.terminate() == 0
    counted = runs(record)
    assert len(counted) == 20_000
    assert set(counted.values()) == {1}
    assert sum(counted.values()) == 20_000
    store.close()


def test_bad_input_is_reported_and_the_process_runs_on(store_url: str, tmp_path: Path) -> None:
    from sidequest.job import NewJob

    record = tmp_path / "record.txt"
    store = open_store(store_url)
    client = Client(store)
    client.push({"class": "testapp.workers.GoneWorker", "args": [1]})
    store.push(
        [
            NewJob(
                {
                    "class": "testapp.workers.ActionWorker",
                    "queue": "default",
                    "args": {"not": "a list"},
                    "jid": "f" * 24,
                }
            )
        ]
    )
    client.enqueue(ActionWorker, ["fail", "raises"])
    client.enqueue(ActionWorker, ["ok", "good"])
    proc = SidequestProcess(store_url, tmp_path, [], record)
    try:
        wait_for(lambda: runs(record)["good"] == 1 and runs(record)["raises"] == 1, 30, "the good jobs")
        wait_for(
            lambda: store.counts().retry == 2 and store.counts().dead == 1, 10, "failures to be recorded"
        )
        client.enqueue(ActionWorker, ["ok", "still-alive"])
        wait_for(lambda: runs(record)["still-alive"] == 1, 10, "the process to run on")
    finally:
        assert proc.terminate() == 0
    output = proc.output()
    assert "UnknownWorkerError" in output
    assert "malformed job sent to the dead set" in output
    store.close()


def test_a_worker_module_that_cannot_be_imported_is_a_clear_startup_error(
    sqlite_url: str, tmp_path: Path
) -> None:
    proc = SidequestProcess(sqlite_url, tmp_path, ["-r", "testapp.no_such_module"])
    assert proc.wait(30) != 0
    assert "could not import worker module 'testapp.no_such_module'" in proc.output()
    assert "Traceback" not in proc.output()
