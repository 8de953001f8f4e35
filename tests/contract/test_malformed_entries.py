"""Contract: what every store does with an entry that is not a valid job (written by another
application, by hand, or by an older version). "Malformed" means one thing on every store: what
``sidequest.serializer.load_payload`` refuses (not JSON, not an object, no ``class`` string, no ``args``
array), the same test a claim applies."""

from __future__ import annotations

import time

import orjson
import pytest

from contract.raw_writes import put_in_set
from contract.support import JobMaker, claim_all, raw_payload
from sidequest.stores.base import Store

NOT_JSON = "{this is not json"
NO_ARGS = orjson.dumps({"class": "app.Worker", "queue": "default", "jid": "a" * 24}).decode()


@pytest.mark.parametrize("raw", [NOT_JSON, "[1, 2]", NO_ARGS])
def test_an_admin_list_shows_every_malformed_entry_with_no_payload(store: Store, raw: str) -> None:
    put_in_set(store, "dead", raw, time.time())
    [entry] = store.list_set("dead")
    assert entry.raw == raw
    assert entry.payload is None
    assert entry.display_class == "(malformed)"


def test_a_valid_job_next_to_a_malformed_one_is_listed_with_its_payload(store: Store, jobs: JobMaker) -> None:
    put_in_set(store, "retry", NOT_JSON, time.time() + 60)
    jid = jobs.schedule(time.time() + 120, 1)
    [_, valid] = store.list_set("retry") + store.list_set("scheduled")
    assert valid.payload is not None and valid.jid == jid


def test_a_due_entry_that_is_not_a_json_object_goes_to_the_dead_set_and_the_others_move(
    store: Store, jobs: JobMaker, owner: str
) -> None:
    due = time.time() - 1
    put_in_set(store, "scheduled", NOT_JSON, due)
    jid = jobs.schedule(due, 1)
    assert store.promote_due(time.time()) == 1
    [dead] = store.list_set("dead")
    assert dead.raw == NOT_JSON
    assert store.list_set("scheduled") == []
    [claimed] = claim_all(store, owner)
    assert claimed.jid == jid


def test_a_due_json_object_that_is_not_a_job_moves_to_its_queue_where_a_claim_reports_it(
    store: Store, owner: str
) -> None:
    put_in_set(store, "retry", NO_ARGS, time.time() - 1)
    assert store.promote_due(time.time()) == 1
    [claimed] = claim_all(store, owner)
    assert claimed.payload is None  # the runtime sends it to the dead set with MalformedJobError's message
    assert raw_payload(claimed.raw)["class"] == "app.Worker"
    assert "enqueued_at" in raw_payload(claimed.raw)


@pytest.mark.parametrize("state", ["scheduled", "retry", "dead"])
def test_retry_now_leaves_a_malformed_entry_where_people_can_see_it(store: Store, state: str) -> None:
    put_in_set(store, state, NO_ARGS, time.time() + 60)
    put_in_set(store, state, NOT_JSON, time.time() + 61)
    entries = store.list_set(state)  # type: ignore[arg-type]
    assert store.retry_now(entries) == 0
    assert [entry.raw for entry in store.list_set(state)] == [entry.raw for entry in entries]  # type: ignore[arg-type]
    assert store.list_queue("default") == []


@pytest.mark.parametrize(("state", "after"), [("scheduled", 3), ("retry", 2), ("dead", 2)])
def test_retry_now_lowers_retry_count_only_for_retry_and_dead_entries(
    store: Store, jobs: JobMaker, state: str, after: int
) -> None:
    payload = {**jobs.payload(1), "retry_count": 3}
    put_in_set(store, state, orjson.dumps(payload).decode(), time.time() + 60)
    assert store.retry_now(store.list_set(state)) == 1  # type: ignore[arg-type]
    [queued] = store.list_queue("default")
    assert queued.payload is not None
    assert queued.payload["retry_count"] == after
    assert queued.payload["jid"] == payload["jid"]
