"""``sidequest run --health-port``: a real process answers 200 while its threads live and its store
takes heartbeats, 503 once the store is gone for longer than the lease TTL, and 200 again when it is
back (a Kubernetes liveness probe restarts only a process that is really stuck)."""

from __future__ import annotations

import signal
import urllib.request
from pathlib import Path

from observability.scrape import status
from processes import SidequestProcess, wait_for
from servers import RedisServer, free_port
from sidequest.client import Client
from sidequest.stores import open_store
from testapp.workers import ActionWorker


def test_health_is_200_while_the_store_answers_503_when_it_is_gone_and_200_when_it_is_back(
    own_redis: RedisServer, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    process = SidequestProcess(own_redis.url, tmp_path, ["--health-port", str(port)])
    wait_for(lambda: status(url) == 200, 30, "a healthy process")
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.read().decode().startswith("ok: last heartbeat")

    own_redis.kill()  # the lease TTL of the test processes is 2 s
    wait_for(lambda: status(url) == 503, 15, "the health check to fail without the store")
    own_redis.start()
    wait_for(lambda: status(url) == 200, 30, "the health check to recover with the store")
    assert process.terminate() == 0, process.output()
    assert status(url) is None  # the port is closed with the process


def test_a_process_asked_to_stop_is_no_longer_healthy(sqlite_url: str, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    process = SidequestProcess(sqlite_url, tmp_path, ["--health-port", str(port), "-t", "10"])
    wait_for(lambda: status(url) == 200, 30, "a healthy process")
    # A job that runs 3 s keeps the process in its shutdown long enough to probe it there.
    store = open_store(sqlite_url)
    Client(store).enqueue(ActionWorker, ["sleep", "long", 3.0])
    wait_for(lambda: len(store.busy()) == 1, 10, "the job to run")
    process.signal(signal.SIGTERM)
    wait_for(lambda: status(url) == 503, 5, "the stopping process to say so")
    assert process.wait(30) == 0, process.output()
    assert store.queues()[0].size == 0  # the job finished inside the grace period
    store.close()
