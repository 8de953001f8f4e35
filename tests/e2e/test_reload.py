"""``sidequest run --reload``: a changed worker file restarts the process with the new code."""

from __future__ import annotations

import signal
import textwrap
from pathlib import Path

from processes import SidequestProcess, runs, wait_for
from sidequest.client import Client
from sidequest.stores import open_store

WORKER = """
import os

import sidequest


class GreetWorker(sidequest.Worker):
    def perform(self, n: int) -> None:
        fd = os.open(os.environ["SIDEQUEST_TEST_RECORD"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.write(fd, f"{{self.jid}} {greeting}-{{n}}\\n".encode())
        os.close(fd)
"""


def write_worker(root: Path, greeting: str) -> None:
    package = root / "reloadapp"
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "greet_worker.py").write_text(textwrap.dedent(WORKER.format(greeting=greeting)))


def test_editing_a_worker_file_restarts_the_process_with_the_new_code(
    sqlite_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    write_worker(tmp_path, "hello")
    store = open_store(sqlite_url)
    client = Client(store)
    proc = SidequestProcess(sqlite_url, tmp_path, ["--reload", "-r", "reloadapp.greet_worker"], record)
    try:
        wait_for(lambda: len(store.processes()) == 1, 30, "the first process to beat")
        client.enqueue("reloadapp.greet_worker.GreetWorker", [1])
        wait_for(lambda: runs(record)["hello-1"] == 1, 20, "the job to run with the old code")
        first = store.processes()[0].identity
        write_worker(tmp_path, "bonjour")
        wait_for(lambda: [p.identity for p in store.processes()] not in ([], [first]), 30, "a new process")
        client.enqueue("reloadapp.greet_worker.GreetWorker", [2])
        wait_for(lambda: runs(record)["bonjour-2"] == 1, 20, "the job to run with the new code")
        assert "greet_worker.py changed; restarting" in proc.output()
    finally:
        proc.signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    assert store.processes() == []
    store.close()
