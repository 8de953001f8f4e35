"""The cron service: periodic jobs' ticks become jobs, in every process, each tick exactly once.

Every ``sidequest run`` process runs this service for every periodic entry its workers registered
(:func:`sidequest.periodic`), with no leader: each process offers each due tick to the store, and the
store's unique key per ``(entry, tick)`` lets exactly one offer push a job (:meth:`Store.enqueue_tick`).
A leader would be one more thing to lose; Sidekiq Enterprise's changelog is a list of ticks its leader
missed or doubled around elections.

What counts as due, per entry (the service keeps a cursor: ticks at or before it are handled):

* at start the cursor is *now*: ticks missed while no process ran are skipped, except that an entry
  registered with ``catch_up=True`` gets the latest tick it missed since its last enqueue;
* on each pass every tick in ``(cursor, now]`` is offered, oldest first, and the cursor advances past
  each offer the store answered (a store outage leaves it where it was, so those ticks are offered
  again, late, when the store is back);
* ticks more than :data:`MAX_LATE` seconds old (a stall, a long outage) are skipped as if no process
  had run, with the same catch-up rule.

The loop runs every 0.3 to 0.5 s (jittered), so a tick is enqueued within half a second of its time
and one-second schedules work.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sidequest.client import Client
from sidequest.errors import PermanentStoreError, StoreDataError, StoreError
from sidequest.job import NewJob
from sidequest.periodic import PeriodicEntry
from sidequest.stores.base import Store

log = logging.getLogger("sidequest")

CRON_INTERVAL = 0.4
"""Average seconds between passes (jittered by the ServiceLoop)."""

MAX_LATE = 60.0
"""A tick this many seconds past due is missed, not enqueued late. Well inside the store's
CRON_TICK_MEMORY, so a late offer always meets the tick's key if another process enqueued it."""


class CronScheduler:
    """Offers the due ticks of periodic entries to the store; ``run_once`` is one pass."""

    name = "cron"

    def __init__(
        self, store: Store, client: Client, entries: Sequence[PeriodicEntry], max_late: float = MAX_LATE
    ) -> None:
        self.store = store
        self.client = client
        self.entries = list(entries)
        self.max_late = max_late
        self._cursors: dict[str, float] = {}
        self._catching_up = [entry for entry in self.entries if entry.catch_up]
        self._down = False

    def run_once(self, now: float) -> int:
        """Offer every tick due at ``now``; returns how many jobs this process pushed (0 when every
        tick was taken by another process, or the store is down)."""
        pushed = 0
        try:
            if not self._cursors:
                self._cursors = {entry.name: now for entry in self.entries}
            if self._catching_up:
                pushed += self._catch_up(self._catching_up, now)
                self._catching_up = []
            for entry in self.entries:
                pushed += self._offer_due(entry, now)
        except PermanentStoreError:
            raise  # a configuration error ends the process (the ServiceLoop reports it)
        except StoreError as exc:
            if not self._down:
                # StoreDataError: one key of the wrong type, not an outage; its message names the key.
                what = (
                    "is refused by the store" if isinstance(exc, StoreDataError) else "cannot reach the store"
                )
                log.error("cron %s (%s); will retry", what, exc)
            self._down = True
            return pushed
        self._down = False
        return pushed

    def _offer_due(self, entry: PeriodicEntry, now: float) -> int:
        schedule = entry.schedule
        tick = schedule.next_after(self._cursors[entry.name])
        if tick is None or tick > now:
            return 0
        if now - tick > self.max_late:
            # Behind by more than MAX_LATE (the process stalled, or the store was down): as after a
            # restart, the missed ticks are skipped; catch_up entries get their latest one.
            self._cursors[entry.name] = now
            log.warning("periodic %s: skipping ticks missed since %s", entry.name, schedule.local(tick))
            return self._catch_up([entry], now) if entry.catch_up else 0
        pushed = 0
        while tick is not None and tick <= now:
            pushed += self._offer(entry, tick)
            self._cursors[entry.name] = tick
            tick = schedule.next_after(tick)
        return pushed

    def _catch_up(self, entries: Sequence[PeriodicEntry], now: float) -> int:
        """Offer each entry's latest tick at or before ``now`` if the store's last enqueue is older. An
        entry that never ran has nothing to catch up on."""
        states = self.store.cron_state([entry.name for entry in entries])
        pushed = 0
        for entry in entries:
            last = states[entry.name].last_tick
            latest = entry.schedule.latest_at_or_before(now)
            if latest is not None and last is not None and latest > last:
                log.info(
                    "periodic %s: catching up on the tick of %s", entry.name, entry.schedule.local(latest)
                )
                pushed += self._offer(entry, latest)
        return pushed

    def _offer(self, entry: PeriodicEntry, tick: int) -> int:
        payload = self.client.build_payload(entry.worker, [], entry.options, None)
        if payload is None:
            return 0  # a client middleware dropped it: as for any enqueue, nothing to push
        if not self.store.enqueue_tick(entry.name, tick, NewJob(entry.mark(payload, tick))):
            return 0
        log.info(
            "periodic %s: enqueued %s for %s (jid %s)",
            entry.name,
            entry.worker_name,
            entry.schedule.local(tick).isoformat(),
            payload["jid"],
        )
        return 1
