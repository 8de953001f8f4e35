"""The child side of the process pool: import the worker modules once, then perform jobs until told to stop.

A child never touches the store: the parent holds the connection, the leases and the acks, and sends the
child only what ``perform`` needs. Every message is JSON (orjson) in one ``Connection`` frame; nothing is
unpickled from the parent after the start.

Messages::

    child -> parent, once:  {"ready": true, "pid": 123}  or  {"ready": false, "error": "..."}
    parent -> child:        {"class": "app.workers.Resize", "args": [...], "jid": "..."}
    child -> parent:        {"ok": true}  or  {"ok": false, "error_class": ..., "message": ...,
                             "backtrace": [...], "formatted": "..."}
    child -> parent, any time: {"log": {...}}   a log record (see child_logs.py)

The parent ends a child by closing its end of the pipe (the child's next read sees EOF and it exits) or,
past a deadline, with SIGKILL.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import traceback
from multiprocessing import parent_process
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import orjson

from sidequest.defaults import URL_ENV
from sidequest.loader import load_worker_modules
from sidequest.registry import WorkerRegistry
from sidequest.retry import backtrace_lines, error_class, error_message
from sidequest.runtime import child_logs

# The parent decides when a child stops. Platforms send TERM to every process of a dyno or cgroup
# (Heroku, systemd's KillMode=control-group) and a terminal sends INT and TSTP to the whole process
# group: a child that obeyed would die (or freeze) mid-job instead of finishing within the parent's -t.
IGNORED_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGTSTP", "SIGTTIN", "SIGQUIT")

PARENT_DIED_EXIT_CODE = 70


def serve(
    conn: Connection, modules: list[str], cwd: str | None, store_url: str | None, log_level: int
) -> None:
    """The child's main function (the ``Process`` target): load the workers, then answer jobs."""
    _ignore_stop_signals()
    _watch_parent()
    pipe_lock = threading.Lock()
    child_logs.install(conn, pipe_lock, log_level)
    if store_url:
        # A job that enqueues (MyWorker.perform_async inside perform) writes to the process's store,
        # not to sqlite:///sidequest.db in the working directory. The client is made on first use.
        os.environ[URL_ENV] = store_url
    try:
        registry = load_registry(modules, Path(cwd) if cwd else None)
    except BaseException as exc:  # a module that raises SystemExit at import must still be reported
        with pipe_lock:
            conn.send_bytes(_encode({"ready": False, "error": f"{error_class(exc)}: {error_message(exc)}"}))
        return
    with pipe_lock:
        conn.send_bytes(_encode({"ready": True, "pid": os.getpid()}))
    while True:
        try:
            request = orjson.loads(conn.recv_bytes())
        except EOFError:
            return  # the parent closed the pipe: a clean stop
        reply = _encode(perform(registry, request))
        with pipe_lock:
            conn.send_bytes(reply)


def load_registry(modules: list[str], cwd: Path | None) -> WorkerRegistry:
    """Import the worker modules (``-r`` list, ``cwd`` on ``sys.path``) and return every Worker loaded.

    Not ``loader.load_workers``: it leaves out Workers of modules imported before the call, and in a
    child the forkserver has already imported the worker modules (preloaded, so children start fast),
    which would leave out Workers the ``-r`` modules only import. A child imports nothing else that
    defines Workers, so every loaded Worker is one the parent's registry has too.
    """
    load_worker_modules(modules, cwd)
    return WorkerRegistry.from_loaded()


def perform(registry: WorkerRegistry, request: dict[str, Any]) -> dict[str, Any]:
    """Run one job; return the reply. Never raises: a job's BaseException is the job's failure."""
    try:
        worker_class = registry.get(request["class"])
        worker = worker_class()
        worker.jid = request.get("jid")
        if worker_class.is_async():
            asyncio.run(worker.perform(*request["args"]))
        else:
            worker.perform(*request["args"])
    except BaseException as exc:  # KeyboardInterrupt, SystemExit, GeneratorExit: the job's, not the loop's
        return failure_reply(exc)
    return {"ok": True}


def failure_reply(exc: BaseException) -> dict[str, Any]:
    """The reply for a job that raised ``exc``: its class and message as the retry policy writes them."""
    try:
        formatted = "".join(traceback.format_exception(exc))
    except Exception:  # an exception whose __str__ raises: keep the frames, not the text
        formatted = "".join(traceback.format_tb(exc.__traceback__))
    return {
        "ok": False,
        "error_class": error_class(exc),
        "message": error_message(exc),
        # The child's frames, not the parent's: the parent skips its own pool frames.
        "backtrace": backtrace_lines(exc, None),
        "formatted": formatted,
    }


def _encode(message: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(message)
    except TypeError:
        # A message with lone surrogates (from a job's bytes decoded with surrogateescape) is not UTF-8;
        # send it escaped rather than losing the reply and with it the child.
        return orjson.dumps({key: _ascii(value) for key, value in message.items()})


def _ascii(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode()
    if isinstance(value, list):
        return [_ascii(item) for item in value]
    return value


def _ignore_stop_signals() -> None:
    for name in IGNORED_SIGNALS:
        number = getattr(signal, name, None)
        if number is not None:
            signal.signal(number, signal.SIG_IGN)


def _watch_parent() -> None:
    """Exit when the parent dies, even mid-job, so a kill -9 of the parent leaves no child running.

    An idle child sees EOF on its pipe; a busy one does not read it, so a daemon thread waits on the
    sentinel multiprocessing keeps for the parent (readable once the parent is gone). With the
    forkserver the child's OS parent is the forkserver, which outlives the parent while children
    hold its pipe, so PR_SET_PDEATHSIG would never fire.
    """
    parent = parent_process()
    if parent is None:
        return
    sentinel = parent.sentinel

    def watch() -> None:
        try:
            wait([sentinel])
        except BaseException:  # logged (to the parent), never silent; the child goes on unwatched
            logging.getLogger("sidequest").exception(
                "pool child %s cannot watch its parent; it will not notice the parent's death mid-job",
                os.getpid(),
            )
            return
        os._exit(PARENT_DIED_EXIT_CODE)

    threading.Thread(target=watch, name="sidequest-parent-watch", daemon=True).start()
