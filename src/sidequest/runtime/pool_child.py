"""The parent's handle on one child process of the pool: start it, send it a job, wait, kill it.

One thread at a time runs a job through a handle (the pool lends it out); :meth:`PoolChild.kill` may
come from another thread (the pool's ``stop``) and is safe to call twice.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Sequence
from multiprocessing.connection import wait
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any

import orjson

from sidequest.errors import ChildProcessDiedError, ConfigurationError, JobTimeoutError
from sidequest.runtime.child import serve
from sidequest.runtime.child_logs import log_in_parent
from sidequest.runtime.remote_error import RemoteJobError

START_TIMEOUT = 120.0
"""Seconds a new child may take to import the worker modules (a large application's imports)."""

JOIN_TIMEOUT = 5.0


class ChildStartError(ChildProcessDiedError):
    """A child process could not be started or died while importing the worker modules."""


class PoolChild:
    """One live child process and the parent's end of its pipe."""

    def __init__(
        self,
        context: BaseContext,
        modules: Sequence[str],
        cwd: Path | None,
        store_url: str | None,
        start_timeout: float = START_TIMEOUT,
    ) -> None:
        """Start the child and wait until it has imported the worker modules.

        Raises :class:`ConfigurationError` when a worker module cannot be imported in the child, and
        :class:`ChildStartError` when the child dies or stays silent while starting.
        """
        self._lock = threading.Lock()
        self._dead = False
        self.jobs = 0
        parent_end, child_end = context.Pipe(duplex=True)
        self.conn = parent_end
        level = logging.getLogger().getEffectiveLevel()
        args = (child_end, list(modules), str(cwd) if cwd else None, store_url, level)
        # daemon: a parent that exits without stop() still ends its children (multiprocessing's atexit).
        self.process = context.Process(target=serve, args=args, name="sidequest-child", daemon=True)  # type: ignore[attr-defined]
        try:
            self.process.start()
        except BaseException:
            parent_end.close()
            raise
        finally:
            child_end.close()  # only the child holds it now, so its death reads as EOF here
        self.pid: int = self.process.pid or 0
        self._pidfd = _open_pidfd(self.pid)
        try:
            hello = self._hello(start_timeout)
        except BaseException:
            self.kill()
            raise
        if not hello.get("ready"):
            self.kill()
            raise ConfigurationError(f"a pool child process could not load the workers: {hello.get('error')}")

    def send(self, request: bytes) -> bool:
        """Send one encoded job ahead of :meth:`run` (``sent=True``), for the thread that will wait for
        it; False when the pipe is broken (the child died: that thread's :meth:`run` finds out)."""
        try:
            self.conn.send_bytes(request)
        except OSError:
            return False
        return True

    def run(self, request: bytes, time_limit: float | None, sent: bool = False) -> float:
        """Send one encoded job (unless :meth:`send` did) and wait for it, at most ``time_limit`` seconds
        (None: no limit).

        Returns the seconds from this call to the child's answer when the job succeeded (the job's
        time in the child, give or take a pipe's round trip). Raises :class:`RemoteJobError` when it
        raised in the child, :class:`JobTimeoutError` when it ran past the limit (the child is killed
        first), and :class:`ChildProcessDiedError` when the child died under it. After either of the
        last two the handle is dead.
        """
        self.jobs += 1
        started = time.monotonic()
        deadline = None if time_limit is None else started + time_limit
        try:
            if not sent:
                self.conn.send_bytes(request)
            while True:
                remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
                if not self.conn.poll(remaining):
                    self.kill()
                    raise JobTimeoutError(
                        f"job ran past its time_limit of {time_limit:g} s; its child process {self.pid} "
                        f"was killed. Split the job into shorter ones, or raise time_limit"
                    )
                reply: dict[str, Any] = orjson.loads(self.conn.recv_bytes())
                if "log" not in reply:
                    break
                log_in_parent(reply["log"], self.pid)
        except (EOFError, OSError) as exc:  # OSError: a broken pipe to a child that died while idle
            self.kill()
            raise ChildProcessDiedError(
                f"the child process {self.pid} performing the job died: {self.describe_exit()}. "
                f"Only this job failed; the pool started a new child"
            ) from exc
        except BaseException:
            # Interrupted mid-exchange (an exception raised into this thread, e.g. by a thread time
            # limit): the child's reply may be left unread and would answer the next job. Never reuse it.
            self.kill()
            raise
        if not reply.get("ok"):
            raise RemoteJobError(
                str(reply.get("error_class")),
                str(reply.get("message")),
                [str(line) for line in reply.get("backtrace") or []],
                str(reply.get("formatted")),
                self.pid,
            )
        return time.monotonic() - started

    def signal_kill(self) -> None:
        """Send SIGKILL without waiting (from another thread: the borrower then sees EOF and cleans up)."""
        with self._lock:
            if not self._dead:
                self._sigkill()

    def kill(self) -> None:
        """SIGKILL the child, reap it and close the pipe. Idempotent."""
        with self._lock:
            if self._dead:
                return
            self._dead = True
            self._sigkill()
            self._wait_exit(JOIN_TIMEOUT)
            self.conn.close()
            self._close_pidfd()

    def close(self, timeout: float) -> None:
        """Ask an idle child to exit (EOF on its pipe); SIGKILL it if it has not within ``timeout``."""
        with self._lock:
            if self._dead:
                return
            self._dead = True
            self.conn.close()
            if not self._wait_exit(timeout):
                self._sigkill()
                self._wait_exit(JOIN_TIMEOUT)
            self._close_pidfd()

    def is_alive(self) -> bool:
        """False once the pool killed or closed the child, or saw it die."""
        return not self._dead

    def rss_mb(self) -> float | None:
        """The child's resident memory in MB, from ``/proc`` (None where there is none, or it is gone)."""
        try:
            with open(f"/proc/{self.pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except (OSError, ValueError):
            pass
        return None

    def describe_exit(self) -> str:
        """How the child ended: its exit code or the signal that killed it."""
        self.process.join(JOIN_TIMEOUT)
        code = self.process.exitcode
        if code is None:
            return "it closed its pipe but is still running"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            oom = " (sent by kill -9, or the kernel's out-of-memory killer)"
            hint = oom if -code == signal.SIGKILL else ""
            return f"killed by {name}{hint}"
        return f"exited with code {code}"

    def _hello(self, timeout: float) -> dict[str, Any]:
        try:
            if not self.conn.poll(timeout):
                raise ChildStartError(
                    f"a pool child process did not finish importing the worker modules within {timeout:g} s"
                )
            hello: dict[str, Any] = orjson.loads(self.conn.recv_bytes())
            while "log" in hello:  # a worker module that logs at import
                log_in_parent(hello["log"], self.pid)
                hello = orjson.loads(self.conn.recv_bytes())
        except (EOFError, OSError) as exc:
            raise ChildStartError(
                f"a pool child process died while starting: {self.describe_exit()}; run the worker "
                f"modules' imports by hand (python -c 'import MODULE') to see why"
            ) from exc
        return hello

    def _sigkill(self) -> None:
        if self._pidfd is not None:
            # Through the pidfd: it names this very process, so a pid the kernel reused is never hit, and
            # it does not depend on the forkserver (which a TERM to the whole container may have ended;
            # multiprocessing then reports every child as exited).
            with contextlib.suppress(ProcessLookupError):  # already gone
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
        else:
            # No pidfd (not Linux, or a kernel before 5.3): by pid, even when multiprocessing says the
            # child exited, since it says so for every child once the forkserver is gone. A pid reused
            # in the moment between the child's death and this call would need the pid counter to wrap.
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def _wait_exit(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the child to exit; True once it has."""
        if self._pidfd is None:
            deadline = time.monotonic() + timeout
            self.process.join(timeout)
            # multiprocessing says "exited" for every child once the forkserver is gone: ask the kernel.
            while _pid_exists(self.pid):
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.01)
            return True
        exited = bool(wait([self._pidfd], timeout))  # a pidfd reads ready once its process has exited
        if exited:
            self.process.join(JOIN_TIMEOUT)  # multiprocessing's bookkeeping: the exit code, the sentinel
        return exited

    def _close_pidfd(self) -> None:
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None


def _open_pidfd(pid: int) -> int | None:
    """A pidfd for ``pid`` (Linux 5.3 and later), or None where the system has none."""
    opener = getattr(os, "pidfd_open", None)
    if opener is None or not hasattr(signal, "pidfd_send_signal"):
        return None
    try:
        fd: int = opener(pid)
    except OSError:  # an older kernel (ENOSYS), or the child already exited and was reaped
        return None
    return fd


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
