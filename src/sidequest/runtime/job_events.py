"""A job's start and done lines made in the log writer's thread, a whole batch in one loop: what every
job's two lines cost, so it is written for the common case.

A job's thread hands over a :data:`JobEvent` (the time, its thread, the seconds ``perform`` took or
None for the start, the payload's class and jid); :class:`JobEventLines` makes it into the line
``logger.info`` would write for that record with :class:`~sidequest.runtime.log_format.TextFormatter`:

    2026-11-28T00:00:00.123Z pid=42 tid=abc INFO: class=app.workers.X jid=7f3a... start

Most lines are of a few classes on a few threads, with a jid sidequest made: the part from ``pid=`` to
``jid=`` is remembered per thread and class, and the time part per millisecond, so such a line is one
f-string of four parts. Any other line (an odd class or jid to escape, no jid) is made part by part.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sidequest.runtime.log_format import MILLIS, class_prefix, escape, utc_second

JobEvent = tuple[float, int, "float | None", Any, Any]
"""A job's start or done line as its thread hands it over: ``(time.time(), threading.get_ident(), None
for the start line or the seconds perform took, the payload's class, its jid)``."""

DONE = tuple(f"done: 0.{ms:03d} s" for ms in range(1000))
"""The text of a done line for a job of under a second, by its milliseconds."""


def done_text(seconds: float) -> str:
    """``"done: 0.250 s"``: the seconds ``perform`` took, rounded half up to the millisecond (the same
    text on every path a done line takes)."""
    millis = int(seconds * 1000.0 + 0.5)
    if 0 <= millis < 1000:
        return DONE[millis]
    if millis < 0:
        return f"done: {seconds:.3f} s"
    return f"done: {millis // 1000}.{MILLIS[millis % 1000]} s"


class _ThreadHeads(dict[str, str]):
    """One thread's ``"pid=P tid=T INFO: class=C jid="`` by class, and its ``"pid=P tid=T"``."""

    __slots__ = ("who",)

    def __init__(self, who: str) -> None:
        super().__init__()
        self.who = who


class JobEventLines:
    """Makes batches of :data:`JobEvent` into text lines; one per formatter, used by the writer thread
    (one batch at a time: the writer's lock)."""

    MAX_THREADS = 4096
    """Threads whose heads are remembered (past that, the memory starts again)."""

    MAX_CLASSES = 1024
    """Classes remembered per thread (past that, the others' lines are made part by part)."""

    def __init__(self) -> None:
        self._threads: dict[str, _ThreadHeads] = {}
        # "2026-11-28T00:00:00.123Z " for one millisecond, and the second part for one second: each
        # a tuple replaced whole.
        self._millisecond: tuple[int, str] = (-1, "")
        self._second: tuple[int, str] = (-1, "")

    def lines(self, items: list[str | JobEvent], who: Callable[[int], str]) -> list[str]:
        """``items`` as lines, in order: a line stays as it is, an event becomes its line.
        ``who(ident)`` is ``"pid=P tid=T"`` for the thread that handed the event over."""
        lines: list[str] = []
        append = lines.append
        last, stamp = self._millisecond
        heads: dict[int, _ThreadHeads] = {}
        for item in items:
            if item.__class__ is str:
                append(item)  # a line handed over whole
                continue
            event: JobEvent = item  # type: ignore[assignment]  # narrowed above (cast() costs a call)
            created, ident, done_in, job_class, jid = event
            millisecond = int(created * 1000.0)
            if millisecond != last:
                last, stamp = millisecond, self._stamp(millisecond)
            thread = heads.get(ident)
            if thread is None:
                thread = heads[ident] = self._thread(who(ident))
            head = thread.get(job_class) if job_class.__class__ is str else None
            if head is None or jid.__class__ is not str or not jid.isprintable():
                append(stamp + self._odd_line(thread, job_class, jid, done_in))
            elif done_in is None:
                append(f"{stamp}{head}{jid} start")
            else:
                millis = int(done_in * 1000.0 + 0.5)
                append(f"{stamp}{head}{jid} {DONE[millis] if 0 <= millis < 1000 else done_text(done_in)}")
        self._millisecond = (last, stamp)
        return lines

    def _stamp(self, millisecond: int) -> str:
        second, millis = divmod(millisecond, 1000)
        cached, text = self._second
        if second != cached:
            text = utc_second(second)
            self._second = (second, text)
        return f"{text}.{MILLIS[millis]}Z "

    def _thread(self, who: str) -> _ThreadHeads:
        thread = self._threads.get(who)
        if thread is None:
            if len(self._threads) >= self.MAX_THREADS:
                self._threads.clear()
            thread = self._threads[who] = _ThreadHeads(who)
        return thread

    def _odd_line(self, thread: _ThreadHeads, job_class: Any, jid: Any, done_in: float | None) -> str:
        """The line after its time, part by part: a class not remembered yet (it is now, when it is a
        string), a jid to escape or none at all."""
        head = f"{thread.who} INFO: {class_prefix(job_class)}"
        if job_class.__class__ is str and len(thread) < self.MAX_CLASSES:
            thread[job_class] = head + "jid="
        if jid is not None:
            head += f"jid={escape(jid if isinstance(jid, str) else str(jid))} "
        return head + ("start" if done_in is None else done_text(done_in))
