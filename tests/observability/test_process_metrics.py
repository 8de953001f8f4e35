"""``sidequest run --metrics-port``: a real process serves /metrics, and what it shows while it drains
is what it did: jobs processed, failed, retried and dead per class and queue, their execution times,
its busy threads, and the latency of its claims and acks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from observability.scrape import scrape, try_scrape, value
from processes import SRC, TESTS, SidequestProcess, runs, wait_for
from servers import free_port, free_port_run
from sidequest.client import Client
from sidequest.stores import open_store
from testapp.workers import ActionWorker

WORKER = "testapp.workers.ActionWorker"


def test_metrics_scraped_during_a_drain_show_the_counts_of_the_drain(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url)
    client = Client(store)
    for index in range(12):
        client.enqueue(ActionWorker, ["sleep", f"slow-{index}", 0.1])
    client.enqueue(ActionWorker, ["ok", "fast"], options={"queue": "mail"})
    client.enqueue(ActionWorker, ["fail", "to-retry"])
    client.enqueue(ActionWorker, ["fail", "to-die"], options={"retry": 0})
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    record = tmp_path / "runs.txt"
    process = SidequestProcess(
        store_url, tmp_path, ["-c", "2", "-q", "default", "-q", "mail", "--metrics-port", str(port)], record
    )
    scrapes = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        samples = try_scrape(url)
        if samples is not None:
            scrapes.append(samples)
            if value(samples, "sidequest_jobs_processed_total", worker=WORKER, queue="default") >= 14:
                break
        time.sleep(0.05)
    # The ack of the last batch may follow its perform: wait until the outcomes are recorded too.
    wait_for(
        lambda: value(scrape(url), "sidequest_jobs_dead_total", worker=WORKER, queue="default") == 1,
        10,
        "dead",
    )
    final = scrape(url)
    assert process.terminate() == 0, process.output()

    default = {"worker": WORKER, "queue": "default"}
    assert value(final, "sidequest_jobs_processed_total", **default) == 14
    assert value(final, "sidequest_jobs_failed_total", **default) == 2
    assert value(final, "sidequest_jobs_retried_total", **default) == 1
    assert value(final, "sidequest_jobs_dead_total", **default) == 1
    mail = {"worker": WORKER, "queue": "mail"}
    assert value(final, "sidequest_jobs_processed_total", **mail) == 1
    assert value(final, "sidequest_jobs_failed_total", **mail) == 0
    # Every run is in the histogram; the twelve 0.1 s sleeps are above the 0.05 s bucket.
    assert value(final, "sidequest_job_duration_seconds_count", **default) == 14
    assert value(final, "sidequest_job_duration_seconds_bucket", le="0.05", **default) <= 2
    assert value(final, "sidequest_job_duration_seconds_bucket", le="+Inf", **default) == 14
    assert value(final, "sidequest_job_duration_seconds_sum", **default) >= 1.2
    assert value(final, "sidequest_fetch_duration_seconds_count") >= 1
    assert value(final, "sidequest_ack_duration_seconds_count") >= 1
    assert value(final, "sidequest_concurrency") == 2
    assert final[next(key for key in final if key[0] == "sidequest_process_info")] == 1
    assert value(final, "process_resident_memory_bytes") > 0

    # Scraped while it drained: the counts only grow, and some scrape caught jobs running.
    processed = [value(s, "sidequest_jobs_processed_total", **default) for s in scrapes]
    assert processed == sorted(processed)
    assert any(0 < count < 14 for count in processed), processed
    assert any(value(s, "sidequest_busy_threads") > 0 for s in scrapes)
    assert len(runs(record)) == 15


def test_each_child_of_a_supervised_process_serves_its_own_port_and_a_replacement_takes_it_over(
    sqlite_url: str, tmp_path: Path
) -> None:
    port = free_port_run(2)  # child i listens on port + i
    process = SidequestProcess(sqlite_url, tmp_path, ["-p", "2", "--metrics-port", str(port)])

    def identity(child_port: int) -> str | None:
        samples = try_scrape(f"http://127.0.0.1:{child_port}/metrics")
        if samples is None:
            return None
        info = next(key for key in samples if key[0] == "sidequest_process_info")
        return dict(info[1])["identity"]

    for child in (port, port + 1):
        try:
            wait_for(lambda child=child: identity(child) is not None, 30, f"child metrics on port {child}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the processes said:\n{process.output()[-3000:]}") from None
    first, second = identity(port), identity(port + 1)
    assert first is not None and second is not None and first != second

    os.kill(int(second.split(":")[1]), signal.SIGKILL)  # identity is host:pid:random
    wait_for(lambda: identity(port + 1) not in (None, second), 30, "the replacement child on the same port")
    assert identity(port) == first
    assert process.terminate() == 0, process.output()


def test_a_metrics_port_already_taken_is_one_clear_error(sqlite_url: str, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [sys.executable, "-m", "sidequest", "run", "--url", sqlite_url, "-r", "testapp.workers"]
        result = subprocess.run(
            [*command, "--metrics-port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            env={"PYTHONPATH": f"{TESTS}:{SRC}", "PATH": "/usr/bin:/bin"},
            cwd=tmp_path,
        )
    assert result.returncode != 0
    assert f"--metrics-port: cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
