"""Log records made in a pool child, sent to the parent and logged there, as if the job ran in a thread.

A child has no log handlers of its own (the forkserver does not inherit the parent's logging set-up),
so a job's ``log.info(...)`` would vanish, and sidequest's own lines would lose their format. The
child's root handler sends each record as one JSON message on the job's pipe; the parent's thread
waiting for the job logs it through the same logger name, so its handlers, format and the job's
context (the processor thread, the jid) apply.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from multiprocessing.connection import Connection
from typing import Any

import orjson


class ParentLogHandler(logging.Handler):
    """The child's only handler: sends records to the parent over the job pipe.

    ``lock`` is the one every write on the pipe takes, so a record logged from a thread the job
    started cannot interleave its bytes with the job's reply.
    """

    def __init__(self, conn: Connection, lock: threading.Lock) -> None:
        super().__init__()
        self.conn = conn
        self.pipe_lock = lock

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_info:
                message += "\n" + logging.Formatter().formatException(record.exc_info)
            data = {
                "log": {
                    "name": record.name,
                    "level": record.levelno,
                    "msg": message,
                    "created": record.created,
                    "pathname": record.pathname,
                    "lineno": record.lineno,
                    "func": record.funcName,
                }
            }
            encoded = orjson.dumps(data)
        except Exception:
            self.handleError(record)
            return
        try:
            with self.pipe_lock:
                self.conn.send_bytes(encoded)
        except OSError:
            pass  # the parent is gone: the parent watch ends this child


def install(conn: Connection, lock: threading.Lock, level: int) -> None:
    """Make :class:`ParentLogHandler` the child's only root handler, at the parent's ``level``."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(ParentLogHandler(conn, lock))
    root.setLevel(level)


def log_in_parent(fields: dict[str, Any], pid: int) -> None:
    """Log one record a child sent, through the parent's logger of the same name."""
    logger = logging.getLogger(str(fields.get("name") or "root"))
    level = int(fields.get("level") or logging.INFO)
    if not logger.isEnabledFor(level):
        return
    record = logging.makeLogRecord(
        {
            "name": logger.name,
            "levelno": level,
            "levelname": logging.getLevelName(level),
            "msg": str(fields.get("msg")),
            "created": float(fields.get("created") or 0.0),
            "pathname": str(fields.get("pathname") or ""),
            "lineno": int(fields.get("lineno") or 0),
            "funcName": str(fields.get("func") or ""),
        }
    )
    record.msecs = (record.created - int(record.created)) * 1000
    record.process = pid  # the line says which child wrote it
    try:
        logger.handle(record)
    except Exception:  # an application's filter or handler that raises must not fail the job
        traceback.print_exc(file=sys.stderr)
