"""Stopping a job's thread from outside: :class:`JobTimeoutError` raised inside it at its next bytecode.

Python cannot kill a thread, but CPython can make a thread raise an exception the next time it runs
Python code (``PyThreadState_SetAsyncExc``, what Dramatiq's time-limit middleware uses). Two failure
modes shape this module:

* An exception raised asynchronously lands wherever the thread happens to be when it next checks
  (CPython checks at function entry and backward jumps, not at every bytecode). Landing after ``perform``
  returned, it would fail the sidequest code that records the outcome, or kill the processor thread. So
  a thread marks the span it may be interrupted in (:class:`InterruptibleSpan`); the interrupter raises
  only while the span is open, under the span's lock; and the span's ``__exit__``, under that same lock,
  closes it and, if an interrupt is still pending, withdraws it and raises :class:`JobTimeoutError`
  itself. Either way the error comes out of the ``with`` statement, so one ``except JobTimeoutError``
  around it catches every case, and nothing is left pending for the code after it. A job that caught
  and swallowed the error is failed all the same.
* A thread blocked in C code (``time.sleep``, a socket read without timeout, a C extension's loop) runs
  no bytecode, so the exception waits. The caller sees the span still open after a grace period and
  gives the thread's slot to a new thread; the stuck one is a daemon and is abandoned.
"""

from __future__ import annotations

import ctypes
import threading
from types import TracebackType

from sidequest.errors import JobTimeoutError


def _set_async_exc(ident: int, exc_type: type[BaseException] | None) -> int:
    # No argtypes on purpose: declared as py_object, None would be passed as Py_None, not the NULL
    # that withdraws a pending exception.
    exc = ctypes.py_object(exc_type) if exc_type is not None else None
    return int(ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), exc))


def raise_in_thread(ident: int, exc_type: type[BaseException]) -> bool:
    """Make thread ``ident`` raise ``exc_type`` when it next runs Python code. True if it exists."""
    found = _set_async_exc(ident, exc_type)
    if found > 1:  # cannot happen for a valid ident; undo rather than hit several threads
        _set_async_exc(ident, None)
        return False
    return found == 1


class InterruptibleSpan:
    """The part of one job's run on one thread that :meth:`interrupt` may cut short.

    Use as ``try: with span: perform() except JobTimeoutError: ...``. Reusable: each ``with`` opens a
    new span on the calling thread.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ident: int | None = None
        self._open = False
        self._interrupted = False

    def __enter__(self) -> InterruptibleSpan:
        with self._lock:
            self._ident = threading.get_ident()
            self._open = True
            self._interrupted = False
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        with self._lock:
            self._open = False
            if not self._interrupted or self._ident is None:
                return
            # Interrupted: the error is either on its way out already (``kind``), or pending and due
            # wherever the thread next checks, which may be past this with statement. Withdraw a
            # pending one and raise here. No Python function runs between the lock and the withdrawal,
            # so it cannot be delivered in between.
            _set_async_exc(self._ident, None)
        if kind is None or not issubclass(kind, JobTimeoutError):
            raise JobTimeoutError("the job ran past its time_limit and was stopped") from value

    @property
    def interrupted(self) -> bool:
        """True once :meth:`interrupt` raised in the current (or last) span."""
        return self._interrupted

    @property
    def open(self) -> bool:
        """True while the thread is inside the span. (When the error was delivered at the very start
        of ``__exit__`` the flag stays set until the next span: ask the job's own state, not this, whether
        it still runs.)"""
        return self._open

    def interrupt(self) -> bool:
        """Raise :class:`JobTimeoutError` in the span's thread if it is still inside the span and was not
        interrupted yet. Returns True when it raised (the thread sees it at its next bytecode)."""
        with self._lock:
            if not self._open or self._interrupted or self._ident is None:
                return False
            self._interrupted = raise_in_thread(self._ident, JobTimeoutError)
            return self._interrupted
