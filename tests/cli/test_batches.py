"""``sidequest batches``, ``batches show BID`` and ``batches delete BID``."""

from __future__ import annotations

import json
import time

import sidequest
from cli.states import Sidequest
from sidequest.batch_records import BatchOutcome
from sidequest.client import Client
from sidequest.stores.base import Store
from testapp.batch_workers import BatchJob, RecordCallbacks


def make_batch(store: Store, description: str, count: int) -> tuple[str, list[str]]:
    client = Client(store)
    batch = sidequest.Batch(description, client=client)
    batch.on("complete", RecordCallbacks).on("success", RecordCallbacks)
    with batch.jobs():
        jids = [str(jid) for jid in client.enqueue_bulk(BatchJob, [[n] for n in range(count)])]
    return batch.bid, jids


def test_batches_lists_each_batch_newest_first_with_its_counters(sidequest: Sidequest, store: Store) -> None:
    first, _ = make_batch(store, "nightly import", 3)
    time.sleep(0.01)
    second, jids = make_batch(store, "emails", 2)
    store.record_batch_outcomes([BatchOutcome(second, jids[0], "failure")], time.time())

    lines = sidequest("batches").output.splitlines()

    assert lines[0].split() == ["BID", "DESCRIPTION", "TOTAL", "PENDING", "FAILURES", "STATE", "CREATED"]
    assert lines[1].split()[:6] == [second, "emails", "2", "2", "1", "pending"]
    assert lines[2].split()[:7] == [first, "nightly", "import", "3", "3", "0", "pending"]


def test_batches_show_gives_the_counters_callbacks_and_failed_jids(
    sidequest: Sidequest, store: Store
) -> None:
    bid, jids = make_batch(store, "emails", 2)
    store.record_batch_outcomes(
        [BatchOutcome(bid, jids[0], "death"), BatchOutcome(bid, jids[1], "success")], time.time()
    )

    text = sidequest("batches", "show", bid).output
    shown = json.loads(sidequest("batches", "show", bid, "--json").output)

    assert "state        complete" in text and f"failed jobs  {jids[0]}" in text
    assert "fired        complete at" in text
    assert shown["total"] == 2 and shown["pending"] == 1 and shown["failures"] == 1
    assert shown["failed_jids"] == [jids[0]] and sorted(shown["fired"]) == ["complete", "death"]
    assert sorted(shown["callbacks"]) == ["complete", "success"]


def test_batches_as_json_and_when_there_are_none(sidequest: Sidequest, store: Store) -> None:
    assert sidequest("batches").output.strip() == "no batches"
    bid, _ = make_batch(store, "one", 1)
    [listed] = json.loads(sidequest("batches", "--json").output)
    assert listed["bid"] == bid and listed["total"] == 1


def test_an_unknown_batch_is_an_error_and_delete_forgets_a_batch(sidequest: Sidequest, store: Store) -> None:
    missing = sidequest("batches", "show", "nope")
    assert missing.exit_code == 1 and "no batch 'nope'" in missing.output
    bid, _ = make_batch(store, "one", 1)
    assert sidequest("batches", "delete", bid).output.strip() == f"deleted batch {bid}"
    assert store.batch_status(bid, time.time()) is None
    assert sidequest("batches", "delete", bid).exit_code == 1
