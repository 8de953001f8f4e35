"""``Admin.job(jid)`` on every store: one job found wherever it is, as ``sidequest jobs show`` needs it."""

from __future__ import annotations

import pytest

from cli.states import beat, enqueue, failed, process, running, schedule
from sidequest.admin import Admin
from sidequest.retry import encode_backtrace
from sidequest.stores.base import Store


def test_a_job_is_found_in_a_queue_the_sets_or_running(store: Store) -> None:
    admin = Admin(store, chunk=2)  # small pages: the lookup must page through each location
    for n in range(3):
        enqueue(store, args=[n])
    queued = enqueue(store, queue="mailers")
    later = schedule(store, 600)
    retrying = failed(store, "retry", queue="billing")
    dead = failed(store, "dead", queue="reports")
    beat(store, process("web-1:1:a"), busy=running("web-1:1:a", 1))

    found = {jid: admin.job(jid) for jid in (queued, later, retrying, dead, "run0")}

    assert {jid: details.location for jid, details in found.items() if details} == {
        queued: "queue:mailers",
        later: "scheduled",
        retrying: "retry",
        dead: "dead",
        "run0": "running",
    }
    running_job = found["run0"]
    assert running_job is not None and running_job.entry.owner == "web-1:1:a"
    retry_job = found[retrying]
    assert retry_job is not None and retry_job.entry.payload is not None
    assert retry_job.entry.payload["error_message"] == "boom"


@pytest.mark.parametrize("jid", ["0123456789abcdef01234567", ""])
def test_a_jid_that_is_nowhere_is_none(store: Store, jid: str) -> None:
    enqueue(store)

    assert Admin(store).job(jid) is None


def test_a_stored_backtrace_is_decoded(store: Store) -> None:
    jid = enqueue(store, backtrace=True)
    [claimed] = store.claim(["default"], 1, "host:1:owner", 1.0)
    assert claimed.payload is not None
    lines = ["app/workers/x.py:3:in `perform'", "sidequest/runtime/executor.py:80:in `run'"]
    payload = {**claimed.payload, "error_class": "RuntimeError", "error_message": "boom", "retry_count": 0}
    payload["error_backtrace"] = encode_backtrace(lines)
    assert store.kill("host:1:owner", claimed, payload, 1.0)

    details = Admin(store).job(jid)

    assert details is not None and details.backtrace == lines
