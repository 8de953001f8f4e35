"""Log lines for people (text) or machines (one JSON object per line), with the job's class and jid.

``sidequest run`` sends both sidequest's records and the application's (the root logger, and
``warnings.warn`` through ``py.warnings``) to one handler on stderr, so a ``logging.getLogger(__name__)``
line inside ``perform`` appears in the process's log, in its format, with the job's class and jid.

The handler formats each record in the thread that made it and hands the line to a
:class:`~sidequest.runtime.log_writer.LogWriter`, whose thread writes lines in batches (one system call
for many lines, no lock per record). :func:`log_job_line` makes a job's start and done lines without a
LogRecord at all when only that handler would see them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

import orjson

from sidequest.runtime.log_writer import LogWriter
from sidequest.runtime.trace_ids import current_trace_ids

JOB_FIELDS = ("job_class", "jid", "queue", "elapsed")
TRACEBACK_FIELD = "traceback"
"""``extra={"traceback": text}``: stack text shown below a record's line (a thread dump), as a traceback
is; the message itself stays on one line."""
TRACEBACK_INDENT = "    "
LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
"""The levels ``--log-level`` accepts (any case)."""

CURRENT_JOB: ContextVar[tuple[str, str] | None] = ContextVar("sidequest_current_job", default=None)
"""``(class, jid)`` of the job the current thread or task is performing; None outside a job. Log
records made inside ``perform`` (by sidequest or by the application) carry them."""

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


@contextmanager
def job_log_context(job_class: str, jid: str) -> Iterator[None]:
    """Mark the code inside the block as performing job ``jid`` of ``job_class`` (for log records)."""
    token = CURRENT_JOB.set((job_class, jid))
    try:
        yield
    finally:
        CURRENT_JOB.reset(token)


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
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._stamp = (second, stamp)
        job_class = fields.get("job_class")
        jid = fields.get("jid")
        prefix = "" if job_class is None else f"class={escape(str(job_class))} "
        if jid is not None:
            prefix += f"jid={escape(str(jid))} "
        return f"{stamp}.{int(msecs):03d}Z pid={pid} tid={tid} {levelname}: {prefix}{escape(message)}"


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


class _JobContextFilter(logging.Filter):
    """Adds the thread id, and the class and jid of the job being performed to a record that does not
    name them itself, whichever logger made it (sidequest's, the application's, ``py.warnings``)."""

    MAX_THREADS = 4096
    """Thread ids remembered; past that the memo starts again (threads come and go for months)."""

    def __init__(self) -> None:
        super().__init__()
        # Imported here, once, not at the top (processors imports the executor, which imports this
        # module) and not per record.
        from sidequest.runtime.processors import thread_id

        self._thread_id = thread_id
        # (thread ident, pid) -> Sidekiq-style tid, computed once per thread rather than per record;
        # the pid is in the key because a forked child's threads get other tids.
        self._tids: dict[tuple[int, int], str] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        # The calling thread's ident, not record.thread: that is None under logging.logThreads = False.
        pid = record.process if record.process is not None else os.getpid()
        record.thread_id_b36 = self.tid(threading.get_ident(), pid)
        current = CURRENT_JOB.get()
        if current is not None and record.__dict__.get("jid") is None:
            record.job_class, record.jid = current
        return True

    def tid(self, ident: int, pid: int) -> str:
        """The tid of the calling thread (whose ``threading.get_ident()`` is ``ident``) in process ``pid``."""
        key = (ident, pid)
        tid = self._tids.get(key)
        if tid is None:
            if len(self._tids) >= self.MAX_THREADS:
                self._tids.clear()
            tid = self._tids[key] = self._thread_id()
        return tid


class _StderrHandler(logging.Handler):
    """Formats each record in the thread that made it (its job context and arguments as they are
    then) and hands the line to a :class:`LogWriter`, which writes to whatever ``sys.stderr`` is at the
    time of the write, not when the handler was made (a test that swapped stderr and put it back must
    not leave a handler writing to a closed stream)."""

    def __init__(self) -> None:
        super().__init__()
        self.writer = LogWriter(lambda: sys.stderr)
        self.context = _JobContextFilter()
        self.addFilter(self.context)

    def job_line_writer(self) -> Callable[[str, str, Mapping[str, Any]], None] | None:
        """:meth:`emit_job_line` when this handler writes a record exactly as that does (its own
        formatter, its own filter only, a level that lets INFO through), else None."""
        formatter = self.formatter
        if (
            type(formatter) not in (TextFormatter, JSONFormatter)
            or self.level > logging.INFO
            or len(self.filters) != 1
            or self.filters[0] is not self.context
        ):
            return None
        return self.emit_job_line

    def emit_job_line(self, name: str, message: str, fields: Mapping[str, Any]) -> None:
        """Write the INFO line a record from logger ``name`` with ``message`` and ``extra=fields``
        would make, without making the record: what it would hold is computed as LogRecord does."""
        created = time.time()
        pid = os.getpid()
        tid = self.context.tid(threading.get_ident(), pid)
        if fields.get("jid") is None:
            current = CURRENT_JOB.get()
            if current is not None:
                fields = {**fields, "job_class": current[0], "jid": current[1]}
        formatter: Any = self.formatter  # TextFormatter or JSONFormatter: job_line_writer checked it
        msecs = int((created - int(created)) * 1000) + 0.0  # as LogRecord computes it
        self.writer.put(formatter.job_line(created, msecs, pid, tid, "INFO", name, message, fields), pid)

    def handle(self, record: logging.LogRecord) -> bool:
        """Filter and emit without the handler lock: the writer's queue is safe for any number of
        threads, and a lock taken per record is what made ten job threads wait on each other."""
        if not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self.writer.put(line, record.process or 0)

    def flush(self) -> None:
        """Write every line handed over so far (``logging.shutdown`` calls this at exit)."""
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
        super().close()


def log_job_line(logger: logging.Logger, message: str, fields: Mapping[str, Any]) -> None:
    """``logger.info(message, extra=fields)`` (``message`` already formatted) for the start and done
    lines of every job: the same line, at a fraction of the cost.

    When nothing but :func:`setup_logging`'s handler would see the record (no other handler, no filter
    on the way, the standard record factory), the line is made from its parts and handed to the
    writer; a LogRecord costs more than the rest of a no-op job. Otherwise, or if making the line
    fails, it is an ordinary ``logger.info`` call, so whatever an application configured applies.
    """
    if not logger.isEnabledFor(logging.INFO):
        return
    writer = _job_line_writer(logger)
    if writer is not None:
        try:
            writer(logger.name, message, fields)
            return
        except Exception:  # a field whose str() raises: the ordinary path reports it through handleError
            pass
    logger.info(message, extra=dict(fields), stacklevel=2)


def _job_line_writer(logger: logging.Logger) -> Callable[[str, str, Mapping[str, Any]], None] | None:
    """The fast writer of the only handler ``logger``'s records would reach, or None when anything else
    (another handler, a filter, a record factory) would see them too."""
    if logging.getLogRecordFactory() is not logging.LogRecord:
        return None
    found: _StderrHandler | None = None
    node: logging.Logger | None = logger
    while node is not None:
        if node.filters or node.disabled:
            return None
        for handler in node.handlers:
            if found is not None or not isinstance(handler, _StderrHandler):
                return None
            found = handler
        if not node.propagate:
            break
        node = node.parent
    return None if found is None else found.job_line_writer()


def check_level(level: str) -> str:
    """``level`` in upper case, or :class:`ValueError` naming the levels there are."""
    upper = level.upper()
    if upper not in LEVELS:
        raise ValueError(f"unknown log level {level!r}: use one of {', '.join(LEVELS)}")
    return upper


def setup_logging(fmt: str = "text", level: str = "INFO") -> None:
    """Send sidequest's logs, the application's (the root logger) and ``warnings.warn`` to stderr in
    ``fmt`` ("text" or "json") at ``level``, one handler for all, each record written once.

    Raises :class:`ValueError` for an unknown level (before anything is changed).
    """
    upper = check_level(level)
    handler = _StderrHandler()
    handler.setFormatter(JSONFormatter() if fmt == "json" else TextFormatter())
    # sidequest's logger does not propagate, so its records reach this handler once, not again through
    # the root logger; the application's records reach it through the root logger.
    for logger in (logging.getLogger("sidequest"), logging.getLogger()):
        for old in [h for h in logger.handlers if isinstance(h, _StderrHandler)]:
            logger.removeHandler(old)
            old.close()  # its last lines, before the new handler's; and its thread stops
        logger.addHandler(handler)
        logger.setLevel(upper)
    logging.getLogger("sidequest").propagate = False
    logging.captureWarnings(True)


def flush_logging() -> None:
    """Flush every handler of sidequest's and the root logger (before the process ends with
    ``os._exit``, which flushes nothing): ``setup_logging``'s handler writes every line its writer
    thread has not written yet before this returns."""
    for logger in (logging.getLogger("sidequest"), logging.getLogger()):
        for handler in logger.handlers:
            with contextlib.suppress(Exception):  # a closed stream at exit: nobody is left to tell
                handler.flush()
