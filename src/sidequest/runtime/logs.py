"""Log lines for people (text) or machines (one JSON object per line), with the job's class and jid.

``sidequest run`` sends both sidequest's records and the application's (the root logger, and
``warnings.warn`` through ``py.warnings``) to one handler on stderr, so a ``logging.getLogger(__name__)``
line inside ``perform`` appears in the process's log, in its format, with the job's class and jid.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

import orjson

from sidequest.runtime.log_writer import LogWriter

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
        self._second = -1
        self._stamp = ""

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        fields = record.__dict__
        job_class = fields.get("job_class")
        jid = fields.get("jid")
        prefix = "" if job_class is None else f"class={escape(str(job_class))} "
        if jid is not None:
            prefix += f"jid={escape(str(jid))} "
        tid = fields.get("thread_id_b36", "")
        line = (
            f"{self._stamp}.{int(record.msecs):03d}Z pid={record.process} tid={tid} "
            f"{record.levelname}: {prefix}{escape(record.getMessage())}"
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


class JSONFormatter(logging.Formatter):
    """One JSON object per line: ts, pid, tid, lvl, msg, and the job fields when present."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": round(record.created, 6),
            "pid": record.process,
            "tid": getattr(record, "thread_id_b36", ""),
            "lvl": record.levelname,
            "msg": record.getMessage(),
            "logger": record.name,
        }
        for name in JOB_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                data["class" if name == "job_class" else name] = value
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        if record.stack_info:
            data["stack"] = self.formatStack(record.stack_info)
        if isinstance(getattr(record, TRACEBACK_FIELD, None), str):
            data[TRACEBACK_FIELD] = getattr(record, TRACEBACK_FIELD)
        return orjson.dumps(data, default=str).decode()


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
        self._tids: dict[tuple[int | None, int | None], str] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.thread, record.process)
        tid = self._tids.get(key)
        if tid is None:
            if len(self._tids) >= self.MAX_THREADS:
                self._tids.clear()
            tid = self._tids[key] = self._thread_id()
        record.thread_id_b36 = tid
        current = CURRENT_JOB.get()
        if current is not None and record.__dict__.get("jid") is None:
            record.job_class, record.jid = current
        return True


class _StderrHandler(logging.Handler):
    """Formats each record in the thread that made it (its job context and arguments as they are
    then) and hands the line to a :class:`LogWriter`, which writes to whatever ``sys.stderr`` is at the
    time of the write, not when the handler was made (a test that swapped stderr and put it back must
    not leave a handler writing to a closed stream)."""

    def __init__(self) -> None:
        super().__init__()
        self.writer = LogWriter(lambda: sys.stderr)

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
    handler.addFilter(_JobContextFilter())
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
    ``os._exit``, which flushes nothing)."""
    for logger in (logging.getLogger("sidequest"), logging.getLogger()):
        for handler in logger.handlers:
            with contextlib.suppress(Exception):  # a closed stream at exit: nobody is left to tell
                handler.flush()
