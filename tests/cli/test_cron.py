"""``sidequest cron list|pause|resume|enqueue``: the periodic entries of the loaded worker modules, and
what the store recorded for them."""

from __future__ import annotations

import json
import time

from cli.states import Sidequest
from sidequest.job import NewJob
from sidequest.stores.base import Store

LOAD = ("-r", "testapp.cron_workers")


def test_list_shows_each_entry_with_its_schedule_zone_queue_and_next_run(sidequest: Sidequest) -> None:
    result = sidequest("cron", "list", *LOAD)

    assert result.exit_code == 0, result.output
    header, every_second, nightly = result.stdout.splitlines()
    assert header.split() == ["NAME", "SCHEDULE", "TZ", "QUEUE", "NEXT", "RUN", "LAST", "ENQUEUE", "STATE"]
    assert every_second.split()[:9] == ["every-second", "*", "*", "*", "*", "*", "*", "UTC", "cron"]
    assert nightly.split()[:7] == ["nightly-report", "30", "2", "*", "*", "*", "Europe/Berlin"]
    assert " 02:30:00 CE" in nightly  # CET or CEST, 02:30 local time
    assert nightly.split()[-2:] == ["-", "active"]  # never enqueued, not paused


def test_list_as_json_gives_times_as_epoch_seconds(sidequest: Sidequest) -> None:
    before = time.time()

    entries = json.loads(sidequest("cron", "list", *LOAD, "--json").stdout)

    every_second = entries[0]
    assert every_second["name"] == "every-second"
    assert every_second["worker"] == "testapp.cron_workers.EverySecondWorker"
    assert before < every_second["next_run"] <= time.time() + 1
    assert every_second["state"] == {
        "name": "every-second",
        "last_tick": None,
        "last_jid": None,
        "enqueued_at": None,
        "paused": False,
    }


def test_list_shows_the_last_enqueue_the_store_recorded(sidequest: Sidequest, store: Store) -> None:
    tick = int(time.time()) - 5
    payload = {
        "class": "testapp.cron_workers.EverySecondWorker",
        "args": [],
        "jid": "a" * 24,
        "queue": "cron",
    }
    store.enqueue_tick("every-second", tick, NewJob(payload))

    [every_second, _] = json.loads(sidequest("cron", "list", *LOAD, "--json").stdout)
    row = sidequest("cron", "list", *LOAD).stdout.splitlines()[1]

    assert every_second["state"]["last_tick"] == tick
    assert every_second["state"]["last_jid"] == "a" * 24
    assert "s ago)" in row


def test_pause_stops_the_store_enqueueing_ticks_and_resume_starts_it_again(
    sidequest: Sidequest, store: Store
) -> None:
    paused = sidequest("cron", "pause", "every-second", *LOAD)

    assert paused.exit_code == 0, paused.output
    assert "paused every-second" in paused.stdout
    assert sidequest("cron", "list", *LOAD).stdout.splitlines()[1].endswith("paused")
    payload = {
        "class": "testapp.cron_workers.EverySecondWorker",
        "args": [],
        "jid": "b" * 24,
        "queue": "cron",
    }
    assert store.enqueue_tick("every-second", int(time.time()), NewJob(payload)) is False

    resumed = sidequest("cron", "resume", "every-second", *LOAD, "--json")

    assert json.loads(resumed.stdout)["state"]["paused"] is False
    assert store.enqueue_tick("every-second", int(time.time()), NewJob(payload)) is True


def test_enqueue_pushes_one_job_now_with_the_entrys_options(sidequest: Sidequest, store: Store) -> None:
    result = sidequest("cron", "enqueue", "nightly-report", *LOAD)

    assert result.exit_code == 0, result.output
    [entry] = store.list_queue("low")
    assert entry.jid == result.stdout.strip()
    assert entry.payload is not None
    assert entry.payload["class"] == "testapp.cron_workers.NightlyReportWorker"
    assert (entry.payload["args"], entry.payload["retry"], entry.payload["cron"]) == ([], 2, "nightly-report")
    assert "cron_at" not in entry.payload


def test_an_unknown_entry_name_lists_the_known_ones(sidequest: Sidequest) -> None:
    result = sidequest("cron", "pause", "hourly", *LOAD)

    assert result.exit_code == 1
    assert "no periodic entry named 'hourly'; known entries: every-second, nightly-report" in result.stderr


def test_a_worker_module_that_does_not_import_is_a_usage_error(sidequest: Sidequest) -> None:
    result = sidequest("cron", "list", "-r", "testapp.no_such_module")

    assert result.exit_code == 2
    assert "could not import worker module 'testapp.no_such_module'" in result.stderr
