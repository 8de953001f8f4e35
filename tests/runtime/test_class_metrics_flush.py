"""The per-class metrics a process counts reach the store with its heartbeat, and a beat that fails
(the store is down) gives them back, so they are recorded once when the store answers again."""

from __future__ import annotations

import os
import time

from servers import RedisServer
from sidequest.client import Client
from sidequest.job import ProcessInfo, metric_minute
from sidequest.runtime.heartbeat import Heartbeat
from sidequest.runtime.tracker import Tracker
from sidequest.stores import open_store
from testapp.workers import ActionWorker

IDENTITY = "metrics-host:4242:abcdefabcdef"


def test_metrics_of_a_beat_that_failed_during_an_outage_are_recorded_once_afterwards(
    own_redis: RedisServer,
) -> None:
    store = open_store(own_redis.url)
    Client(store).enqueue(ActionWorker, ["ok", "one"])
    tracker = Tracker(IDENTITY, concurrency=2)
    info = ProcessInfo(IDENTITY, "metrics-host", os.getpid(), time.time(), 2, ["default"])
    heartbeat = Heartbeat(store, tracker, info, 30.0, lambda: False, lambda signal: None)
    assert heartbeat.run_once(time.time())
    [job] = store.claim(["default"], 1, IDENTITY, 0)
    tracker.hold([job])
    tracker.start_running(job, "tid-1")
    time.sleep(0.03)
    tracker.finish_running(job, failed=False)
    counted_at = time.time()

    own_redis.kill()
    assert not heartbeat.run_once(time.time())  # the outage: nothing recorded, the counts kept
    own_redis.start()
    assert heartbeat.run_once(time.time())
    assert heartbeat.run_once(time.time())  # nothing left to add: the next beat adds nothing twice

    [item] = store.metrics(counted_at - 120, time.time() + 60)
    assert (item.name, item.processed, item.failed) == ("testapp.workers.ActionWorker", 1, 0)
    assert item.minute == metric_minute(counted_at) or item.minute == metric_minute(counted_at) - 60
    assert item.ms >= 30 and sum(item.histogram) == 1
    store.close()
