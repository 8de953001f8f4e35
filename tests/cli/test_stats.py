"""``sidequest stats``, ``history`` and ``processes``: what people read first."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from cli.states import Sidequest, beat, enqueue, failed, process, running, schedule
from servers import free_port
from sidequest.job import WorkInfo
from sidequest.stores.base import Store


def rows(output: str) -> list[list[str]]:
    return [line.split() for line in output.splitlines() if line.strip()]


def test_stats_shows_a_queues_size_and_latency(sidequest: Sidequest, store: Store) -> None:
    enqueue(store, queue="mail")
    enqueue(store, queue="mail")
    enqueue(store, queue="reports")

    result = sidequest("stats")

    assert result.exit_code == 0, result.output
    table = rows(result.output)
    mail = next(row for row in table if row[0] == "mail")
    assert mail[1] == "2"
    assert mail[2].endswith("s")  # a latency such as 0.1s
    assert next(row for row in table if row[0] == "reports")[:2] == ["reports", "1"]


def test_stats_shows_totals_of_every_state(sidequest: Sidequest, store: Store) -> None:
    failed(store, "dead")
    failed(store, "retry")
    schedule(store, 60)
    enqueue(store)

    table = rows(sidequest("stats").output)

    header = table[0]
    assert header[:6] == ["PROCESSED", "FAILED", "ENQUEUED", "SCHEDULED", "RETRY", "DEAD"]
    values = dict(zip(header, table[1], strict=True))
    assert (values["ENQUEUED"], values["SCHEDULED"], values["RETRY"], values["DEAD"]) == ("1", "1", "1", "1")


def test_stats_shows_processes_with_their_busy_count(sidequest: Sidequest, store: Store) -> None:
    beat(store, process("web-1:4242:abc", queues=["default", "mail"]), busy=running("web-1:4242:abc", 3))

    output = sidequest("stats").output

    line = next(line for line in output.splitlines() if line.startswith("web-1:4242:abc"))
    assert "default,mail" in line and "3/10" in line and "running" in line


def test_stats_json_is_for_scripts(sidequest: Sidequest, store: Store) -> None:
    enqueue(store, queue="mail")

    data = json.loads(sidequest("stats", "--json").output)

    assert data["counts"]["enqueued"] == 1
    assert data["queues"][0]["name"] == "mail" and data["queues"][0]["size"] == 1
    assert data["processes"] == [] and data["busy"] == []


def test_an_empty_store_says_so(sidequest: Sidequest) -> None:
    result = sidequest("stats")

    assert result.exit_code == 0
    assert "no queues" in result.output and "no live processes" in result.output


def test_the_url_option_wins_over_the_environment(sidequest: Sidequest, store: Store, tmp_path: Path) -> None:
    enqueue(store)
    other = f"sqlite:///{tmp_path / 'other.db'}"

    data = json.loads(sidequest("stats", "--json", "--url", other).output)

    assert data["counts"]["enqueued"] == 0


def test_an_unknown_url_is_one_clear_line(sidequest: Sidequest) -> None:
    result = sidequest("stats", "--url", "mysql://localhost/jobs")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("Error: unknown store URL 'mysql://localhost/jobs'")


def test_a_store_that_cannot_be_opened_is_one_clear_line(sidequest: Sidequest, tmp_path: Path) -> None:
    not_a_database = tmp_path / "notes.txt"
    not_a_database.write_text("these are not the jobs you are looking for\n" * 100)

    result = sidequest("stats", "--url", f"sqlite:///{not_a_database}")

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.output


def test_a_store_that_is_down_is_one_clear_line(sidequest: Sidequest) -> None:
    pytest.importorskip("sidequest.stores.redis")
    started = time.monotonic()

    result = sidequest("stats", "--url", f"redis://127.0.0.1:{free_port()}/0")

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert time.monotonic() - started < 10


def test_history_lists_processed_and_failed_per_day(sidequest: Sidequest, store: Store) -> None:
    beat(store, process(), processed=7, failed_jobs=2)

    table = rows(sidequest("history", "--days", "2").output)

    assert table[0] == ["DAY", "PROCESSED", "FAILED"]
    assert table[1][1:] == ["7", "2"]
    assert table[2][1:] == ["0", "0"]


def test_processes_lists_live_processes_and_their_running_jobs(sidequest: Sidequest, store: Store) -> None:
    job = {"jid": "abc123", "class": "app.workers.ReportWorker", "args": [2024], "queue": "reports"}
    work = WorkInfo("web-1:4242:abc", "tid-7", "reports", job, json.dumps(job), time.time() - 5)
    beat(store, process("web-1:4242:abc"), busy=[work])

    output = sidequest("processes").output

    assert "web-1:4242:abc" in output and "1/10" in output
    job_line = next(line for line in output.splitlines() if "abc123" in line)
    assert "tid-7" in job_line and "app.workers.ReportWorker" in job_line and "[2024]" in job_line


def test_processes_json_is_for_scripts(sidequest: Sidequest, store: Store) -> None:
    beat(store, process("web-1:4242:abc"))

    data = json.loads(sidequest("processes", "--json").output)

    assert [p["identity"] for p in data["processes"]] == ["web-1:4242:abc"]
