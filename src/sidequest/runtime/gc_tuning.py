"""The garbage collector of a ``sidequest run`` process: collections of the youngest generation less
often than Python's default.

Python collects its youngest generation every 700 container objects allocated and not yet freed. A job
process allocates and keeps for a while many of them per job (the payload, its claim, its outcome, the
log lines' parts waiting for the writer), so at 100,000 jobs a second it collected ~300 times a second,
and each young collection brings the older ones sooner. Measured on a drain of no-op jobs from Redis:
+5-10% with logs at ERROR and +10-15% with the default log lines at a first threshold of 10,000 (what
the young generation may hold is a few MB; nothing is kept that a collection would free, it is freed a
little later). The older generations' thresholds are left as they are.

An application that chose its own thresholds (``gc.set_threshold`` in a worker module, which is
imported before this runs) keeps them: only Python's default is replaced.
"""

from __future__ import annotations

import gc

PYTHON_DEFAULT_FIRST = 700
"""CPython's default first threshold up to 3.12 (a Python with another default is left alone)."""

JOB_PROCESS_FIRST = 10_000
"""The first threshold of a job process."""


def tune_gc() -> bool:
    """Raise the first threshold to :data:`JOB_PROCESS_FIRST` when it is still Python's default; True
    when it was raised."""
    first, second, third = gc.get_threshold()
    if first != PYTHON_DEFAULT_FIRST:
        return False
    gc.set_threshold(JOB_PROCESS_FIRST, second, third)
    return True
