"""Workers for processes whose wall clock a test steps with libfaketime (``tests/e2e/test_clock_steps.py``).

``time.sleep`` fails with EINVAL under libfaketime 0.9.10 (it rewrites the absolute monotonic deadline
Python's sleep uses), so :class:`HoldWorker` waits on an event, which times out on the real monotonic clock.
"""

from __future__ import annotations

import threading
from typing import Any

import sidequest
from testapp.workers import record


class HoldWorker(sidequest.Worker):
    """Holds its job for ``seconds``, then records one run of ``key``."""

    def perform(self, key: Any, seconds: float) -> None:
        threading.Event().wait(seconds)
        record(self.jid, key)
