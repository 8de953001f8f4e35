"""Log lines for people (text) or machines (one JSON object per line), with the job's class and jid."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import orjson

JOB_FIELDS = ("job_class", "jid", "queue", "elapsed")

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


class TextFormatter(logging.Formatter):
    """``2026-11-28T00:00:00.123Z pid=42 tid=abc INFO: class=app.workers.X jid=... start``"""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        fields = " ".join(
            f"{'class' if name == 'job_class' else name}={getattr(record, name)}"
            for name in ("job_class", "jid")
            if getattr(record, name, None) is not None
        )
        tid = getattr(record, "thread_id_b36", "")
        line = (
            f"{stamp}.{int(record.msecs):03d}Z pid={record.process} tid={tid} "
            f"{record.levelname}: {fields + ' ' if fields else ''}{record.getMessage()}"
        )
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
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
        return orjson.dumps(data, default=str).decode()


class _ThreadIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        from sidequest.runtime.processors import thread_id

        record.thread_id_b36 = thread_id()
        return True


def setup_logging(fmt: str = "text", level: str = "INFO") -> None:
    """Send sidequest's logs to stderr in ``fmt`` ("text" or "json") at ``level``."""
    logger = logging.getLogger("sidequest")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ThreadIdFilter())
    handler.setFormatter(JSONFormatter() if fmt == "json" else TextFormatter())
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False
