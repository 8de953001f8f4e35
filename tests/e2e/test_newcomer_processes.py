"""A newcomer's first ``sidequest run``, as real processes: each mistake the README let them make either
does what they meant or ends with one clear line, and what the process does is in its log."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from processes import SRC, TESTS, SidequestProcess, runs, wait_for
from sidequest.client import Client
from sidequest.stores import open_store
from testapp.workers import ActionWorker

INVOICE_WORKER = """
    import sidequest
    from testapp.workers import record


    class InvoiceWorker(sidequest.Worker):
        def perform(self, invoice_id):
            record(self.jid, f"invoice {invoice_id}")
"""

MAILER_WORKER = """
    import sidequest
    from testapp.workers import record


    class WelcomeMailWorker(sidequest.Worker):
        sidequest_options = {"queue": "mailers"}

        def perform(self, user_id):
            record(self.jid, f"mail {user_id}")
"""

LOUD_WORKER = """
    import logging
    import warnings

    import sidequest
    from testapp.workers import record

    log = logging.getLogger(__name__)


    class LoudWorker(sidequest.Worker):
        def perform(self, card):
            log.info("charging card %s", card)
            self.logger.warning("card %s charged twice?", card)
            warnings.warn(f"card {card}: the old charge API is deprecated")
            record(self.jid, f"charged {card}")
"""

THREAD_LEAVING_WORKER = """
    import threading
    import time

    import sidequest
    from testapp.workers import record


    class ReportWorker(sidequest.Worker):
        def perform(self, report_id):
            # A job that starts a non-daemon thread and returns: Python would wait for it at exit.
            threading.Thread(target=time.sleep, args=(600,), name="left-behind", daemon=False).start()
            record(self.jid, f"report {report_id}")
"""


def write_app(root: Path, files: dict[str, str]) -> None:
    """An application tree under ``root``: ``app/__init__.py`` and ``app/workers/__init__.py`` empty."""
    for package in ("app", "app/workers"):
        (root / package).mkdir(parents=True, exist_ok=True)
        (root / package / "__init__.py").write_text("")
    for relative, source in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in path.relative_to(root).parents:
            if parent != Path(".") and not (root / parent / "__init__.py").exists():
                (root / parent / "__init__.py").write_text("")
        path.write_text(textwrap.dedent(source))


def sidequest_run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``sidequest run ARGS`` that is expected to end at once (a startup error)."""
    env = {"PYTHONPATH": f"{TESTS}:{SRC}", "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "sidequest", "run", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_one_error_line(result: subprocess.CompletedProcess[str], problem: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    assert problem in errors[0]


def started(proc: SidequestProcess) -> bool:
    return "starting:" in proc.output()


# -- loading the workers ---------------------------------------------------------------------------


def test_r_app_workers_with_an_empty_init_runs_the_workers_in_subdirectories(tmp_path: Path) -> None:
    write_app(tmp_path, {"app/workers/billing/invoice_worker.py": INVOICE_WORKER})
    record = tmp_path / "record.txt"
    # A relative SQLite path: the process says which file it really uses.
    store = open_store(f"sqlite:///{tmp_path / 'jobs.db'}")
    jids = [Client(store).enqueue("app.workers.billing.invoice_worker.InvoiceWorker", [n]) for n in range(3)]
    proc = SidequestProcess("sqlite:///jobs.db", tmp_path, ["-r", "app.workers"], record)
    try:
        wait_for(lambda: len(runs(record)) == 3, 30, "the invoice jobs")
        assert set(runs(record).values()) == {1}
    finally:
        assert proc.terminate() == 0
    output = proc.output()
    [loaded] = [line for line in output.splitlines() if "INFO: loaded " in line]
    assert "app.workers, app.workers.billing, app.workers.billing.invoice_worker: " in loaded
    assert "app.workers.billing.invoice_worker.InvoiceWorker" in loaded
    assert f"SQLite store: {tmp_path / 'jobs.db'}" in output
    assert all(jid is not None for jid in jids)
    store.close()


def test_a_run_that_finds_no_worker_class_ends_at_start_with_one_line(tmp_path: Path) -> None:
    write_app(tmp_path, {"app/workers/helpers.py": "def price(n):\n    return n\n"})

    result = sidequest_run(["-r", "app.workers", "--url", "sqlite:///jobs.db"], tmp_path)

    assert_one_error_line(result, "no Worker classes found in app.workers, app.workers.helpers")


def test_a_worker_queue_this_process_does_not_read_is_warned_about_at_start(tmp_path: Path) -> None:
    write_app(tmp_path, {"app/workers/welcome_mail_worker.py": MAILER_WORKER})
    record = tmp_path / "record.txt"
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    proc = SidequestProcess(url, tmp_path, ["-r", "app.workers"], record)
    try:
        wait_for(lambda: started(proc), 30, "the process to start")
    finally:
        assert proc.terminate() == 0
    [warning] = [line for line in proc.output().splitlines() if "queue 'mailers'" in line]
    assert "WARNING:" in warning
    assert "used by app.workers.welcome_mail_worker.WelcomeMailWorker" in warning
    assert "Add -q mailers (e.g. sidequest run -q default -q mailers)" in warning


# -- the application's logs ------------------------------------------------------------------------


def test_application_log_lines_and_warnings_inside_perform_carry_the_job_in_text(tmp_path: Path) -> None:
    write_app(tmp_path, {"app/workers/loud_worker.py": LOUD_WORKER})
    record = tmp_path / "record.txt"
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    store = open_store(url)
    jid = Client(store).enqueue("app.workers.loud_worker.LoudWorker", ["4242"])
    proc = SidequestProcess(url, tmp_path, ["-r", "app.workers"], record)
    try:
        wait_for(lambda: runs(record)["charged 4242"] == 1, 30, "the job")
    finally:
        assert proc.terminate() == 0
    lines = proc.output().splitlines()
    job = f"class=app.workers.loud_worker.LoudWorker jid={jid}"
    [app_line] = [line for line in lines if "charging card 4242" in line]
    [self_line] = [line for line in lines if "card 4242 charged twice?" in line]
    [warning] = [line for line in lines if "the old charge API is deprecated" in line]
    assert f"INFO: {job} charging card 4242" in app_line
    assert f"WARNING: {job} card 4242 charged twice?" in self_line
    assert f"WARNING: {job} " in warning and "UserWarning" in warning
    store.close()


def test_application_log_lines_inside_perform_carry_the_job_in_json(tmp_path: Path) -> None:
    write_app(tmp_path, {"app/workers/loud_worker.py": LOUD_WORKER})
    record = tmp_path / "record.txt"
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    store = open_store(url)
    jid = Client(store).enqueue("app.workers.loud_worker.LoudWorker", ["77"])
    proc = SidequestProcess(url, tmp_path, ["-r", "app.workers", "--log-format", "json"], record)
    try:
        wait_for(lambda: runs(record)["charged 77"] == 1, 30, "the job")
    finally:
        assert proc.terminate() == 0
    records = [json.loads(line) for line in proc.output().splitlines() if line.startswith("{")]
    by_message = {record["msg"]: record for record in records}
    for message, logger in [
        ("charging card 77", "app.workers.loud_worker"),
        ("card 77 charged twice?", "app.workers.loud_worker.LoudWorker"),
    ]:
        assert by_message[message]["class"] == "app.workers.loud_worker.LoudWorker"
        assert by_message[message]["jid"] == jid
        assert by_message[message]["logger"] == logger
    [warning] = [record for record in records if record["logger"] == "py.warnings"]
    assert warning["jid"] == jid and "the old charge API is deprecated" in warning["msg"]
    assert len(records) == len(proc.output().splitlines())  # every line one JSON object, none twice
    assert sum(1 for record in records if record["msg"] == "charging card 77") == 1
    store.close()


def test_a_class_or_jid_with_a_newline_does_not_forge_a_log_line(tmp_path: Path) -> None:
    record = tmp_path / "record.txt"
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    store = open_store(url)
    client = Client(store)
    forged = "app.workers.Nope\nFORGED 2026-11-28T00:00:00.000Z pid=1 tid=x INFO: class=app.Admin done"
    client.push({"class": forged, "args": [], "jid": "abc\r\nFORGED jid line"})
    client.enqueue(ActionWorker, ["ok", "after"])
    proc = SidequestProcess(url, tmp_path, [], record)
    try:
        wait_for(lambda: runs(record)["after"] == 1, 30, "the good job")
        wait_for(lambda: store.counts().retry == 1, 30, "the bad job to be recorded for retry")
    finally:
        assert proc.terminate() == 0
    lines = proc.output().splitlines()
    assert not [line for line in lines if line.startswith("FORGED")]
    assert any("class=app.workers.Nope\\nFORGED 2026" in line for line in lines)
    [entry] = store.list_set("retry")
    assert entry.payload is not None and entry.payload["error_class"] == "sidequest.errors.UnknownWorkerError"
    store.close()


# -- startup errors are one line ---------------------------------------------------------------------


@pytest.mark.parametrize("level", ["LOUD", "infoo"])
def test_an_invalid_log_level_is_one_error_line(tmp_path: Path, level: str) -> None:
    result = sidequest_run(["-r", "testapp.workers", "--log-level", level], tmp_path)

    assert_one_error_line(result, "Invalid value for '--log-level'")


def test_a_log_level_in_lower_case_is_fine(tmp_path: Path) -> None:
    proc = SidequestProcess(f"sqlite:///{tmp_path / 'jobs.db'}", tmp_path, ["--log-level", "debug"])
    try:
        wait_for(lambda: started(proc), 30, "the process to start")
    finally:
        assert proc.terminate() == 0


def test_a_redis_nobody_answers_yet_is_waited_for_with_one_line_per_attempt(tmp_path: Path) -> None:
    # An outage at start (Redis not up yet during a deploy) is retried, not a crash: only configuration
    # errors end the command. TERM while waiting ends it at once, with nothing held.
    proc = SidequestProcess("redis://127.0.0.1:1/0", tmp_path)
    wait_for(lambda: proc.output().count("cannot reach the store yet") >= 2, 20, "two attempts")
    assert proc.process.poll() is None
    assert proc.terminate(10) == 0
    output = proc.output()
    assert "Traceback" not in output
    assert "Connection refused" in output and "redis://127.0.0.1:1/0" in output


def test_a_file_that_is_not_a_sqlite_database_is_one_error_line(tmp_path: Path) -> None:
    (tmp_path / "jobs.db").write_bytes(b"these are my notes, not a database\n" * 200)

    result = sidequest_run(["-r", "testapp.workers", "--url", "sqlite:///jobs.db"], tmp_path)

    assert_one_error_line(result, "file is not a database")


def test_an_unknown_store_url_is_one_error_line(tmp_path: Path) -> None:
    result = sidequest_run(["-r", "testapp.workers", "--url", "mysql://localhost/jobs"], tmp_path)

    assert_one_error_line(result, "unknown store URL 'mysql://localhost/jobs'")


# -- exit -------------------------------------------------------------------------------------------


def test_a_job_that_left_a_non_daemon_thread_does_not_keep_the_process_alive_after_term(
    tmp_path: Path,
) -> None:
    write_app(tmp_path, {"app/workers/report_worker.py": THREAD_LEAVING_WORKER})
    record = tmp_path / "record.txt"
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    store = open_store(url)
    Client(store).enqueue("app.workers.report_worker.ReportWorker", [1])
    Client(store).enqueue(ActionWorker, ["ok", "other"])
    proc = SidequestProcess(url, tmp_path, ["-r", "app.workers"], record)
    wait_for(lambda: runs(record)["report 1"] == 1 and runs(record)["other"] == 1, 30, "both jobs")

    # The thread sleeps for 600 s: without the explicit exit, TERM would leave the process waiting on it.
    assert proc.terminate(timeout=60) == 0

    assert "INFO: bye" in proc.output().rstrip().splitlines()[-1]
    assert store.counts().enqueued == 0 and store.counts().retry == 0
    store.close()
