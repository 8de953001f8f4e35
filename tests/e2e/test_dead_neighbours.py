"""A process killed with -9 is rescued at once by a live process on the same machine, under the default
60 s lease, on both stores; a live process is never rescued; and through real ``sidequest run``
processes, a SQLite store with unwritable payloads among ordinary ones runs every ordinary job once."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import orjson

from processes import SidequestProcess, runs, wait_for
from sidequest.client import Client
from sidequest.stores import open_store
from sidequest.stores.sqlite import SQLiteStore
from testapp.workers import ActionWorker

# The default lease and heartbeat, so only the proof of death can explain a rescue within seconds.
DEFAULT_LEASE = ["--lease-ttl", "60", "--heartbeat-interval", "5"]


def test_kill_9_of_a_process_holding_20_jobs_is_rescued_at_once_by_its_neighbour(
    store_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    store = open_store(store_url)
    Client(store).enqueue_bulk(ActionWorker, [["block", n, 60] for n in range(20)])
    holder = SidequestProcess(
        store_url, tmp_path, ["-c", "20", *DEFAULT_LEASE], record, env={"SIDEQUEST_TEST_BLOCK": "1"}
    )
    neighbour: SidequestProcess | None = None
    try:
        wait_for(lambda: store.counts().busy == 20, 30, "the first process to hold all 20 jobs")
        neighbour = SidequestProcess(
            store_url, tmp_path, ["-c", "5", *DEFAULT_LEASE], record, name="neighbour"
        )
        wait_for(lambda: len(store.processes()) == 2, 30, "the neighbour to start")
        time.sleep(2.0)  # several rescue passes of the neighbour (every 0.5 s) while the holder lives
        assert runs(record) == {}
        assert store.counts().busy == 20
        assert holder.pid in [process.pid for process in store.processes()]

        holder.kill9()
        # Well under the 60 s lease: only the proof that the holder died explains a rescue this soon.
        wait_for(lambda: len(runs(record)) == 20, 20, "the neighbour to run every job of the killed one")
        assert set(runs(record).values()) == {1}
        assert "died on this machine" in neighbour.output()
    finally:
        if holder.process.poll() is None:
            holder.kill9()
        if neighbour is not None:
            assert neighbour.terminate() == 0
    assert store.counts().enqueued == 0
    store.close()


def test_payloads_nested_300_deep_go_to_the_dead_set_and_every_other_job_runs_once(
    sqlite_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    store = SQLiteStore(sqlite_url)
    client = Client(store)
    now = time.time()
    for n in range(5):
        client.enqueue(ActionWorker, ["ok", f"scheduled-{n}"], at=now - 1)
    # Jobs that sidequest reads but cannot write back, and ordinary orphans of a process that never
    # beat: written as another tool or an older sidequest could have left them.
    deep = "[" * 300 + "]" * 300
    template = (
        '{"class":"testapp.workers.ActionWorker","args":["ok",%s],"jid":"%s","queue":"default","retry":2}'
    )
    with sqlite3.connect(store.path) as conn:
        conn.execute(
            "INSERT INTO jobs (queue, state, payload, score) VALUES ('default', 'scheduled', ?, ?)",
            (template % (deep, "deep-scheduled"), now - 2),
        )
        for key in ["orphan-0", "deep-orphan", "orphan-1", "orphan-2"]:
            raw = template % (deep if key.startswith("deep") else f'"{key}"', key)
            conn.execute(
                "INSERT INTO jobs (queue, state, payload, owner, claims, claimed_at)"
                " VALUES ('default', 'running', ?, 'gone:1:never-beat', 1, ?)",
                (raw, now - 120),
            )
    proc = SidequestProcess(sqlite_url, tmp_path, [], record)
    try:
        wait_for(lambda: len(runs(record)) == 8, 30, "every ordinary job to run")
        wait_for(lambda: store.counts().dead == 2, 10, "the deep jobs to reach the dead set")
        time.sleep(1.0)  # more promotion and rescue passes: nothing runs twice, nothing else moves
        assert set(runs(record).values()) == {1}
        assert sorted(runs(record)) == sorted(
            [f"scheduled-{n}" for n in range(5)] + ["orphan-0", "orphan-1", "orphan-2"]
        )
        dead = {str(orjson.loads(entry.raw)["jid"]): entry for entry in store.list_set("dead")}
        assert sorted(dead) == ["deep-orphan", "deep-scheduled"]
        for entry in dead.values():
            assert entry.payload is not None and entry.payload["error_class"] == "StoreDataError"
        assert store.counts().enqueued == 0 and store.counts().scheduled == 0
    finally:
        assert proc.terminate() == 0
    output = proc.output()
    assert "job deep-scheduled" in output and "job deep-orphan" in output
    store.close()
