"""A process whose lease lapsed records outcomes late: the store refuses them (another process runs the
job now), and the unique lock that keeps the job's duplicates out stays held. On every store."""

from __future__ import annotations

import time

from contract.support import beat
from sidequest.client import Client
from sidequest.runtime.acker import Acker
from sidequest.runtime.executor import Outcome
from sidequest.runtime.tracker import Tracker
from sidequest.stores.base import Store

SLOW = "late-owner:1:aaaaaaaaaaaa"
NOW_RUNS_IT = "new-owner:2:bbbbbbbbbbbb"
UNIQUE = {"unique_for": 600, "queue": "reports"}


def test_a_late_ack_the_store_refuses_leaves_the_unique_lock_to_the_process_now_running_the_job(
    store: Store,
) -> None:
    client = Client(store)
    assert client.enqueue("app.ReportWorker", [7], options=UNIQUE) is not None
    beat(store, SLOW)
    [claimed] = store.claim(["reports"], 1, SLOW, 0)
    # The slow owner froze: its lease is over and the job went back, to be claimed by another process.
    store.end_lease(SLOW)
    store.rescue_orphans(time.time() + 120)
    beat(store, NOW_RUNS_IT)
    [again] = store.claim(["reports"], 1, NOW_RUNS_IT, 0)
    assert again.jid == claimed.jid
    # The slow owner wakes up and records its outcome: refused, and the lock stays held.
    tracker = Tracker(SLOW, 1)
    tracker.hold([claimed])
    Acker(store, tracker, SLOW).record([Outcome(claimed, "ack")])
    assert client.enqueue("app.ReportWorker", [7], options=UNIQUE) is None  # still a duplicate
    assert store.owned(NOW_RUNS_IT) and store.owned(NOW_RUNS_IT)[0].jid == claimed.jid
    # Its failure, recorded late, is refused the same way.
    failed = dict(claimed.payload or {}, error_class="RuntimeError", retry_count=0)
    Acker(store, tracker, SLOW).record([Outcome(claimed, "kill", failed, time.time(), failed=True)])
    assert client.enqueue("app.ReportWorker", [7], options=UNIQUE) is None
    # The process that runs it now finishes it: the lock goes.
    other = Tracker(NOW_RUNS_IT, 1)
    other.hold([again])
    Acker(store, other, NOW_RUNS_IT).record([Outcome(again, "ack")])
    assert client.enqueue("app.ReportWorker", [7], options=UNIQUE) is not None
