"""``sidequest jobs show JID``: one job wherever it is, with its stored error and backtrace; and job
times on the command line that are not times, refused before anything is stored."""

from __future__ import annotations

import json
import math

import pytest

import sidequest
import sidequest.testing
from cli.states import Sidequest, beat, enqueue, process, running, schedule
from sidequest.admin import Admin
from sidequest.cli.format import to_json
from sidequest.defaults import DEFAULT
from sidequest.stores.base import Store


class LedgerError(RuntimeError):
    pass


class ExplodingLedgerWorker(sidequest.Worker):
    sidequest_options = {"retry": 0, "backtrace": True}

    def perform(self, account: int) -> None:
        self.post(account)

    def post(self, account: int) -> None:
        raise LedgerError(f"account {account} is locked")


def dead_job(store: Store) -> str:
    """A job that failed in a real sidequest process and went straight to the dead set (retry: 0)."""
    with DEFAULT.override(sidequest.Client(store)):
        jid = ExplodingLedgerWorker.perform_async(7)
    assert jid is not None
    assert sidequest.testing.drain(store, ExplodingLedgerWorker, timeout=30)
    assert [entry.jid for entry in store.list_set("dead")] == [jid]
    return jid


def test_showing_a_dead_job_prints_its_error_backtrace_times_and_payload(
    sidequest: Sidequest, store: Store
) -> None:
    jid = dead_job(store)

    result = sidequest("jobs", "show", jid)

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"jid          {jid}" in out
    assert "where        dead" in out
    assert "retry count  0" in out
    assert f"error        {__name__}.LedgerError: account 7 is locked" in out
    assert "backtrace:" in out
    assert "in `post'" in out and "in `perform'" in out
    for name in ("created_at", "enqueued_at", "failed_at", "died_at"):
        assert f"\n{name}" in out
    assert '"args": [\n    7\n  ]' in out  # the payload, pretty-printed


def test_showing_a_job_as_json_gives_the_decoded_backtrace_and_iso_times(
    sidequest: Sidequest, store: Store
) -> None:
    jid = dead_job(store)

    data = json.loads(sidequest("jobs", "show", jid, "--json").stdout)

    assert (data["jid"], data["state"], data["location"], data["retry_count"]) == (jid, "dead", "dead", 0)
    assert data["error_class"] == f"{__name__}.LedgerError"
    assert data["error_message"] == "account 7 is locked"
    assert any("in `post'" in line for line in data["backtrace"])
    assert data["times"]["died_at"].endswith("+00:00")
    assert data["payload"]["args"] == [7]


def test_jobs_are_found_in_queues_scheduled_and_running(sidequest: Sidequest, store: Store) -> None:
    queued = enqueue(store, queue="mailers")
    later = schedule(store, 3600)
    identity = "web-1:4242:abc"
    beat(store, process(identity), busy=running(identity, 1))

    assert "where        queue:mailers" in sidequest("jobs", "show", queued).stdout
    shown = sidequest("jobs", "show", later).stdout
    assert "where        scheduled" in shown and "\ndue_at" in shown
    assert f"where        running (in {identity})" in sidequest("jobs", "show", "run0").stdout


def test_an_unknown_jid_is_one_line_and_exit_1(sidequest: Sidequest) -> None:
    result = sidequest("jobs", "show", "0123456789abcdef01234567")

    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "Error: no job '0123456789abcdef01234567' in any queue, the scheduled, retry or dead set, or running"
    ]


@pytest.mark.parametrize("when", ["nan", "inf", "-Infinity", "1e400"])
def test_enqueue_at_a_time_that_is_not_finite_is_refused_and_nothing_is_stored(
    sidequest: Sidequest, store: Store, when: str
) -> None:
    result = sidequest("enqueue", "app.workers.OrderWorker", "--at", when, "--json")

    assert result.exit_code == 2
    assert "is not a time: give a finite epoch second" in result.stderr
    assert "NaN" not in result.stdout and "Infinity" not in result.stdout
    assert Admin(store).overview().counts.scheduled == 0 and Admin(store).queues() == []


def test_json_output_turns_non_finite_numbers_into_null() -> None:
    text = to_json({"score": math.nan, "at": [math.inf, -math.inf, 1.5]})

    assert json.loads(text) == {"score": None, "at": [None, None, 1.5]}
