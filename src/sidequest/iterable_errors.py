"""The exception an iterable job's run ends with when it stops between two iterations to resume later."""

from __future__ import annotations

from sidequest.errors import JobTimeoutError


class IterationInterrupted(JobTimeoutError):
    """An iterable job stopped between two iterations, its cursor saved: the executor puts it back at
    the front of its queue, with no failure recorded. ``reason`` says why (the process is stopping,
    ``max_iteration_runtime``, the ``time_limit`` is near or was reached).

    A :class:`JobTimeoutError` only so that a run cut by its time limit may end with it: the thread's
    interruptible span accepts that class as the way out of an interrupted run."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"interrupted between two iterations: {reason}")
        self.reason = reason
