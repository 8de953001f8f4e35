"""``sidequest run`` options that change what a process does: middleware and JSON logs."""

from __future__ import annotations

import json
from pathlib import Path

from processes import SidequestProcess, runs, wait_for
from sidequest.client import Client
from sidequest.stores import open_store
from testapp.workers import ActionWorker


def test_server_middleware_named_on_the_command_line_wraps_every_job(sqlite_url: str, tmp_path: Path) -> None:
    record = tmp_path / "record.txt"
    store = open_store(sqlite_url)
    Client(store).enqueue(ActionWorker, ["ok", "wrapped"])
    proc = SidequestProcess(sqlite_url, tmp_path, ["--middleware", "testapp.middleware:audit"], record)
    try:
        wait_for(lambda: runs(record)["mw-wrapped"] == 1, 20, "the middleware to see the job")
        assert runs(record)["wrapped"] == 1
    finally:
        assert proc.terminate() == 0
    store.close()


def test_a_bad_middleware_reference_is_a_clear_startup_error(sqlite_url: str, tmp_path: Path) -> None:
    proc = SidequestProcess(sqlite_url, tmp_path, ["--middleware", "testapp.middleware:nothing_here"])
    assert proc.wait(30) != 0
    assert "testapp.middleware has no attribute 'nothing_here'" in proc.output()


def test_json_logs_are_one_object_per_line_with_the_job_class_and_jid(
    sqlite_url: str, tmp_path: Path
) -> None:
    store = open_store(sqlite_url)
    jid = Client(store).enqueue(ActionWorker, ["ok", "logged"])
    proc = SidequestProcess(sqlite_url, tmp_path, ["--log-format", "json"], tmp_path / "record.txt")
    try:
        wait_for(lambda: '"msg":"done' in proc.output(), 20, "the done line")
    finally:
        assert proc.terminate() == 0
    lines = [json.loads(line) for line in proc.output().splitlines() if line.startswith("{")]
    done = [line for line in lines if line.get("jid") == jid and line["msg"].startswith("done")]
    assert done and done[0]["class"] == "testapp.workers.ActionWorker" and done[0]["lvl"] == "INFO"
    assert all({"ts", "pid", "tid", "lvl", "msg"} <= set(line) for line in lines)
    store.close()


def test_a_job_process_collects_its_youngest_garbage_less_often_unless_the_app_chose(
    sqlite_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    store = open_store(sqlite_url)
    Client(store).enqueue(ActionWorker, ["gc", "default"])
    proc = SidequestProcess(sqlite_url, tmp_path, [], record)
    try:
        wait_for(lambda: runs(record)["default-gc-10000"] == 1, 20, "a job to see the raised threshold")
    finally:
        assert proc.terminate() == 0
    Client(store).enqueue(ActionWorker, ["gc", "chosen"])
    proc = SidequestProcess(sqlite_url, tmp_path, ["-r", "testapp.gc_choice"], record)
    try:
        wait_for(lambda: runs(record)["chosen-gc-5000"] == 1, 20, "a job to see the application's own")
    finally:
        assert proc.terminate() == 0
    store.close()
