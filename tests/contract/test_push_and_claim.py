"""Contract: push and claim. Jobs wait in FIFO queues; a claim hands each one to exactly one owner."""

from __future__ import annotations

import threading
import time

import pytest

from contract.support import JobMaker, claim_all, jids, raw_payload
from sidequest.errors import StoreError
from sidequest.job import NewJob
from sidequest.serializer import loads
from sidequest.stores import open_store
from sidequest.stores.base import Store


def test_pushed_jobs_are_claimed_in_the_order_they_were_pushed(
    store: Store, jobs: JobMaker, owner: str
) -> None:
    first = jobs.push_many(3)
    second = jobs.push_many(2)
    assert jids(claim_all(store, owner, batch=2)) == first + second


def test_a_push_registers_its_queue(store: Store, jobs: JobMaker) -> None:
    assert store.queues() == []
    jobs.push(1, queue="mail")
    jobs.push(2, queue="audit")
    assert [(queue.name, queue.size) for queue in store.queues()] == [("audit", 1), ("mail", 1)]


def test_an_empty_push_does_nothing(store: Store) -> None:
    store.push([])
    assert store.queues() == []
    assert store.counts().enqueued == 0


def test_a_payload_is_stored_exactly_as_given(store: Store, jobs: JobMaker, owner: str) -> None:
    payload = jobs.payload("text", 2, 3.5, None, [1, {"k": True}], custom_field={"kept": ["as", "is"]})
    store.push([NewJob(payload)])
    [job] = store.claim(["default"], 1, owner, 0)
    assert job.payload == payload
    assert loads(job.raw) == payload
    assert job.queue == "default"


def test_payloads_whose_strings_hold_line_breaks_and_control_characters_are_stored_apart_and_exact(
    store: Store, jobs: JobMaker, owner: str
) -> None:
    # PostgreSQL sends a batch's payload texts joined by newlines: JSON writes none inside a text, so
    # the values below must come back as they went, each in its own job.
    tricky = ["two\nlines", "cr\r\nlf", "\u2028 and \u2029", "nul \u0000 tab \t", "", "\\n not a newline"]
    payloads = [jobs.payload(value, n) for n, value in enumerate(tricky)]
    store.push([NewJob(payload) for payload in payloads])
    claimed = store.claim(["default"], 10, owner, 0)
    assert [job.payload for job in claimed] == payloads
    assert [loads(job.raw) for job in claimed] == payloads


def test_a_push_that_cannot_be_stored_stores_nothing(store: Store, jobs: JobMaker) -> None:
    good = jobs.payload(1)
    bad = jobs.payload(2)
    bad["args"] = [object()]  # not JSON: the whole push fails before anything is written
    with pytest.raises((TypeError, ValueError, StoreError)):
        store.push([NewJob(good), NewJob(bad)])
    assert store.counts().enqueued == 0
    assert store.list_queue("default") == []


def test_a_job_with_a_time_waits_in_the_scheduled_set_even_when_the_time_has_passed(
    store: Store, jobs: JobMaker, owner: str
) -> None:
    past = time.time() - 60
    jid = jobs.schedule(past, 1)
    assert store.claim(["default"], 10, owner, 0) == []
    [entry] = store.list_set("scheduled")
    assert entry.jid == jid
    assert entry.score == pytest.approx(past)
    assert "enqueued_at" not in raw_payload(entry.raw)
    assert store.counts().scheduled == 1


def test_a_claim_takes_at_most_limit_jobs_from_the_front(store: Store, jobs: JobMaker, owner: str) -> None:
    pushed = jobs.push_many(5)
    assert jids(store.claim(["default"], 2, owner, 0)) == pushed[:2]
    assert store.queues()[0].size == 3


def test_a_claim_drains_queues_in_the_order_given_then_moves_on(
    store: Store, jobs: JobMaker, owner: str
) -> None:
    low = jobs.push_many(3, queue="low")
    high = jobs.push_many(2, queue="high")
    claimed = store.claim(["high", "low"], 4, owner, 0)
    assert jids(claimed) == high + low[:2]
    assert [job.queue for job in claimed] == ["high", "high", "low", "low"]


def test_a_claim_skips_empty_and_unknown_queues(store: Store, jobs: JobMaker, owner: str) -> None:
    pushed = jobs.push_many(2, queue="later")
    assert jids(store.claim(["nothing-here", "later"], 10, owner, 0)) == pushed


def test_a_claimed_job_is_not_claimed_again(store: Store, jobs: JobMaker, owner: str, other: str) -> None:
    jobs.push_many(2)
    first = store.claim(["default"], 1, owner, 0)
    second = store.claim(["default"], 5, other, 0)
    assert len(first) == len(second) == 1
    assert first[0].jid != second[0].jid
    assert store.claim(["default"], 5, other, 0) == []


def test_an_empty_claim_waits_for_the_timeout_then_returns_nothing(store: Store, owner: str) -> None:
    started = time.monotonic()
    assert store.claim(["default"], 10, owner, 0.3) == []
    assert 0.25 <= time.monotonic() - started < 2.0


def test_a_claim_with_no_timeout_returns_at_once(store: Store, owner: str) -> None:
    started = time.monotonic()
    assert store.claim(["default"], 10, owner, 0) == []
    assert time.monotonic() - started < 0.5


def test_a_waiting_claim_wakes_up_when_a_job_is_pushed(store: Store, jobs: JobMaker, owner: str) -> None:
    payload = jobs.payload(1)
    pusher = threading.Timer(0.2, store.push, args=([NewJob(payload)],))
    started = time.monotonic()
    pusher.start()
    try:
        claimed = store.claim(["default"], 10, owner, 5.0)
    finally:
        pusher.join()
    assert jids(claimed) == [payload["jid"]]
    assert time.monotonic() - started < 1.5


def test_a_waiting_claim_wakes_up_for_a_job_pushed_through_another_connection(
    store: Store, jobs: JobMaker, owner: str
) -> None:
    payload = jobs.payload(1)
    elsewhere = open_store(store.url)  # what another process would do
    pusher = threading.Timer(0.2, elsewhere.push, args=([NewJob(payload)],))
    started = time.monotonic()
    pusher.start()
    try:
        claimed = store.claim(["default"], 10, owner, 5.0)
    finally:
        pusher.join()
        elsewhere.close()
    assert jids(claimed) == [payload["jid"]]
    assert time.monotonic() - started < 1.5


def test_a_malformed_payload_is_claimed_with_payload_none(store: Store, jobs: JobMaker, owner: str) -> None:
    not_a_job = {"queue": "default", "jid": "0123456789abcdef01234567", "args": "not a list"}
    store.push([NewJob(not_a_job)])
    [job] = store.claim(["default"], 1, owner, 0)
    assert job.payload is None
    assert job.jid is None
    assert raw_payload(job.raw) == not_a_job
    assert job.queue == "default"
    # The runtime sends it to the dead set as it is.
    assert store.kill(owner, job, None, time.time())
    [dead] = store.list_set("dead")
    assert raw_payload(dead.raw) == not_a_job
