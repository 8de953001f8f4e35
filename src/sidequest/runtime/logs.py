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
import functools
import logging
import math
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from threading import get_ident
from typing import Any

from sidequest.runtime.job_events import JobEventLines, done_text
from sidequest.runtime.log_format import JSONFormatter, TextFormatter
from sidequest.runtime.log_writer import LogWriter

LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
"""The levels ``--log-level`` accepts (any case)."""

CURRENT_JOB: ContextVar[tuple[str, str] | None] = ContextVar("sidequest_current_job", default=None)
"""``(class, jid)`` of the job the current thread or task is performing; None outside a job. Log
records made inside ``perform`` (by sidequest or by the application) carry them."""


@contextmanager
def job_log_context(job_class: str, jid: str) -> Iterator[None]:
    """Mark the code inside the block as performing job ``jid`` of ``job_class`` (for log records)."""
    token = CURRENT_JOB.set((job_class, jid))
    try:
        yield
    finally:
        CURRENT_JOB.reset(token)


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
        """The tid of the thread whose ``threading.get_ident()`` is ``ident``, in process ``pid``."""
        key = (ident, pid)
        tid = self._tids.get(key)
        if tid is None:
            if len(self._tids) >= self.MAX_THREADS:
                self._tids.clear()
            tid = self._tids[key] = self._thread_id(ident, pid)
        return tid


class _StderrHandler(logging.Handler):
    """Formats each record in the thread that made it (its job context and arguments as they are
    then) and hands the line to a :class:`LogWriter`, which writes to whatever ``sys.stderr`` is at the
    time of the write, not when the handler was made (a test that swapped stderr and put it back must
    not leave a handler writing to a closed stream)."""

    MAX_THREADS = 4096
    """``"pid=P tid=T"`` prefixes remembered, one per thread that logged a job line."""

    def __init__(self) -> None:
        super().__init__()
        self.writer = LogWriter(lambda: sys.stderr, render=self._render)
        self.context = _JobContextFilter()
        self.addFilter(self.context)
        # The pid without a system call per job line; a forked child corrects it (the hook holds the
        # handler weakly: a handler that is gone is not kept alive by it).
        self.pid = os.getpid()
        self._who: dict[int, str] = {}
        self._events = JobEventLines()
        os.register_at_fork(after_in_child=functools.partial(_after_fork, weakref.ref(self)))

    def forked(self) -> None:
        """In a forked child: its own pid, and its threads' prefixes made again."""
        self.pid = os.getpid()
        self._who = {}

    def event_writer(self) -> _StderrHandler | None:
        """This handler when it writes job events itself (:meth:`put_event`): the text format, and
        nothing else a record would pass through; else None."""
        if type(self.formatter) is not TextFormatter or self.job_line_writer() is None:
            return None
        return self

    def put_event(self, done_in: float | None, payload: Mapping[str, Any]) -> None:
        """Hand over a job's start line (``done_in`` None) or done line: the time, the thread and the
        payload's class and jid are taken now, and the writer thread makes the line
        (:class:`~sidequest.runtime.job_events.JobEventLines`), in order with every other line."""
        event = (time.time(), get_ident(), done_in, payload.get("class"), payload.get("jid"))
        writer = self.writer
        if writer.owner_pid != self.pid:
            writer.put(event, self.pid)
            return
        pending = writer.pending  # LogWriter.put, inline (every job's two lines pass here)
        pending.append(event)
        if writer.idle or len(pending) >= writer.max_pending:
            writer.kick()

    def _who_is(self, ident: int) -> str:
        who = self._who.get(ident)
        if who is None:
            if len(self._who) >= self.MAX_THREADS:
                self._who.clear()
            pid = self.pid
            who = self._who[ident] = f"pid={pid} tid={self.context.tid(ident, pid)}"
        return who

    def _render(self, items: list[str | tuple[Any, ...]]) -> list[str]:
        """The writer thread's batch as lines: job events made into the lines their records would
        make (through real records if the formatter changed after they were handed over)."""
        if type(self.formatter) is TextFormatter:
            return self._events.lines(items, self._who_is)
        return [item if isinstance(item, str) else self._event_record(item) for item in items]

    def _event_record(self, event: tuple[Any, ...]) -> str:
        created, ident, done_in, job_class, jid = event
        message = "start" if done_in is None else done_text(done_in)
        record = logging.makeLogRecord(
            {"name": "sidequest", "msg": message, "levelname": "INFO", "levelno": logging.INFO}
        )
        record.created, record.msecs, record.process = (
            created,
            int((created - int(created)) * 1000) + 0.0,
            self.pid,
        )
        record.__dict__.update(job_class=job_class, jid=jid, thread_id_b36=self.context.tid(ident, self.pid))
        if done_in is not None:
            record.__dict__["elapsed"] = round(done_in, 6)
        return self.format(record)

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


JobLineSink = Callable[[float | None, Mapping[str, Any]], None]
"""Writes a job's start line (``None``) or done line (the seconds ``perform`` took) for its payload."""


def job_line_sink(logger: logging.Logger) -> JobLineSink | None:
    """Where a job's ``start`` and ``done: 0.001 s`` lines go, looked up once per job; None when
    ``logger`` does not log INFO. The lines are exactly those of ``logger.info(message,
    extra={job_class, jid, queue[, elapsed]})``. With the text format and nothing else to see the
    records, the job's thread only hands over the time and the parts
    (:meth:`_StderrHandler.put_event`); otherwise each line goes through :func:`log_job_line`."""
    if not logger.isEnabledFor(logging.INFO):
        return None
    handler = _fast_handler(logger)
    if handler is not None and handler.event_writer() is not None:
        return handler.put_event
    return functools.partial(_log_job_event, logger)


class JobLines:
    """Where ``logger``'s job lines go (:func:`job_line_sink`), looked up at most once a second: the
    lookup walks the logger tree, which would cost as much as the lines themselves if done per job. A
    change to the logging configuration reaches job lines within :attr:`REFRESH` seconds."""

    REFRESH = 1.0

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self._sink: JobLineSink | None = None
        self._until = -math.inf

    def sink(self) -> JobLineSink | None:
        """The current sink; None when the logger does not log INFO."""
        now = time.monotonic()
        if now >= self._until:
            self._sink = job_line_sink(self.logger)
            self._until = now + self.REFRESH
        return self._sink


def _log_job_event(logger: logging.Logger, done_in: float | None, payload: Mapping[str, Any]) -> None:
    fields = {"jid": payload.get("jid"), "job_class": payload.get("class"), "queue": payload.get("queue")}
    if done_in is None:
        log_job_line(logger, "start", fields)
    else:
        log_job_line(logger, done_text(done_in), {**fields, "elapsed": round(done_in, 6)})


def _after_fork(ref: weakref.ref[_StderrHandler]) -> None:
    handler = ref()
    if handler is not None:
        handler.forked()


def _job_line_writer(logger: logging.Logger) -> Callable[[str, str, Mapping[str, Any]], None] | None:
    """The fast writer of the only handler ``logger``'s records would reach, or None when anything else
    (another handler, a filter, a record factory) would see them too."""
    found = _fast_handler(logger)
    return None if found is None else found.job_line_writer()


def _fast_handler(logger: logging.Logger) -> _StderrHandler | None:
    """The only handler ``logger``'s records would reach when it is :func:`setup_logging`'s, else None
    (another handler, a filter, a record factory would see them too)."""
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
    return found


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
