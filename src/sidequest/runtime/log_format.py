"""How a log record reads: one text line for people, or one JSON object per line for machines, with
the job's class and jid; control characters escaped so no payload can forge a line.

:class:`TextFormatter` and :class:`JSONFormatter` format records; their ``job_line`` makes the same
line from parts, which is how :mod:`sidequest.runtime.logs` writes a job's start and done lines without
a ``LogRecord`` (and :mod:`sidequest.runtime.job_events` a whole batch of them in the text format).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import orjson

from sidequest.runtime.trace_ids import current_trace_ids

JOB_FIELDS = ("job_class", "jid", "queue", "elapsed")
TRACEBACK_FIELD = "traceback"
"""``extra={"traceback": text}``: stack text shown below a record's line (a thread dump), as a traceback
is; the message itself stays on one line."""
TRACEBACK_INDENT = "    "

# Control characters shown as escapes in text lines: a payload's class or jid (or an error message
# made from one) holding "\n2026-... INFO: ..." would otherwise print a second, forged log line.
_ESCAPES = MappingProxyType(
    {
        **{code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0))},
        **{ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t", 0x2028: "\\u2028", 0x2029: "\\u2029"},
    }
)


def escape(text: str) -> str:
    """``text`` on one line: newlines, carriage returns and other control characters as escapes."""
    # isprintable() is False for every character _ESCAPES maps (and for a few it leaves alone): the
    # common clean text skips the slower translate.
    return text if text.isprintable() else text.translate(_ESCAPES)


class TextFormatter(logging.Formatter):
    """``2026-11-28T00:00:00.123Z pid=42 tid=abc INFO: class=app.workers.X jid=... start``

    One record is one line: control characters in the fields and the message are escaped. Only a
    traceback (``exc_info``, ``stack_info``, or the ``traceback`` extra) adds lines after it, each one
    indented, so no text inside it (an exception message made from a payload) starts a line that looks
    like a record.
    """

    def __init__(self) -> None:
        super().__init__()
        # The "2026-11-28T00:00:00" part, made once per second rather than with strftime per record.
        # One tuple, replaced whole: threads formatting at once never pair one second with another's text.
        self._stamp: tuple[int, str] = (-1, "")

    def format(self, record: logging.LogRecord) -> str:
        fields = record.__dict__
        line = self.job_line(
            record.created,
            record.msecs,
            record.process,
            fields.get("thread_id_b36", ""),
            record.levelname,
            record.name,
            record.getMessage(),
            fields,
        )
        blocks = [fields.get(TRACEBACK_FIELD)]
        if record.exc_info:
            blocks.append(self.formatException(record.exc_info))
        if record.stack_info:
            blocks.append(self.formatStack(record.stack_info))
        for block in blocks:
            if isinstance(block, str) and block:
                line += "".join(f"\n{TRACEBACK_INDENT}{escape(text)}" for text in block.splitlines())
        return line

    def job_line(
        self,
        created: float,
        msecs: float,
        pid: int | None,
        tid: str,
        levelname: str,
        name: str,
        message: str,
        fields: Mapping[str, Any],
    ) -> str:
        """The line of a record without a traceback, from its parts (a record's, or the fast path's of
        :func:`log_job_line`, so both write the same line)."""
        second = int(created)
        cached, stamp = self._stamp
        if second != cached:
            stamp = utc_second(second)
            self._stamp = (second, stamp)
        job_class = fields.get("job_class")
        jid = fields.get("jid")
        prefix = class_prefix(job_class)
        if jid is not None:
            prefix += f"jid={escape(str(jid))} "
        return f"{stamp}.{int(msecs):03d}Z pid={pid} tid={tid} {levelname}: {prefix}{escape(message)}"


def utc_second(second: int) -> str:
    """``"2026-11-28T00:00:00"``: the part of a text line's time before its milliseconds (UTC)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))


def class_prefix(job_class: Any) -> str:
    """``"class=C "`` of a job line, escaped as :func:`escape` does (``""`` without a class)."""
    if job_class is None:
        return ""
    return f"class={escape(job_class if isinstance(job_class, str) else str(job_class))} "


MILLIS = tuple(f"{ms:03d}" for ms in range(1000))
"""The millisecond part of a text line, by value: a lookup instead of a format per line."""


class JSONFormatter(logging.Formatter):
    """One JSON object per line: ts, pid, tid, lvl, msg, the job fields when present, and
    ``trace_id``/``span_id`` when an OpenTelemetry span is current (see :mod:`.trace_ids`)."""

    def format(self, record: logging.LogRecord) -> str:
        fields = record.__dict__
        data = self.job_data(
            record.created,
            record.process,
            fields.get("thread_id_b36", ""),
            record.levelname,
            record.name,
            record.getMessage(),
            fields,
        )
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        if record.stack_info:
            data["stack"] = self.formatStack(record.stack_info)
        if isinstance(fields.get(TRACEBACK_FIELD), str):
            data[TRACEBACK_FIELD] = fields[TRACEBACK_FIELD]
        return orjson.dumps(data, default=str).decode()

    def job_data(
        self,
        created: float,
        pid: int | None,
        tid: str,
        levelname: str,
        name: str,
        message: str,
        fields: Mapping[str, Any],
    ) -> dict[str, Any]:
        """The object of a record without a traceback, from its parts."""
        data: dict[str, Any] = {
            "ts": round(created, 6),
            "pid": pid,
            "tid": tid,
            "lvl": levelname,
            "msg": message,
            "logger": name,
        }
        for field in JOB_FIELDS:
            value = fields.get(field)
            if value is not None:
                data["class" if field == "job_class" else field] = value
        ids = current_trace_ids()
        if ids is not None:
            data["trace_id"], data["span_id"] = ids
        return data

    def job_line(
        self,
        created: float,
        msecs: float,
        pid: int | None,
        tid: str,
        levelname: str,
        name: str,
        message: str,
        fields: Mapping[str, Any],
    ) -> str:
        """The line of a record without a traceback, from its parts (see :meth:`TextFormatter.job_line`)."""
        return orjson.dumps(
            self.job_data(created, pid, tid, levelname, name, message, fields), default=str
        ).decode()
