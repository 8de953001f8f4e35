"""Log lines handed over by any thread and written by one background thread, many lines per write.

A job thread that logs only appends its finished line to a queue (no lock, no system call); the
writer thread writes what has piled up with one ``write`` and one ``flush``, then waits for the next
line. An idle writer is woken by the first line (so a quiet process's line is written at once);
after each write it gathers lines for ``gather`` seconds, so a busy process writes big batches.
Lines keep the order they were handed over in, so each thread's lines keep theirs.

``flush()`` writes everything handed over so far before it returns: the CLI calls it (through
``flush_logging``) before ``os._exit``, and ``logging.shutdown`` calls it at a normal exit, so the last
lines before an exit are never lost.

A stream that cannot be written (a full disk, a closed pipe) never blocks or kills a job thread: the
lines of that batch are dropped, the failure is said once on the process's original stderr, and the
count of lost lines is written to the log as soon as it can be written again.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, TextIO

DEFAULT_INTERVAL = 0.5
"""Seconds an idle writer sleeps before it looks at the queue anyway (a safety net: a line wakes it)."""

DEFAULT_GATHER = 0.01
"""Seconds the writer waits after a write before it can be woken again: the most a line waits in a
busy process, and what makes its batches big."""

DEFAULT_MAX_PENDING = 50_000
"""Lines waiting before the thread handing one over writes the batch itself. This bounds the
memory a burst takes when the writer thread cannot keep up; the caller then waits for the stream, as
with a plain ``StreamHandler``."""


_NEVER = object()
"""A value no line is: the end marker of the C loop that takes a batch off the queue."""


class LogWriter:
    """A queue of finished log lines and the daemon thread that writes them to ``stream()``.

    ``stream`` is called at each write, so the lines go to whatever the stream is then (``sys.stderr``
    swapped by a test and put back).
    """

    def __init__(
        self,
        stream: Callable[[], TextIO],
        interval: float = DEFAULT_INTERVAL,
        gather: float = DEFAULT_GATHER,
        max_pending: int = DEFAULT_MAX_PENDING,
        render: Callable[[list[str | tuple[Any, ...]]], list[str]] | None = None,
    ) -> None:
        self._stream = stream
        self._render = render
        self._interval = interval
        self._gather = gather
        self.max_pending = max_pending
        self.owner_pid = -1
        """The process whose writer thread runs (-1: none yet, or closed): a put from another starts it."""
        self.pending: deque[str | tuple[Any, ...]] = deque()
        """The lines and parts handed over and not written yet, in order."""
        # One writer at a time (the thread, a flush(), a caller over max_pending): batches stay whole
        # and in order.
        self._write_lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._stopped = threading.Event()
        self._wake = threading.Event()
        self.idle = False
        """The writer thread waits for a line: the next put must wake it."""
        self._thread: threading.Thread | None = None
        self._lost = 0
        self._complained = False

    def put(self, line: str | tuple[Any, ...], pid: int) -> None:
        """Hand over one finished line (without its newline), or the parts of one for ``render`` to
        make at write time; ``pid`` is the calling process's (``LogRecord.process``: already known, so
        no system call here).

        A caller on the hot path may do the same inline (``_StderrHandler.put_event``): when ``pid ==
        owner_pid``, append to ``pending``, then, reading ``idle`` only after the append, call
        :meth:`kick` if ``idle`` or ``len(pending) >= max_pending``; otherwise call this."""
        if pid != self.owner_pid:
            self._restart(pid)
        pending = self.pending
        pending.append(line)
        if self.idle or len(pending) >= self.max_pending:  # idle read after the append: see _run
            self.kick()

    def kick(self) -> None:
        """After an append: wake an idle writer thread, and write the batch from here when the queue
        has grown past ``max_pending`` (the writer cannot keep up)."""
        if self.idle:
            self.idle = False
            self._wake.set()
        if len(self.pending) >= self.max_pending:
            self.flush()

    def flush(self) -> None:
        """Write every line handed over so far, then return."""
        with self._write_lock:
            self._write_pending()

    def close(self) -> None:
        """Write what is left and stop the thread (lines handed over later start it again)."""
        with self._start_lock:
            self._stopped.set()
            self._wake.set()
            thread, self._thread = self._thread, None
            self.owner_pid = -1  # the next put starts a thread again, keeping the queue
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5.0)
        self.flush()

    def _restart(self, pid: int) -> None:
        """Start the writer thread: the first time, or in a child forked from a process that had one
        (the fork copied the queue, already the parent's to write, but not the thread, and maybe a
        lock the parent's writer held at that moment)."""
        with self._start_lock:
            if pid == self.owner_pid:
                return
            if self.owner_pid != -1:  # a forked child: the parent writes what it queued
                self.pending = deque()
                self._write_lock = threading.Lock()
            self._stopped = threading.Event()
            self._wake = threading.Event()
            self._thread = threading.Thread(target=self._run, name="sidequest-log-writer", daemon=True)
            self.owner_pid = pid
            self._thread.start()

    def _run(self) -> None:
        stopped, wake = self._stopped, self._wake
        while not stopped.is_set():
            # Idle is announced before the queue is looked at: a put() that appended after the look
            # sees the flag and sets the event, one that appended before it is found by the look.
            self.idle = True
            if not self.pending:
                wake.wait(self._interval)
            self.idle = False
            wake.clear()
            try:
                self.flush()
            except BaseException as exc:  # the thread must not die silently
                self._complain(f"the log writer failed: {exc!r}; it keeps going")
            # Let a busy process's lines pile up a little: one wake-up and one write per batch, not per
            # line (each wake-up takes the GIL from the job threads).
            stopped.wait(self._gather)

    def _write_pending(self) -> None:
        pending = self.pending
        count = len(pending)
        if not count:
            return
        # popleft, not a swap of the deque: a thread that read the old deque's attribute may still
        # append to it, and that line would be lost. (iter(popleft, sentinel): the loop runs in C.)
        lines = self._rendered(list(itertools.islice(iter(pending.popleft, _NEVER), count)))
        if self._lost:
            lines.insert(0, f"sidequest: {self._lost} log lines were lost while the log could not be written")
        lines.append("")  # the last line's newline, without copying the whole text again
        stream: TextIO | None = None
        try:
            stream = self._stream()
            stream.write("\n".join(lines))
            stream.flush()
        except Exception as exc:  # a full disk or closed pipe must not reach a job thread
            self._lost += count
            self._complain(
                f"cannot write log lines to {getattr(stream, 'name', stream)!r}: {exc}; they are dropped "
                "until it can be written again (free the disk, or point stderr elsewhere)"
            )
            return
        self._lost = 0
        self._complained = False

    def _rendered(self, items: list[str | tuple[Any, ...]]) -> list[str]:
        """``items`` as lines: parts handed over are made into lines by ``render``. Parts that cannot be
        made into a line (a bug) are written as their repr rather than lost, with the others."""
        render = self._render
        if render is None:
            return items  # type: ignore[return-value]  # without render only lines are handed over
        try:
            return render(items)
        except Exception:
            lines: list[str] = []
            for item in items:
                try:
                    lines.extend(render([item]))
                except Exception as exc:
                    lines.append(f"sidequest: a log line could not be formatted ({exc!r}): {item!r}")
            return lines

    def _complain(self, message: str) -> None:
        """Say ``message`` once per failure streak on the process's original stderr (the log stream
        itself is the one failing); if that fails too, nobody is left to tell."""
        if self._complained:
            return
        self._complained = True
        with contextlib.suppress(Exception):
            original = sys.__stderr__
            if original is not None:
                original.write(f"sidequest[{os.getpid()}]: {message}\n")
                original.flush()
