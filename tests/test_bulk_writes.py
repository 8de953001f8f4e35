"""A bulk enqueue of several batches writes them from a background thread while it builds the next
(``sidequest/bulk_writer.py``): on every store the jobs arrive in order, one write per batch, and the
first batch that fails raises from the call with no later batch written."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from sidequest.client import Client
from sidequest.job import NewJob, Payload
from sidequest.stores import open_store
from sidequest.stores.base import Store
from testapp.workers import NoopWorker


def claim_everything(url: str) -> list[int]:
    store = open_store(url)
    found: list[int] = []
    while batch := store.claim(["default"], 500, "host:1:bulk", 0.0):
        found += [job.payload["args"][0] for job in batch if job.payload is not None]
    store.close()
    return found


def threads_that_push(store: Store) -> set[str]:
    """The names of the threads that call ``store.push`` from now on (the real push still runs)."""
    names: set[str] = set()
    push = store.push

    def recording_push(jobs: Sequence[NewJob]) -> None:
        names.add(threading.current_thread().name)
        push(jobs)

    store.push = recording_push  # type: ignore[method-assign]
    return names


def test_a_bulk_enqueue_of_several_batches_stores_every_job_in_order(store_url: str) -> None:
    store = open_store(store_url)
    writers = threads_that_push(store)
    jids = Client(store).enqueue_bulk(NoopWorker, [[n] for n in range(2_500)], batch_size=1_000)
    assert len(jids) == 2_500 and None not in jids
    assert writers == {"sidequest-bulk-writer"}  # three batches: written off the caller's thread
    assert store.counts().enqueued == 2_500
    store.close()
    assert claim_everything(store_url) == list(range(2_500))


def test_one_batch_is_written_on_the_callers_thread(store_url: str) -> None:
    store = open_store(store_url)
    threads = threads_that_push(store)
    Client(store).enqueue_bulk(NoopWorker, [[n] for n in range(10)])
    assert threads == {threading.current_thread().name}
    store.close()


def test_the_first_batch_that_fails_raises_and_no_later_batch_is_written(store_url: str) -> None:
    def poison(payload: Payload) -> Payload:
        if payload["args"] == [1_500]:  # in the second batch: a value no JSON writer takes
            payload["bad"] = {1, 2}
        return payload

    store = open_store(store_url)
    with pytest.raises(Exception, match=r"JSON|json|serializ|set"):
        Client(store, middleware=[poison]).enqueue_bulk(
            NoopWorker, [[n] for n in range(3_000)], batch_size=1_000
        )
    assert store.counts().enqueued == 1_000  # the first batch, and nothing after the failing one
    store.close()
    assert claim_everything(store_url) == list(range(1_000))
