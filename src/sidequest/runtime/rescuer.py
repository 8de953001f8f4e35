"""The rescuer: jobs held by a process whose heartbeat stopped go back to their queues.

This is what makes kill -9, OOM and power loss lose nothing: a claim is a lease, and a lease not
renewed within its TTL is taken back by any live process. A job that keeps killing the process that
runs it (a poison pill) is sent to the dead set after ``max_orphaned`` rescues instead of crashing
every process in turn.

Three rules keep it from rescuing a live process's jobs (which would then run twice at once):

- it never rescues its own identity (the store's ``exclude``);
- it renews its own lease before a pass, and skips the pass when it cannot: a process that cannot
  beat may be the one cut off or frozen, and must not judge the others on a stale view;
- on SQLite a lease is a wall-clock time, so after the clock steps (NTP, a resumed VM) every lease
  may look expired, or far from it. The rescuer compares the wall clock's progress with
  ``time.monotonic()``'s between passes and, after a step of more than ``CLOCK_STEP_TOLERANCE``,
  refuses to rescue until every live process has had a few heartbeats to renew under the new clock.

A process that provably died on this very machine (same boot id and pid namespace, its pid gone, a
zombie, or reused by a process that started at another time) is not left to its lease: its lease is
ended at once and its jobs rescued in the same pass. Anything less than proof waits for the lease.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sidequest.errors import PermanentStoreError, StoreDataError, StoreError
from sidequest.job import ProcessInfo
from sidequest.runtime import host
from sidequest.stores.base import RescueResult, Store

log = logging.getLogger("sidequest")

CLOCK_STEP_TOLERANCE = 2.0
"""A difference in seconds between the wall clock's and the monotonic clock's progress that counts as
a step of the clock (scheduling delays and NTP slewing stay far below it)."""

SETTLE_HEARTBEATS = 3
"""After a clock step, how many heartbeat intervals every live process gets to renew its lease."""


class Rescuer:
    """Runs the store's orphan rescue, ending the leases of neighbours proven dead first.

    ``renew`` (the heartbeat's ``run_once``) renews this process's lease before each pass; a falsy
    result skips the pass. ``facts`` are this process's host facts (``host.this_process()``).
    ``settle_first`` holds the first ``SETTLE_HEARTBEATS`` heartbeat intervals too (a new process).
    """

    name = "rescuer"

    def __init__(
        self,
        store: Store,
        max_orphaned: int,
        identity: str | None = None,
        *,
        heartbeat_interval: float = 5.0,
        renew: Callable[[float], object] | None = None,
        facts: host.HostFacts | None = None,
        settle_first: bool = False,
    ) -> None:
        self.store = store
        self.max_orphaned = max_orphaned
        self.identity = identity
        self.settle = SETTLE_HEARTBEATS * heartbeat_interval
        self.renew = renew
        self.facts = facts if facts is not None else host.this_process()
        # The clocks as the rescuer was made, so a step before its first pass is noticed too.
        self._last = (time.time(), time.monotonic())
        # Monotonic time before which no rescue runs. A process started just after a step cannot know
        # it happened: with ``settle_first`` it gives the others the same few heartbeats first.
        self._hold_until = self._last[1] + self.settle if settle_first else 0.0
        self._skipping = False

    def run_once(self, now: float) -> RescueResult:
        """Rescue orphans of expired leases as of ``now`` (and of neighbours proven dead), unless the
        clock just stepped or this process cannot renew its own lease."""
        if self._clock_stepped(now):
            return RescueResult()
        if self.renew is not None and not self.renew(now):
            if not self._skipping:  # once per outage: the heartbeat already logs the store's error
                log.warning("rescuer skips its passes until this process can renew its own lease")
            self._skipping = True
            return RescueResult()
        self._skipping = False
        try:
            self._end_dead_neighbours()
            result = self.store.rescue_orphans(now, self.max_orphaned, exclude=self.identity)
        except PermanentStoreError:
            raise  # the process stops on it (the service loop reports it); retrying would only log
        except StoreDataError as exc:
            log.error("rescuer: %s; will retry", exc)
            return RescueResult()
        except StoreError as exc:
            log.error("rescuer cannot reach the store (%s); will retry", exc)
            return RescueResult()
        if result.requeued or result.killed:
            log.warning(
                "rescued jobs of dead processes: %d back in their queues, %d to the dead set",
                result.requeued,
                result.killed,
            )
        return result

    def _clock_stepped(self, now: float) -> bool:
        """True while passes are held after a wall-clock step (detected between two passes)."""
        mono = time.monotonic()
        last, self._last = self._last, (now, mono)
        step = (now - last[0]) - (mono - last[1])
        if abs(step) > CLOCK_STEP_TOLERANCE:
            self._hold_until = mono + self.settle
            log.warning(
                "the wall clock stepped %+.1f s since the last rescue pass; no rescue for %.1f s, so "
                "every live process renews its lease under the new clock first",
                step,
                self.settle,
            )
        return mono < self._hold_until

    def _end_dead_neighbours(self) -> None:
        for process in self.store.processes():
            if process.identity != self.identity and self._provably_dead(process):
                log.warning(
                    "process %s (pid %d) died on this machine; rescuing its jobs now instead of waiting "
                    "for its lease to run out",
                    process.identity,
                    process.pid,
                )
                self.store.end_lease(process.identity)

    def _provably_dead(self, process: ProcessInfo) -> bool:
        """True only for a process that ran on this kernel in our pid namespace and whose pid is gone,
        a zombie, or now another process (other start time). Unknown facts prove nothing."""
        facts = self.facts
        if not (facts.boot_id and facts.pid_namespace and process.pid_started and process.pid > 0):
            return False
        if (process.boot_id, process.pid_namespace) != (facts.boot_id, facts.pid_namespace):
            return False
        return host.pid_started(process.pid) != process.pid_started
