"""``sidequest queues pause NAME`` / ``resume NAME``, and what a running ``sidequest run`` does about it."""

from __future__ import annotations

import json
import time
from pathlib import Path

from click.testing import CliRunner

from cli.states import Sidequest, enqueue
from processes import SidequestProcess, runs, wait_for
from sidequest.admin import Admin
from sidequest.cli import main
from sidequest.client import Client
from sidequest.stores import open_store
from sidequest.stores.base import Store
from testapp.workers import ActionWorker


def test_pausing_a_queue_shows_it_paused_and_resume_clears_it(sidequest: Sidequest, store: Store) -> None:
    enqueue(store, queue="mail")

    paused = sidequest("queues", "pause", "mail")

    assert paused.exit_code == 0 and paused.stdout.strip() == "paused queue mail"
    assert "mail (paused)" in sidequest("queues").output
    [queue] = json.loads(sidequest("queues", "--json").output)
    assert queue["paused"] is True
    resumed = sidequest("queues", "resume", "mail", "--json")
    assert json.loads(resumed.stdout) == {"queue": "mail", "paused": False}
    assert [q.paused for q in Admin(store).queues()] == [False]


def test_pausing_a_bad_queue_name_says_what_a_name_may_hold(sidequest: Sidequest, store: Store) -> None:
    result = sidequest("queues", "pause", "no spaces")

    assert result.exit_code == 1
    assert "bad queue name 'no spaces'" in result.stderr and "letters, digits" in result.stderr
    assert Admin(store).queues() == []


def test_a_running_process_does_not_fetch_a_paused_queue_and_fetches_again_after_resume(
    store_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    store = open_store(store_url)
    client = Client(store)
    runner = CliRunner()
    paused = runner.invoke(main, ["queues", "pause", "mail", "--url", store_url], catch_exceptions=False)
    assert paused.exit_code == 0, paused.output
    process = SidequestProcess(store_url, tmp_path, ["-q", "mail", "-q", "default"], record)
    try:
        client.enqueue(ActionWorker, ["ok", "default-1"])
        wait_for(lambda: runs(record)["default-1"] == 1, 30, "the default queue's job to run")
        client.enqueue(ActionWorker, ["ok", "mail-1"], options={"queue": "mail"})
        client.enqueue(ActionWorker, ["ok", "default-2"])
        wait_for(lambda: runs(record)["default-2"] == 1, 30, "the second default job to run")
        time.sleep(1.5)  # several claim rounds of the live process
        assert runs(record)["mail-1"] == 0
        assert [(queue.name, queue.size, queue.paused) for queue in store.queues()] == [
            ("default", 0, False),
            ("mail", 1, True),
        ]

        resumed = runner.invoke(
            main, ["queues", "resume", "mail", "--url", store_url], catch_exceptions=False
        )
        assert resumed.exit_code == 0, resumed.output
        wait_for(lambda: runs(record)["mail-1"] == 1, 30, "the mail job to run after the resume")
    finally:
        assert process.terminate() == 0
    assert runs(record) == {"default-1": 1, "default-2": 1, "mail-1": 1}
    store.close()
