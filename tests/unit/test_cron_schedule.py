"""When periodic jobs tick: cron expressions evaluated against a fixed clock, no waiting.

Every scenario reads a clock value, asks the schedule for its ticks, and compares them as local
times in the schedule's zone (with their UTC offset, so a DST change shows in the expectation).
"""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from sidequest.cron import CronSchedule
from sidequest.errors import ConfigurationError

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"


def at(text: str, tz: str = "UTC", fold: int = 0) -> float:
    """Epoch seconds of a local wall-clock time (``fold=1``: the second pass of a repeated hour)."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz), fold=fold).timestamp()


def upcoming(schedule: CronSchedule, start: float, count: int) -> list[str]:
    """The next ``count`` ticks after ``start``, as local ISO times with their offset."""
    ticks: list[str] = []
    tick = schedule.next_after(start)
    while tick is not None and len(ticks) < count:
        ticks.append(schedule.local(tick).isoformat())
        tick = schedule.next_after(tick)
    return ticks


# -- the calendar --------------------------------------------------------------------------------------


def test_every_minute_ticks_at_the_start_of_each_minute() -> None:
    schedule = CronSchedule("* * * * *")

    assert upcoming(schedule, at("2026-05-04T10:00:30"), 3) == [
        "2026-05-04T10:01:00+00:00",
        "2026-05-04T10:02:00+00:00",
        "2026-05-04T10:03:00+00:00",
    ]


def test_a_tick_is_strictly_after_the_clock_reading() -> None:
    schedule = CronSchedule("0 * * * *")

    assert upcoming(schedule, at("2026-05-04T10:00:00"), 1) == ["2026-05-04T11:00:00+00:00"]
    assert schedule.next_after(at("2026-05-04T09:59:59.999")) == at("2026-05-04T10:00:00")


def test_hourly_in_a_time_zone_ticks_on_the_local_hour() -> None:
    schedule = CronSchedule("0 * * * *", BERLIN)

    assert upcoming(schedule, at("2026-05-04T23:10:00", BERLIN), 2) == [
        "2026-05-05T00:00:00+02:00",
        "2026-05-05T01:00:00+02:00",
    ]


def test_weekday_range_by_name_skips_the_weekend() -> None:
    schedule = CronSchedule("0 9 * * MON-FRI", NEW_YORK)
    friday_noon = at("2026-05-08T12:00:00", NEW_YORK)

    assert upcoming(schedule, friday_noon, 2) == ["2026-05-11T09:00:00-04:00", "2026-05-12T09:00:00-04:00"]


def test_steps_within_a_range_of_hours() -> None:
    schedule = CronSchedule("*/20 9-17/4 * * *")

    assert upcoming(schedule, at("2026-05-04T08:00:00"), 5) == [
        "2026-05-04T09:00:00+00:00",
        "2026-05-04T09:20:00+00:00",
        "2026-05-04T09:40:00+00:00",
        "2026-05-04T13:00:00+00:00",
        "2026-05-04T13:20:00+00:00",
    ]


def test_lists_and_month_names() -> None:
    schedule = CronSchedule("0 6 1,15 jan,JUL *")

    assert upcoming(schedule, at("2026-01-20T00:00:00"), 3) == [
        "2026-07-01T06:00:00+00:00",
        "2026-07-15T06:00:00+00:00",
        "2027-01-01T06:00:00+00:00",
    ]


def test_day_31_skips_the_months_that_have_no_31st() -> None:
    schedule = CronSchedule("0 0 31 * *")

    assert upcoming(schedule, at("2026-01-31T00:00:00"), 3) == [
        "2026-03-31T00:00:00+00:00",
        "2026-05-31T00:00:00+00:00",
        "2026-07-31T00:00:00+00:00",
    ]


def test_the_last_day_of_february_is_the_29th_in_a_leap_year() -> None:
    schedule = CronSchedule("0 0 L 2 *")

    assert upcoming(schedule, at("2027-06-01T00:00:00"), 2) == [
        "2028-02-29T00:00:00+00:00",
        "2029-02-28T00:00:00+00:00",
    ]


def test_a_leap_day_job_waits_for_the_next_leap_year() -> None:
    schedule = CronSchedule("30 12 29 2 *")

    assert upcoming(schedule, at("2025-03-01T00:00:00"), 2) == [
        "2028-02-29T12:30:00+00:00",
        "2032-02-29T12:30:00+00:00",
    ]


def test_day_of_month_or_day_of_week_when_both_are_restricted_as_cron_does() -> None:
    schedule = CronSchedule("0 0 13 * FRI")  # the 13th, and every Friday

    assert upcoming(schedule, at("2026-02-01T00:00:00"), 3) == [
        "2026-02-06T00:00:00+00:00",
        "2026-02-13T00:00:00+00:00",
        "2026-02-20T00:00:00+00:00",
    ]


# -- the seconds field ------------------------------------------------------------------------------------


def test_six_fields_tick_at_those_seconds_of_every_selected_minute() -> None:
    schedule = CronSchedule("*/20 * * * * *")

    assert upcoming(schedule, at("2026-05-04T10:00:30"), 4) == [
        "2026-05-04T10:00:40+00:00",
        "2026-05-04T10:01:00+00:00",
        "2026-05-04T10:01:20+00:00",
        "2026-05-04T10:01:40+00:00",
    ]


def test_every_second_ticks_every_second() -> None:
    schedule = CronSchedule("* * * * * *")
    start = at("2026-05-04T10:00:58.5")

    assert schedule.ticks_between(start, start + 4) == [int(start) + n for n in range(1, 5)]


def test_seconds_ranges_lists_and_steps_from_an_offset() -> None:
    assert CronSchedule("5-7,30/15 0 12 * * *").seconds == (5, 6, 7, 30, 45)


# -- daylight saving time ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "day", "expected"),
    [
        (BERLIN, "2026-03-29", ["2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"]),
        (NEW_YORK, "2026-03-08", ["2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"]),
    ],
)
def test_a_job_in_the_skipped_spring_hour_runs_once_right_after_the_change(
    tz: str, day: str, expected: list[str]
) -> None:
    schedule = CronSchedule("30 2 * * *", tz)

    assert upcoming(schedule, at(f"{day}T00:00:00", tz), 2) == expected


@pytest.mark.parametrize(
    ("tz", "expression", "day", "expected"),
    [
        (BERLIN, "30 2 * * *", "2026-10-25", ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"]),
        (NEW_YORK, "30 1 * * *", "2026-11-01", ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"]),
    ],
)
def test_a_job_in_the_repeated_autumn_hour_runs_once_at_its_first_occurrence(
    tz: str, expression: str, day: str, expected: list[str]
) -> None:
    schedule = CronSchedule(expression, tz)

    assert upcoming(schedule, at(f"{day}T00:00:00", tz), 2) == expected


def test_a_process_starting_in_the_second_pass_of_the_repeated_hour_does_not_run_it_again() -> None:
    schedule = CronSchedule("30 1 * * *", NEW_YORK)
    second_pass = at("2026-11-01T01:10:00", NEW_YORK, fold=1)  # after 01:30 EDT has happened

    assert upcoming(schedule, second_pass, 1) == ["2026-11-02T01:30:00-05:00"]


@pytest.mark.parametrize(("tz", "day", "hour"), [(BERLIN, "2026-10-25", 2), (NEW_YORK, "2026-11-01", 1)])
def test_hourly_jobs_lose_no_tick_in_the_repeated_hour(tz: str, day: str, hour: int) -> None:
    schedule = CronSchedule("0 * * * *", tz)
    start = at(f"{day}T00:00:00", tz)
    ticks = schedule.ticks_between(start - 1, at(f"{day}T23:59:59", tz))

    assert len(ticks) == 25  # the day is 25 hours long
    assert all(b - a == 3600 for a, b in pairwise(ticks))
    repeated = [schedule.local(t).isoformat() for t in ticks if schedule.local(t).hour == hour]
    assert len(repeated) == 2 and repeated[0][-6:] != repeated[1][-6:]


@pytest.mark.parametrize(("tz", "day"), [(BERLIN, "2026-03-29"), (NEW_YORK, "2026-03-08")])
def test_hourly_jobs_have_a_23_hour_spring_day_with_no_gap_in_real_time(tz: str, day: str) -> None:
    schedule = CronSchedule("0 * * * *", tz)
    ticks = schedule.ticks_between(at(f"{day}T00:00:00", tz) - 1, at(f"{day}T23:59:59", tz))

    assert len(ticks) == 23
    assert all(b - a == 3600 for a, b in pairwise(ticks))


@pytest.mark.parametrize(
    ("tz", "change"),
    [(BERLIN, "2026-10-25T01:30:00"), (NEW_YORK, "2026-11-01T00:30:00"), (BERLIN, "2026-03-29T01:30:00")],
)
def test_every_minute_ticks_every_60_real_seconds_across_a_change(tz: str, change: str) -> None:
    schedule = CronSchedule("* * * * *", tz)
    start = at(change, tz)
    ticks = schedule.ticks_between(start, start + 3 * 3600)

    assert len(ticks) == 180
    assert all(b - a == 60 for a, b in pairwise(ticks))


def test_the_seconds_form_follows_the_same_dst_rules() -> None:
    five = CronSchedule("30 2 * * *", BERLIN)
    six = CronSchedule("0 30 2 * * *", BERLIN)

    for day in ("2026-03-28", "2026-10-24"):
        start = at(f"{day}T00:00:00", BERLIN)
        assert upcoming(six, start, 3) == upcoming(five, start, 3)


# -- the latest tick (catching up) ------------------------------------------------------------------------


def test_latest_tick_at_or_before_a_clock_reading() -> None:
    schedule = CronSchedule("0 9 * * MON-FRI", BERLIN)
    monday_nine = at("2026-05-11T09:00:00", BERLIN)

    assert schedule.latest_at_or_before(monday_nine) == monday_nine
    assert schedule.latest_at_or_before(monday_nine - 1) == at("2026-05-08T09:00:00", BERLIN)


def test_latest_tick_with_seconds_and_across_the_spring_gap() -> None:
    assert CronSchedule("*/20 * * * * *").latest_at_or_before(at("2026-05-04T10:00:59")) == at(
        "2026-05-04T10:00:40"
    )
    spring = CronSchedule("30 2 * * *", BERLIN)
    assert spring.latest_at_or_before(at("2026-03-29T05:00:00", BERLIN)) == at("2026-03-29T03:00:00", BERLIN)


def test_latest_tick_in_the_repeated_hour_is_its_first_occurrence() -> None:
    schedule = CronSchedule("30 1 * * *", NEW_YORK)

    latest = schedule.latest_at_or_before(at("2026-11-01T01:45:00", NEW_YORK, fold=1))

    assert latest is not None and schedule.local(latest).isoformat() == "2026-11-01T01:30:00-04:00"


# -- mistakes ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "tz", "message"),
    [
        ("* * * *", None, "expected 5 fields"),
        ("61 * * * *", None, "Bad minute"),
        ("60 * * * * *", None, "bad seconds field"),
        ("*/0 * * * * *", None, "bad seconds field"),
        ("0 0 30 2 *", None, "Bad day-of-month"),
        ("0 0 * * FUNDAY", None, "Bad day-of-week"),
        ("0 0 * * *", "Mars/Olympus_Mons", "unknown time zone"),
    ],
)
def test_a_bad_expression_or_zone_is_refused_with_what_to_write(
    expression: str, tz: str | None, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        CronSchedule(expression, tz)


def test_utc_is_the_default_zone() -> None:
    assert CronSchedule("0 0 * * *").tz_name == "UTC"
    assert CronSchedule("0 0 * * *", BERLIN).tz_name == BERLIN
