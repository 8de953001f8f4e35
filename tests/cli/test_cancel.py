"""``sidequest jobs cancel JID...`` and the expired count of ``sidequest stats``."""

from __future__ import annotations

import json

from cli.states import Sidequest, enqueue, schedule
from sidequest.job import NewJob
from sidequest.stores.base import Store


def test_cancel_removes_a_queued_and_a_scheduled_job_and_says_so(sidequest: Sidequest, store: Store) -> None:
    queued = enqueue(store)
    scheduled = schedule(store, 600)
    kept = enqueue(store)

    result = sidequest("jobs", "cancel", queued, scheduled)

    assert result.exit_code == 0, result.output
    assert f"{queued}: removed" in result.output and f"{scheduled}: removed" in result.output
    assert [entry.jid for entry in store.list_queue("default")] == [kept]
    assert store.list_set("scheduled") == []


def test_cancel_of_an_unknown_jid_exits_1_and_names_it(sidequest: Sidequest, store: Store) -> None:
    result = sidequest("jobs", "cancel", "0123456789abcdef01234567")

    assert result.exit_code == 1
    assert "not found: 0123456789abcdef01234567" in result.output


def test_cancel_json_maps_each_jid_to_what_happened(sidequest: Sidequest, store: Store) -> None:
    queued = enqueue(store)
    result = sidequest("jobs", "cancel", queued, "--json")
    assert json.loads(result.output) == {queued: "removed"}


def test_stats_counts_expired_jobs(sidequest: Sidequest, store: Store) -> None:
    store.add_expired(2)
    store.push([NewJob({"class": "X", "args": [], "jid": "j", "queue": "default"})])

    table = [line.split() for line in sidequest("stats").output.splitlines() if line.strip()]

    values = dict(zip(table[0], table[1], strict=True))
    assert values["EXPIRED"] == "2"
    assert json.loads(sidequest("stats", "--json").output)["expired"] == 2
