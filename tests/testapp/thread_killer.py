"""A defect on purpose: a client middleware raising a BaseException in the cron thread, for the watchdog.

Loaded with ``-r testapp.thread_killer --client-middleware testapp.thread_killer:kill_the_thread``.
The cron service builds each tick's payload through the client middleware; a BaseException is
something no service loop catches, so the cron thread ends, and the launcher's watchdog must say so
and end the process with a non-zero exit code.
"""

from __future__ import annotations

from typing import Any

import sidequest


class ThreadKiller(BaseException):
    """Not an Exception: nothing catches it on purpose."""


class TickWorker(sidequest.Worker):
    """Never performed: its ticks die in the client middleware."""

    def perform(self) -> None:
        pass


EVERY_SECOND = sidequest.periodic("* * * * * *", TickWorker, name="thread-killer", queue="ticks")


def kill_the_thread(payload: dict[str, Any]) -> dict[str, Any]:
    """Raise ThreadKiller for the periodic job, pass everything else."""
    if payload.get("class", "").endswith("TickWorker"):
        raise ThreadKiller("the client middleware killed the thread it ran in")
    return payload
