"""``log_job_line``: a job's start and done lines made without a LogRecord are the lines ``logger.info``
makes, and anything an application hooked onto the loggers still sees them."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sidequest.runtime.job_events import done_text
from sidequest.runtime.logs import flush_logging, job_line_sink, job_log_context, log_job_line, setup_logging

log = logging.getLogger("sidequest.runtime.executor")
FIELDS = {"jid": "j1", "job_class": "app.workers.Charge", "queue": "default"}


class LogFile:
    """The file ``setup_logging``'s stderr is, in a test."""

    def __init__(self, path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.path = path
        self.stream = path.open("w")
        self.monkeypatch = monkeypatch

    def start(self, fmt: str, level: str = "INFO") -> None:
        """``setup_logging`` writing to this file (set in the test itself: pytest's capture puts its
        own stderr back between a fixture and the test)."""
        self.monkeypatch.setattr(sys, "stderr", self.stream)
        setup_logging(fmt, level)

    def lines(self) -> list[str]:
        flush_logging()
        return self.path.read_text().splitlines()


@pytest.fixture
def log_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LogFile]:
    """A :class:`LogFile`; the loggers are put back afterwards."""
    loggers = [log, logging.getLogger("sidequest"), logging.getLogger()]
    saved = [(lg, list(lg.handlers), lg.level, lg.propagate, list(lg.filters)) for lg in loggers]
    target = LogFile(tmp_path / "stderr.log", monkeypatch)
    yield target
    flush_logging()
    for lg, handlers, level, propagate, filters in saved:
        for handler in [h for h in lg.handlers if h not in handlers]:
            lg.removeHandler(handler)
            handler.close()
        lg.setLevel(level)
        lg.propagate = propagate
        lg.filters[:] = filters
    logging.captureWarnings(False)
    target.stream.close()


def test_the_fast_text_line_is_the_line_logger_info_writes(log_file: LogFile) -> None:
    log_file.start("text")
    log.info("start", extra=FIELDS)
    log_job_line(log, "start", FIELDS)
    log.info("done: %.3f s", 0.25, extra={**FIELDS, "elapsed": 0.25})
    log_job_line(log, f"done: {0.25:.3f} s", {**FIELDS, "elapsed": 0.25})
    slow_start, fast_start, slow_done, fast_done = (line.split(" ", 1)[1] for line in log_file.lines())
    assert fast_start == slow_start
    assert fast_done == slow_done
    assert fast_done.endswith("INFO: class=app.workers.Charge jid=j1 done: 0.250 s")


def test_the_fast_json_line_is_the_object_logger_info_writes(log_file: LogFile) -> None:
    log_file.start("json")
    log.info("done: %.3f s", 0.25, extra={**FIELDS, "elapsed": 0.25})
    log_job_line(log, f"done: {0.25:.3f} s", {**FIELDS, "elapsed": 0.25})
    slow, fast = (json.loads(line) for line in log_file.lines())
    assert abs(slow.pop("ts") - fast.pop("ts")) < 5
    assert fast == slow
    assert fast["class"] == "app.workers.Charge" and fast["elapsed"] == 0.25 and fast["queue"] == "default"


ODD_PAYLOADS = [
    {"class": "app.workers.Charge", "jid": "0123456789abcdef01234567"},
    {"class": "app.workers.Charge", "jid": "0123456789abcdef01234567"},  # now remembered
    {"class": "app.workers.Refund", "jid": "j\n2026-11-28T00:00:00.000Z pid=1 tid=1 ERROR: forged"},
    {"class": "X\r\u2028Y", "jid": "j3"},
    {"class": "app.workers.Charge", "jid": None},
    {"class": "app.workers.Charge", "jid": 42},
    {"class": 7, "jid": "j4"},
    {"class": None, "jid": "j5"},
    {"class": ["not", "hashable"], "jid": "j6"},
]
SECONDS = [None, 0.0, 0.0004, 0.0005, 0.25, 0.9996, 1.5, 61.25, 86_400.123]


def test_the_lines_a_job_thread_hands_over_are_the_lines_logger_info_writes(log_file: LogFile) -> None:
    """The start and done lines made in the writer's thread from what the job's thread handed over
    are, past the time, the records' lines: for the common payload and for every odd one."""
    log_file.start("text")
    sink = job_line_sink(log)
    assert getattr(sink, "__name__", None) == "put_event"  # the events' path, not logger.info's
    expected: list[str] = []
    for payload in ODD_PAYLOADS:
        for seconds in SECONDS:
            fields = {"job_class": payload["class"], "jid": payload["jid"], "queue": "default"}
            message = "start" if seconds is None else done_text(seconds)
            log.info(message, extra=fields)
            sink(seconds, {**payload, "queue": "default"})
            expected.append(message)
    lines = [line.split(" ", 1)[1] for line in log_file.lines()]
    assert len(lines) == 2 * len(expected)
    for (record_line, event_line), message in zip(
        zip(lines[::2], lines[1::2], strict=True), expected, strict=True
    ):
        assert event_line == record_line
        assert event_line.endswith(" " + message)


def test_a_done_line_says_the_seconds_to_the_millisecond() -> None:
    assert [done_text(s) for s in (0.0, 0.0004, 0.0005, 0.25, 0.9996, 1.5, 61.25, 86_400.123)] == [
        "done: 0.000 s",
        "done: 0.000 s",
        "done: 0.001 s",
        "done: 0.250 s",
        "done: 1.000 s",
        "done: 1.500 s",
        "done: 61.250 s",
        "done: 86400.123 s",
    ]


def test_a_fast_line_with_a_forged_class_stays_one_line(log_file: LogFile) -> None:
    log_file.start("text")
    forged = "X\n2026-11-28T00:00:00.000Z pid=1 tid=1 ERROR: forged"
    log_job_line(log, "start", {**FIELDS, "job_class": forged})
    [line] = log_file.lines()
    assert "class=X\\n2026-11-28T00:00:00.000Z" in line


def test_a_fast_line_without_a_jid_takes_the_running_jobs(log_file: LogFile) -> None:
    log_file.start("text")
    with job_log_context("app.workers.Refund", "j9"):
        log_job_line(log, "start", {"queue": "default"})
    [line] = log_file.lines()
    assert line.endswith("INFO: class=app.workers.Refund jid=j9 start")


def test_an_application_filter_and_handler_still_see_every_job_line(log_file: LogFile) -> None:
    log_file.start("text")
    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(f"{record.getMessage()} {getattr(record, 'jid', None)}")

    def hide_refunds(record: logging.LogRecord) -> bool:
        return getattr(record, "job_class", "") != "app.workers.Refund"

    logging.getLogger("sidequest").addHandler(Collect())
    log_job_line(log, "start", FIELDS)
    log.addFilter(hide_refunds)  # a logger's filters apply to the records made on it
    log_job_line(log, "start", {**FIELDS, "job_class": "app.workers.Refund", "jid": "j2"})
    log_job_line(log, "done: 0.001 s", FIELDS)
    assert seen == ["start j1", "done: 0.001 s j1"]
    start, done = log_file.lines()
    assert start.endswith("jid=j1 start") and done.endswith("jid=j1 done: 0.001 s")


def test_no_job_line_below_the_level(log_file: LogFile) -> None:
    log_file.start("text", "WARNING")
    log_job_line(log, "start", FIELDS)
    assert log_file.lines() == []
