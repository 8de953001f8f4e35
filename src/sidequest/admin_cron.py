"""The admin API for periodic (cron) jobs: what ``sidequest cron`` and a dashboard may read and do.

Entries live in code (:func:`sidequest.periodic`), so the caller passes the ones its loaded workers
registered; the store knows what happened to them (latest enqueue, paused)::

    _, registry = load_workers(["app.workers"])
    cron = CronAdmin(store, registry.periodic_entries())
    cron.entries()              # schedule, zone, next run, last enqueue, paused
    cron.pause("hourly-report")
    cron.enqueue("hourly-report")   # one job now, besides the schedule
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sidequest.admin import AdminError
from sidequest.client import Client
from sidequest.job import NewJob
from sidequest.periodic import PeriodicEntry
from sidequest.stores.base import CronState, Store


@dataclass(frozen=True, slots=True)
class CronEntryInfo:
    """One periodic entry as people see it: its definition, its next run, and the store's record."""

    name: str
    worker: str
    expression: str
    tz: str
    queue: str
    catch_up: bool
    next_run: float | None
    state: CronState

    @property
    def paused(self) -> bool:
        """True while people have paused the entry."""
        return self.state.paused


class CronAdmin:
    """Reads and actions on the periodic entries of one set of workers, over one store."""

    def __init__(
        self, store: Store, entries: Sequence[PeriodicEntry], *, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.clock = clock
        self._entries = {entry.name: entry for entry in entries}

    def entries(self) -> list[CronEntryInfo]:
        """Every entry, by name, with its next run after now and what the store recorded."""
        states = self.store.cron_state(list(self._entries))
        now = self.clock()
        return [self._info(self._entries[name], states[name], now) for name in sorted(self._entries)]

    def entry(self, name: str) -> PeriodicEntry:
        """The entry called ``name``; an AdminError listing the known names when there is none."""
        entry = self._entries.get(name)
        if entry is None:
            known = (
                ", ".join(sorted(self._entries)) or "none (is the module with the periodic() calls loaded?)"
            )
            raise AdminError(f"no periodic entry named {name!r}; known entries: {known}")
        return entry

    def pause(self, name: str) -> CronEntryInfo:
        """Stop enqueueing ``name``'s ticks, in every process, until :meth:`resume`. Ticks that fall
        meanwhile are skipped. Returns the entry as it is now."""
        return self._set_paused(name, True)

    def resume(self, name: str) -> CronEntryInfo:
        """Enqueue ``name``'s ticks again, from the next one."""
        return self._set_paused(name, False)

    def enqueue(self, name: str) -> str:
        """Enqueue one job of entry ``name`` now, with the entry's options, besides its schedule (and
        even while it is paused). Returns the jid."""
        entry = self.entry(name)
        client = Client(self.store)
        payload = client.build_payload(entry.worker, [], entry.options, None)
        if payload is None:  # pragma: no cover - this client has no middleware
            raise AdminError(f"a client middleware dropped the job of {name!r}")
        client.write([NewJob(entry.mark(payload, None))])
        return str(payload["jid"])

    def _set_paused(self, name: str, paused: bool) -> CronEntryInfo:
        entry = self.entry(name)
        self.store.pause_cron(name, paused)
        return self._info(entry, self.store.cron_state([name])[name], self.clock())

    @staticmethod
    def _info(entry: PeriodicEntry, state: CronState, now: float) -> CronEntryInfo:
        return CronEntryInfo(
            name=entry.name,
            worker=entry.worker_name,
            expression=entry.expression,
            tz=entry.schedule.tz_name,
            queue=entry.queue,
            catch_up=entry.catch_up,
            next_run=entry.schedule.next_after(now),
            state=state,
        )
