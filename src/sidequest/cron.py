"""Cron schedules: when a periodic job's ticks fall. Pure functions of a clock reading; no I/O.

A :class:`CronSchedule` is a standard 5-field cron expression (minute, hour, day of month, month, day
of week, with ranges ``1-5``, steps ``*/15``, lists ``1,15`` and names ``MON-FRI``, ``JAN``) in a time
zone, or the same with a leading sixth field for seconds (``*/5 * * * * *``), which is what lets tests
and demos run on one-second ticks.

The minute-level arithmetic is cronsim's, chosen because it follows Debian cron across daylight saving
changes (see ``docs/architecture.md``):

* a job at a fixed time inside the hour that the clocks skip in spring (``30 2 * * *`` in Berlin or New
  York) runs once, right after the change (at 03:00);
* a job at a fixed time inside the hour that repeats in autumn runs once, at its first occurrence;
* a job whose minute or hour field is a wildcard (``0 * * * *``, ``*/10 * * * *``) runs on the real
  clock: in the repeated hour it runs in both passes, since each is a different instant.

The seconds field is applied on top: a 6-field expression ticks at those seconds of every minute its
last five fields select, so the DST rules above are the same for both forms. (cronsim reads six fields
itself, but then drops Debian's DST handling; ``0 30 2 * * *`` must behave like ``30 2 * * *``.)

Ticks are whole epoch seconds (``int``): the same instant for every process on every machine, which is
what makes ``(entry, tick)`` a unique key.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from sidequest.errors import ConfigurationError

SECONDS_ITEM = re.compile(r"\A(?:(\*)|(\d{1,2})(?:-(\d{1,2}))?)(?:/(\d{1,2}))?\Z")
"""One item of the seconds field: ``*``, ``N`` or ``N-M``, each optionally followed by ``/STEP``."""

REVERSE_LOOKBACK = 5
"""Minute ticks :meth:`CronSchedule.latest_at_or_before` tries before it gives up (DST edge cases)."""


def zone(tz: str | tzinfo | None) -> tzinfo:
    """The time zone a schedule runs in: a zoneinfo name (``"Europe/Berlin"``), a tzinfo, or None for
    UTC. UTC is the default on purpose: every machine computes the same ticks whatever its local zone."""
    if tz is None:
        return UTC
    if isinstance(tz, tzinfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"unknown time zone {tz!r}: use an IANA name such as 'Europe/Berlin' or 'America/New_York'"
        ) from None


def parse_seconds(field: str) -> tuple[int, ...]:
    """The seconds a 6-field expression's first field selects, sorted; ConfigurationError if invalid."""
    found: set[int] = set()
    for item in field.split(","):
        match = SECONDS_ITEM.match(item)
        if match is None:
            raise ConfigurationError(f"bad seconds field {field!r}: use *, N, N-M, */STEP or lists of them")
        star, first, last, step = match.groups()
        low = 0 if star else int(first)
        # "N/STEP" means N, N+STEP, ... up to 59, as in cron's minute field.
        high = 59 if star or (step and last is None) else int(last or first)
        if not 0 <= low <= high <= 59 or (step is not None and int(step) == 0):
            raise ConfigurationError(f"bad seconds field {field!r}: seconds go from 0 to 59, steps from 1")
        found.update(range(low, high + 1, int(step or 1)))
    return tuple(sorted(found))


class CronSchedule:
    """A cron expression in a time zone, answering "when is the next tick?" for any clock reading."""

    def __init__(self, expression: str, tz: str | tzinfo | None = None) -> None:
        fields = expression.split()
        if len(fields) not in (5, 6):
            raise ConfigurationError(
                f"bad cron expression {expression!r}: expected 5 fields (minute hour day-of-month month "
                f"day-of-week) or 6 with a leading seconds field, got {len(fields)}"
            )
        self.expression = " ".join(fields)
        self.tz = zone(tz)
        self.seconds = parse_seconds(fields[0]) if len(fields) == 6 else (0,)
        self._minutes = " ".join(fields[-5:])
        try:
            CronSim(self._minutes, datetime(2000, 1, 1, tzinfo=self.tz))
        except CronSimError as exc:
            raise ConfigurationError(f"bad cron expression {expression!r}: {exc}") from None

    @property
    def tz_name(self) -> str:
        """The time zone's name as people write it (``Europe/Berlin``, ``UTC``)."""
        return str(getattr(self.tz, "key", None) or self.tz)

    def __repr__(self) -> str:
        return f"CronSchedule({self.expression!r}, tz={self.tz_name!r})"

    def _minute_ticks(self, start: float, reverse: bool = False) -> CronSim:
        return CronSim(self._minutes, datetime.fromtimestamp(start, self.tz), reverse=reverse)

    def next_after(self, when: float) -> int | None:
        """The first tick strictly after ``when`` (epoch seconds), or None if the expression never
        fires again (cronsim looks 50 years ahead)."""
        # A tick m + s > when needs a minute m > when - 60; cronsim yields minutes after its start.
        for minute in self._minute_ticks(math.floor(when) - 60):
            start = int(minute.timestamp())
            for second in self.seconds:
                if start + second > when:
                    return start + second
        return None

    def ticks_between(self, after: float, until: float) -> list[int]:
        """Every tick ``t`` with ``after < t <= until``, in order."""
        ticks: list[int] = []
        tick = self.next_after(after)
        while tick is not None and tick <= until:
            ticks.append(tick)
            tick = self.next_after(tick)
        return ticks

    def latest_at_or_before(self, when: float) -> int | None:
        """The last tick at or before ``when``, or None if there is none in the past 50 years."""
        latest = math.floor(when)
        try:
            minutes = self._minute_ticks(latest + 1, reverse=True)  # yields minutes strictly before
            for _ in range(REVERSE_LOOKBACK):
                start = int(next(minutes).timestamp())
                for second in reversed(self.seconds):
                    tick = start + second
                    # Reverse iteration is not guaranteed to agree with forward iteration around DST
                    # changes; a forward tick is the definition, so only one that forward agrees with counts.
                    if tick <= latest and self.next_after(tick - 1) == tick:
                        return tick
        except StopIteration:
            return None
        return None

    def local(self, tick: float) -> datetime:
        """A tick as an aware datetime in the schedule's time zone (for people)."""
        return datetime.fromtimestamp(tick, self.tz)
