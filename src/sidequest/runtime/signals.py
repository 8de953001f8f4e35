"""OS signals, as Sidekiq handles them: TERM/INT stop, TSTP quiet, TTIN dump every thread's stack."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from types import FrameType

log = logging.getLogger("sidequest")

HANDLED = ("TERM", "INT", "TSTP", "TTIN")


def dump_threads() -> str:
    """Log and return the current stack of every thread (TTIN)."""
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    parts = []
    for ident, frame in sys._current_frames().items():
        stack = "".join(traceback.format_stack(frame))
        parts.append(f"Thread {names.get(ident, '?')} ({ident}):\n{stack}")
    text = "\n".join(parts)
    log.warning("thread dump (TTIN)", extra={"traceback": text})  # printed as indented lines
    return text


def install(on_signal: Callable[[str], None], names: Sequence[str] = HANDLED) -> Callable[[], None]:
    """Route the signals ``names`` (default TERM, INT, TSTP and TTIN) to ``on_signal(name)``; returns a
    function restoring the old handlers. Must be called from the main thread."""
    previous: dict[int, object] = {}

    def handler(signum: int, frame: FrameType | None) -> None:
        on_signal(signal.Signals(signum).name.removeprefix("SIG"))

    for name in names:
        signum = getattr(signal, f"SIG{name}")
        previous[signum] = signal.signal(signum, handler)

    def restore() -> None:
        for signum, old in previous.items():
            signal.signal(signum, old)  # type: ignore[arg-type]

    return restore
