"""sidequest's log lines: one record is one line, whatever a payload holds, with the job's class and jid."""

from __future__ import annotations

import json
import logging

from sidequest.runtime.log_format import JSONFormatter, TextFormatter, escape
from sidequest.runtime.logs import job_log_context

FORGED = "app.workers.X\n2026-11-28T00:00:00.000Z pid=1 tid=x INFO: class=Admin jid=1 done"


def record(message: str, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("sidequest.job", logging.INFO, __file__, 1, message, (), None)
    made.__dict__.update(extra)
    return made


def test_a_class_or_jid_with_a_newline_cannot_start_a_second_log_line() -> None:
    line = TextFormatter().format(record("start", job_class=FORGED, jid="abc\r\ndef"))

    assert "\n" not in line and "\r" not in line
    assert "class=app.workers.X\\n2026-11-28T00:00:00.000Z" in line
    assert "jid=abc\\r\\ndef start" in line


def test_a_message_made_from_a_payload_stays_on_one_line_and_a_traceback_is_indented() -> None:
    try:
        raise RuntimeError(FORGED)
    except RuntimeError:
        import sys

        failed = record(f"unknown worker class {FORGED}\x1b[31m")
        failed.exc_info = sys.exc_info()
    first, *rest = TextFormatter().format(failed).split("\n")

    assert first.endswith("class=Admin jid=1 done\\x1b[31m")
    assert rest[0] == "    Traceback (most recent call last):"
    assert all(line.startswith("    ") for line in rest)
    assert rest[-2:] == [
        "    RuntimeError: app.workers.X",
        "    2026-11-28T00:00:00.000Z pid=1 tid=x INFO: class=Admin jid=1 done",
    ]


def test_a_thread_dump_given_as_traceback_text_keeps_its_lines_indented_below_the_record() -> None:
    dump = record(
        "thread dump (TTIN)", traceback='Thread MainThread (1):\n  File "x.py", line 1, in <module>'
    )

    assert TextFormatter().format(dump).split("\n")[1:] == [
        "    Thread MainThread (1):",
        '      File "x.py", line 1, in <module>',
    ]


def test_escape_keeps_ordinary_text_as_it_is() -> None:
    assert escape("Zøg's invoice #42 — paid") == "Zøg's invoice #42 — paid"
    assert escape("a\tb\x00c\x7f") == "a\\tb\\x00c\\x7f"


def test_json_lines_carry_class_and_jid_and_need_no_escaping_to_stay_one_line() -> None:
    line = JSONFormatter().format(record("start", job_class=FORGED, jid="j1"))

    assert "\n" not in line
    data = json.loads(line)
    assert (data["class"], data["jid"], data["msg"]) == (FORGED, "j1", "start")


def test_the_job_context_names_the_job_only_inside_the_block() -> None:
    from sidequest.runtime.logs import CURRENT_JOB

    with job_log_context("app.workers.HardWorker", "j2"):
        assert CURRENT_JOB.get() == ("app.workers.HardWorker", "j2")
    assert CURRENT_JOB.get() is None
