"""CPU-bound workers for ``bench/cpu_bench.py``: each job runs a fixed number of pure-Python loop steps,
which ``cpu_bench.py`` calibrates to ``--ms`` milliseconds on one otherwise idle thread.

The amount of work is fixed, not a time: a loop that ran "until 2 ms of CPU time passed" would read the
process's CPU clock (a system call per step, and in a threaded process a clock that every thread's CPU
advances), so its jobs would do less work in some cases than in others.

The ``isolation="process"`` worker lives in ``cpu_isolated_workers.py``: a module with one loads no
process pool, so the thread cases do not start (and pay for) children they never use.
"""

from __future__ import annotations

import sidequest


def burn(steps: int) -> int:
    """``steps`` steps of integer arithmetic in the interpreter (holding the GIL throughout)."""
    total = 0
    for n in range(steps):
        total += n * n % 7
    return total


class CpuWorker(sidequest.Worker):
    """Pure Python work on a thread of the process."""

    def perform(self, n: int, steps: int) -> None:
        burn(steps)
