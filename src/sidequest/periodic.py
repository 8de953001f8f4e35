"""Periodic (cron) jobs registered in code: the recipe's "Periodic jobs", Sidekiq Enterprise's
``mgr.register("0 * * * *", "SomeHourlyJob", retry: 2, queue: "foo")``::

    sidequest.periodic("0 * * * *", HourlyReportWorker, name="hourly-report", tz="Europe/Berlin",
                       queue="low", retry=2)

A periodic job calls ``perform`` with no arguments (the recipe's rule), so a worker whose ``perform``
needs arguments is refused here, at registration, not at 3 a.m. when the first tick fires.

There is no global registry: :func:`periodic` attaches the entry to the worker class itself, and a
``sidequest run`` process collects the entries of the workers it loaded through
:meth:`sidequest.registry.WorkerRegistry.periodic_entries`. Once enqueued, a periodic job is an
ordinary job.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from sidequest.cron import CronSchedule
from sidequest.errors import ConfigurationError, WorkerDefinitionError
from sidequest.job import Payload
from sidequest.job_function import WorkerLike, as_worker
from sidequest.options import validate_options
from sidequest.worker import Worker

ENTRIES_ATTRIBUTE = "__sidequest_periodic__"
"""The attribute :func:`periodic` sets on a worker class: a tuple of that class's own entries."""

ENTRY_NAME = re.compile(r"\A[A-Za-z0-9_.\-]+\Z")
"""Entry names: letters, digits, ``_ . -``. No ``:``, which separates the parts of a store key."""

CRON_FIELD = "cron"
"""Payload field naming the periodic entry a job came from (kept untouched by Sidekiq)."""

TICK_FIELD = "cron_at"
"""Payload field holding the tick (epoch seconds) a periodic job was enqueued for."""


@dataclass(frozen=True, eq=False)
class PeriodicEntry:
    """One registered periodic job: which worker, when, with which options."""

    name: str
    worker: type[Worker]
    schedule: CronSchedule
    options: Mapping[str, Any] = field(default_factory=dict)
    catch_up: bool = False
    """When True, a tick missed while no process ran (only the latest one) is enqueued late."""

    @property
    def expression(self) -> str:
        """The cron expression, as registered (whitespace normalized)."""
        return self.schedule.expression

    @property
    def worker_name(self) -> str:
        """The class name its jobs carry."""
        return self.worker.sidequest_name()

    @property
    def queue(self) -> str:
        """The queue its jobs go to: the entry's ``queue`` option, else the worker's."""
        return str(self.options.get("queue", self.worker.get_sidequest_options().get("queue", "default")))

    def mark(self, payload: Payload, tick: int | None) -> Payload:
        """``payload`` with the fields saying which entry (and tick) it came from."""
        payload[CRON_FIELD] = self.name
        if tick is not None:
            payload[TICK_FIELD] = float(tick)  # float: Sidekiq 8 reads integer times as milliseconds
        return payload


def periodic(
    expression: str,
    worker: WorkerLike,
    *,
    name: str | None = None,
    tz: str | tzinfo | None = None,
    catch_up: bool = False,
    **options: Any,
) -> PeriodicEntry:
    """Run ``worker`` with no arguments on a cron schedule, from every ``sidequest run`` process that
    loads this module, each tick enqueued exactly once however many processes run.

    ``expression`` is standard cron (5 fields) or 6 fields with a leading seconds field; ``tz`` an IANA
    time zone name (default UTC); ``name`` identifies the entry in the store and the CLI (default: the
    worker's class name). ``catch_up=True`` enqueues the latest tick missed while no process ran.
    Other keyword arguments are job options (``queue``, ``retry``, ...) overriding the worker's
    ``sidequest_options``. Everything is checked now: a bad expression, zone or option, a duplicate
    name on this worker, or a ``perform`` that needs arguments raises at once.

    Returns the entry, which is also attached to ``worker`` (a :func:`sidequest.job` function's
    Worker class).
    """
    worker = as_worker(worker)
    if not (isinstance(worker, type) and issubclass(worker, Worker)) or worker.__sidequest_abstract__:
        raise WorkerDefinitionError(
            f"periodic({expression!r}, ...): {worker!r} is not a concrete sidequest.Worker subclass"
        )
    entry_name = worker.sidequest_name() if name is None else name
    if not isinstance(entry_name, str) or not ENTRY_NAME.match(entry_name):
        raise ConfigurationError(
            f"bad periodic entry name {entry_name!r}: pass name=... made of letters, digits, '_', '.' "
            f"or '-' (e.g. name='hourly-report')"
        )
    _refuse_required_arguments(worker, entry_name)
    checked = validate_options(options, f"periodic({entry_name!r})")
    entry = PeriodicEntry(entry_name, worker, CronSchedule(expression, tz), checked, bool(catch_up))
    own = entries_of(worker)
    if any(existing.name == entry_name for existing in own):
        raise ConfigurationError(
            f"{worker.__qualname__} already has a periodic entry named {entry_name!r}; give each "
            f"schedule of the same worker its own name=..."
        )
    # A tuple made for this class alone, so subclasses and other classes never share it.
    setattr(worker, ENTRIES_ATTRIBUTE, (*own, entry))
    return entry


def entries_of(worker: type[Worker]) -> tuple[PeriodicEntry, ...]:
    """The periodic entries registered on ``worker`` itself (a subclass does not inherit them)."""
    own: tuple[PeriodicEntry, ...] = vars(worker).get(ENTRIES_ATTRIBUTE, ())
    return own


def _refuse_required_arguments(worker: type[Worker], name: str) -> None:
    signature = worker.__sidequest_signature__
    if signature is None:
        return
    try:
        signature.bind(None)
    except TypeError:
        required = [
            parameter.name
            for parameter in list(signature.parameters.values())[1:]
            if parameter.default is parameter.empty
            and parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
        ]
        raise WorkerDefinitionError(
            f"periodic({name!r}): {worker.__qualname__}.perform{signature} requires "
            f"{', '.join(required)}, but a periodic job calls perform with no arguments (the recipe's "
            f"rule). Give each a default, e.g. perform(self, order_id=None), and enqueue one job per "
            f"record when called without them (enqueue-then-process)."
        ) from None
