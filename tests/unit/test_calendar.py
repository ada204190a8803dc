"""Tests of business calendars: validation and open-time arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from processors.domain.calendar import add_business_seconds, business_seconds_between
from schemas.calendar import Calendar

HOUR = 3600
WEEKDAYS_9_TO_5 = {
    day: ("09:00-17:00",)
    for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
}
OFFICE = Calendar(name="office", timezone="UTC", hours=WEEKDAYS_9_TO_5)
BERLIN = Calendar(
    name="berlin",
    timezone="Europe/Berlin",
    hours={**WEEKDAYS_9_TO_5, "monday": ("08:00-12:00", "13:00-17:00")},
    holidays=(date(2026, 12, 25), date(2026, 12, 28)),
)
# Opens through the night, so daylight-saving changes (at 02:00 in New York)
# fall inside open hours.
NIGHT_SHIFT = Calendar(
    name="night-shift",
    timezone="America/New_York",
    hours={
        day: ("00:00-06:00", "20:00-24:00")
        for day in ("saturday", "sunday", "monday", "tuesday")
    },
    holidays=(date(2026, 11, 3),),
)
CALENDARS = [OFFICE, BERLIN, NIGHT_SHIFT]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def local(zone: str, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=ZoneInfo(zone))


# Examples.


def test_friday_afternoon_sla_due_monday() -> None:
    friday = utc(2026, 12, 4, 16)

    due = add_business_seconds(OFFICE, friday, 8 * HOUR)

    assert due == utc(2026, 12, 7, 16)


def test_business_seconds_over_weekend() -> None:
    friday = utc(2026, 12, 4, 16)
    monday = utc(2026, 12, 7, 16)

    assert business_seconds_between(OFFICE, friday, monday) == 8 * HOUR


def test_start_outside_hours_waits_for_opening() -> None:
    saturday = utc(2026, 12, 5, 11)

    assert add_business_seconds(OFFICE, saturday, HOUR) == utc(2026, 12, 7, 10)


def test_ending_at_closing_time() -> None:
    friday = utc(2026, 12, 4, 16)

    assert add_business_seconds(OFFICE, friday, HOUR) == utc(2026, 12, 4, 17)


def test_zero_seconds_is_start() -> None:
    sunday = utc(2026, 12, 6, 3)

    assert add_business_seconds(OFFICE, sunday, 0) == sunday


def test_negative_seconds_rejected() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        add_business_seconds(OFFICE, utc(2026, 12, 4, 16), -1)


def test_end_before_start_is_zero() -> None:
    start = utc(2026, 12, 4, 16)

    assert business_seconds_between(OFFICE, start, start - timedelta(days=3)) == 0


def test_holidays_are_closed() -> None:
    # Thursday 24 December 2026, 16:00 in Berlin; Friday the 25th and
    # Monday the 28th are holidays.
    start = local("Europe/Berlin", 2026, 12, 24, 16)

    due = add_business_seconds(BERLIN, start, 2 * HOUR)

    assert due == local("Europe/Berlin", 2026, 12, 29, 10)


def test_lunch_break_skipped() -> None:
    start = local("Europe/Berlin", 2026, 11, 30, 11)

    due = add_business_seconds(BERLIN, start, 2 * HOUR)

    assert due == local("Europe/Berlin", 2026, 11, 30, 14)


def test_local_hours_across_dst_change() -> None:
    # Berlin leaves summer time on Sunday 25 October 2026. Friday 16:00 is
    # 14:00 UTC, Monday 16:00 is 15:00 UTC: eight open hours either way.
    friday = local("Europe/Berlin", 2026, 10, 23, 16)

    due = add_business_seconds(BERLIN, friday, 8 * HOUR)

    assert due == local("Europe/Berlin", 2026, 10, 26, 16)
    assert due.astimezone(UTC) == utc(2026, 10, 26, 15)


def test_spring_forward_night_is_shorter() -> None:
    # 8 March 2026: New York skips 02:00-03:00, so 00:00-06:00 is 5 hours.
    night = local("America/New_York", 2026, 3, 8, 0)
    morning = local("America/New_York", 2026, 3, 8, 6)

    assert business_seconds_between(NIGHT_SHIFT, night, morning) == 5 * HOUR


def test_fall_back_night_is_longer() -> None:
    # 1 November 2026: New York repeats 01:00-02:00, so 00:00-06:00 is 7 hours.
    night = local("America/New_York", 2026, 11, 1, 0)
    morning = local("America/New_York", 2026, 11, 1, 6)

    assert business_seconds_between(NIGHT_SHIFT, night, morning) == 7 * HOUR


def test_end_of_day_range() -> None:
    evening = local("America/New_York", 2026, 12, 5, 23)

    due = add_business_seconds(NIGHT_SHIFT, evening, 2 * HOUR)

    assert due == local("America/New_York", 2026, 12, 6, 1)


# Validation.


def test_calendar_without_hours_rejected() -> None:
    with pytest.raises(ValidationError) as error:
        Calendar(name="closed", hours={"monday": ()})

    assert "calendar 'closed'" in str(error.value)
    assert "field 'hours'" in str(error.value)


def test_unknown_time_zone_rejected() -> None:
    with pytest.raises(ValidationError, match="'Mars/Olympus' is not an IANA"):
        Calendar(name="office", timezone="Mars/Olympus", hours=WEEKDAYS_9_TO_5)


@pytest.mark.parametrize("text", ["9-17", "17:00-09:00", "09:00-24:30", "08:61-09:00"])
def test_bad_range_rejected(text: str) -> None:
    with pytest.raises(ValidationError, match="field 'hours.monday'"):
        Calendar(name="office", hours={"monday": (text,)})


def test_overlapping_ranges_rejected() -> None:
    with pytest.raises(ValidationError, match="ranges overlap"):
        Calendar(name="office", hours={"monday": ("09:00-13:00", "12:00-17:00")})


def test_unknown_weekday_rejected() -> None:
    with pytest.raises(ValidationError, match="hours"):
        Calendar(name="office", hours={"funday": ("09:00-17:00",)})


# Properties.

# Daylight-saving changes of the calendars' zones in 2026 (UTC dates).
DST_CHANGES = [
    utc(2026, 3, 8, 7),  # New York springs forward
    utc(2026, 3, 29, 1),  # Berlin springs forward
    utc(2026, 10, 25, 1),  # Berlin falls back
    utc(2026, 11, 1, 6),  # New York falls back
]
anywhere = st.datetimes(
    min_value=datetime(2025, 1, 1),
    max_value=datetime(2028, 12, 31),
    timezones=st.just(UTC),
)
near_dst = st.builds(
    lambda change, offset: change + timedelta(seconds=offset),
    st.sampled_from(DST_CHANGES),
    st.integers(-3 * 86400, 3 * 86400),
)
instants = st.one_of(anywhere, near_dst)
durations = st.integers(0, 60 * 24 * HOUR * 1000).map(lambda ms: ms / 1000)
calendars = st.sampled_from(CALENDARS)


@settings(max_examples=300, deadline=None)
@given(calendar=calendars, start=instants, seconds=durations)
def test_add_then_measure_round_trip(
    calendar: Calendar, start: datetime, seconds: float
) -> None:
    due = add_business_seconds(calendar, start, seconds)

    assert due >= start
    assert business_seconds_between(calendar, start, due) == pytest.approx(
        seconds, abs=1e-6
    )


@settings(max_examples=300, deadline=None)
@given(calendar=calendars, start=instants, seconds=durations)
def test_added_instant_is_earliest(
    calendar: Calendar, start: datetime, seconds: float
) -> None:
    due = add_business_seconds(calendar, start, seconds)
    just_before = due - timedelta(microseconds=1)

    if seconds > 0:
        assert business_seconds_between(calendar, start, just_before) < seconds


@settings(max_examples=300, deadline=None)
@given(calendar=calendars, first=instants, second=instants)
def test_business_seconds_never_negative(
    calendar: Calendar, first: datetime, second: datetime
) -> None:
    assert business_seconds_between(calendar, first, second) >= 0


@settings(max_examples=300, deadline=None)
@given(calendar=calendars, first=instants, second=instants)
def test_business_seconds_within_wall_time(
    calendar: Calendar, first: datetime, second: datetime
) -> None:
    start, end = sorted((first, second))

    assert business_seconds_between(calendar, start, end) <= (
        end - start
    ).total_seconds()


@settings(max_examples=300, deadline=None)
@given(calendar=calendars, moments=st.lists(instants, min_size=3, max_size=3))
def test_business_seconds_add_up(calendar: Calendar, moments: list[datetime]) -> None:
    first, middle, last = sorted(moments)

    whole = business_seconds_between(calendar, first, last)
    parts = business_seconds_between(
        calendar, first, middle
    ) + business_seconds_between(calendar, middle, last)

    assert whole == pytest.approx(parts, abs=1e-6)


@settings(max_examples=200, deadline=None)
@given(
    day=st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31)),
    hours=st.integers(1, 40),
)
def test_office_hours_whole_days(day: date, hours: int) -> None:
    """From an opening time, n open hours end at opening + n % 8 hours on
    the (n // 8)-th next working day, or at the closing time of the day
    before when n is a multiple of 8."""
    while day.weekday() >= 5:
        day += timedelta(days=1)
    start = utc(day.year, day.month, day.day, 9)

    due = add_business_seconds(OFFICE, start, hours * HOUR)

    whole_days, rest = divmod(hours, 8)
    if rest == 0:
        whole_days, rest = whole_days - 1, 8
    expected = day
    for _ in range(whole_days):
        expected += timedelta(days=1)
        while expected.weekday() >= 5:
            expected += timedelta(days=1)
    assert due == utc(expected.year, expected.month, expected.day, 9 + rest)
