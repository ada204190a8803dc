"""Tests of staged, windowed, adjusted and calendar-based priority curves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from processors.domain.priority import adjustment_for, next_change_at, priority_at
from schemas.calendar import Calendar
from schemas.routing import PriorityScheme, Stage, Window

# Friday 4 December 2026, 16:00 UTC.
START = datetime(2026, 12, 4, 16, tzinfo=UTC)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)
MICROSECOND = timedelta(microseconds=1)
OFFICE = Calendar(
    name="office",
    timezone="Europe/Berlin",
    hours={
        day: ("09:00-12:00", "13:00-17:00")
        for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
    },
)
UTC_OFFICE = Calendar(
    name="utc-office",
    hours={
        day: ("09:00-17:00",)
        for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
    },
)


def scheme(**fields) -> PriorityScheme:
    return PriorityScheme(name="test", **fields)


# Examples.


def test_stages_change_pace() -> None:
    staged = scheme(
        initial=100,
        stages=(
            Stage(after_seconds=0, increment=10, interval_seconds=3600),
            Stage(after_seconds=4 * 3600, increment=50, interval_seconds=900),
        ),
    )

    assert priority_at(staged, START, None, START + 59 * MINUTE) == 100
    assert priority_at(staged, START, None, START + HOUR) == 110
    assert priority_at(staged, START, None, START + 4 * HOUR) == 140
    assert priority_at(staged, START, None, START + 4 * HOUR + 14 * MINUTE) == 140
    assert priority_at(staged, START, None, START + 4 * HOUR + 15 * MINUTE) == 190
    assert priority_at(staged, START, None, START + 5 * HOUR) == 340


def test_stage_next_change() -> None:
    staged = scheme(
        initial=100,
        stages=(
            Stage(after_seconds=0, increment=10, interval_seconds=3600),
            Stage(after_seconds=4 * 3600, increment=50, interval_seconds=900),
        ),
    )

    change = next_change_at(staged, START, None, START + 4 * HOUR)

    assert change == START + 4 * HOUR + 15 * MINUTE


def test_falling_curve_floored() -> None:
    lead = scheme(initial=500, increment=-100, interval_seconds=86400, minimum=150)

    assert priority_at(lead, START, None, START + DAY) == 400
    assert priority_at(lead, START, None, START + 3 * DAY) == 200
    assert priority_at(lead, START, None, START + 4 * DAY) == 150
    assert next_change_at(lead, START, None, START + 4 * DAY) is None


def test_window_raises_between_offsets() -> None:
    windowed = scheme(
        initial=100,
        windows=(
            Window(from_seconds=6 * 86400, until_seconds=8 * 86400, raise_by=250),
        ),
    )

    assert priority_at(windowed, START, None, START + 6 * DAY - MICROSECOND) == 100
    assert priority_at(windowed, START, None, START + 6 * DAY) == 350
    assert priority_at(windowed, START, None, START + 8 * DAY - MICROSECOND) == 350
    assert priority_at(windowed, START, None, START + 8 * DAY) == 100
    assert next_change_at(windowed, START, None, START) == START + 6 * DAY
    assert next_change_at(windowed, START, None, START + 7 * DAY) == START + 8 * DAY


def test_window_clamped_to_maximum() -> None:
    windowed = scheme(
        initial=900,
        maximum=1000,
        windows=(Window(from_seconds=0, until_seconds=3600, raise_by=250),),
    )

    assert priority_at(windowed, START, None, START) == 1000


def test_priority_at_due_explicit() -> None:
    climbing = scheme(
        initial=100, interval_seconds=3600, priority_at_due=500, overdue=700
    )
    due = START + 4 * HOUR

    assert priority_at(climbing, START, due, START + 2 * HOUR) == 300
    assert priority_at(climbing, START, due, due) == 500
    assert priority_at(climbing, START, due, due + MICROSECOND) == 700


def test_scaled_stages_reach_maximum() -> None:
    steep_end = scheme(
        initial=200,
        maximum=800,
        reach_maximum_at_due=True,
        stages=(
            Stage(after_percent_of_sla=0, increment=1, interval_seconds=3600),
            Stage(after_percent_of_sla=50, increment=3, interval_seconds=3600),
        ),
    )
    due = START + 8 * HOUR

    # Four steps of weight 1 and four of weight 3: 600 / 16 = 37.5 per weight.
    assert priority_at(steep_end, START, due, START + 4 * HOUR) == 350
    assert priority_at(steep_end, START, due, START + 5 * HOUR) == 462
    assert priority_at(steep_end, START, due, due - MICROSECOND) == 688
    assert priority_at(steep_end, START, due, due) == 800


def test_adjustment_value_and_bonus() -> None:
    valued = scheme(
        initial=100,
        adjustment={
            "value_attribute": "amount",
            "factor": 0.01,
            "bonus": {"tier": {"gold": 50, "silver": 20}},
            "maximum": 150,
        },
    )

    assert adjustment_for(valued, {"amount": 5000}) == 50
    assert adjustment_for(valued, {"amount": "5000", "tier": "silver"}) == 70
    assert adjustment_for(valued, {"amount": 50000, "tier": "gold"}) == 150
    assert adjustment_for(valued, {"amount": "many", "tier": "bronze"}) == 0
    assert adjustment_for(valued, {"amount": True}) == 0


def test_adjustment_shifts_start() -> None:
    rising = scheme(initial=100, increment=10, interval_seconds=3600)

    assert priority_at(rising, START, None, START + HOUR, adjustment=70) == 180


def test_calendar_curve_pauses_over_weekend() -> None:
    hourly = scheme(initial=100, increment=10, interval_seconds=3600, calendar="office")
    # Friday 16:00 UTC is 17:00 in Berlin, closing time.
    friday = START - HOUR
    saturday = START + DAY
    monday_ten = datetime(2026, 12, 7, 9, tzinfo=UTC)

    assert priority_at(hourly, friday, None, START, calendar=OFFICE) == 110
    assert priority_at(hourly, friday, None, saturday, calendar=OFFICE) == 110
    assert next_change_at(hourly, friday, None, START, calendar=OFFICE) == monday_ten
    assert priority_at(hourly, friday, None, monday_ten, calendar=OFFICE) == 120


def test_calendar_curve_reaches_maximum_at_due() -> None:
    climbing = scheme(
        initial=100,
        maximum=900,
        interval_seconds=3600,
        reach_maximum_at_due=True,
        overdue=1000,
        calendar="utc-office",
    )
    due = datetime(2026, 12, 7, 16, tzinfo=UTC)  # 8 open hours after START

    assert priority_at(climbing, START, due, START + HOUR, calendar=UTC_OFFICE) == 200
    assert priority_at(climbing, START, due, START + DAY, calendar=UTC_OFFICE) == 200
    assert priority_at(climbing, START, due, due, calendar=UTC_OFFICE) == 900
    late = due + MICROSECOND
    assert priority_at(climbing, START, due, late, calendar=UTC_OFFICE) == 1000


# Validation.


def test_minimum_above_maximum_rejected() -> None:
    with pytest.raises(ValidationError, match="'test': minimum 900 is above"):
        scheme(initial=100, minimum=900, maximum=500)


def test_scaled_stage_seconds_rejected() -> None:
    with pytest.raises(ValidationError, match=r"'stages\[1\].after_seconds'"):
        scheme(
            initial=100,
            reach_maximum_at_due=True,
            stages=(
                Stage(after_percent_of_sla=0, increment=1, interval_seconds=60),
                Stage(after_seconds=3600, increment=1, interval_seconds=60),
            ),
        )


def test_scaled_stages_without_climb_rejected() -> None:
    with pytest.raises(ValidationError) as error:
        scheme(
            initial=100,
            reach_maximum_at_due=True,
            stages=(Stage(after_percent_of_sla=0, increment=0, interval_seconds=60),),
        )

    assert "priority scheme 'test'" in str(error.value)
    assert "field 'stages'" in str(error.value)
    assert "reach_maximum_at_due" in str(error.value)


def test_scaled_falling_stage_rejected() -> None:
    with pytest.raises(ValidationError, match=r"'stages\[0\].increment'"):
        scheme(
            initial=100,
            priority_at_due=500,
            stages=(Stage(after_percent_of_sla=0, increment=-1, interval_seconds=60),),
        )


def test_stages_out_of_order_rejected() -> None:
    with pytest.raises(ValidationError, match=r"'stages\[1\]': stages must be listed"):
        scheme(
            initial=100,
            stages=(
                Stage(after_seconds=3600, increment=1, interval_seconds=60),
                Stage(after_seconds=600, increment=1, interval_seconds=60),
            ),
        )


def test_overlapping_windows_rejected() -> None:
    with pytest.raises(ValidationError, match="windows 0 and 1 overlap"):
        scheme(
            initial=100,
            windows=(
                Window(from_seconds=0, until_seconds=3600, raise_by=10),
                Window(from_seconds=1800, until_seconds=7200, raise_by=10),
            ),
        )


def test_increment_with_stages_rejected() -> None:
    with pytest.raises(ValidationError, match="field 'increment'"):
        scheme(
            initial=100,
            increment=5,
            stages=(Stage(after_seconds=0, increment=1, interval_seconds=60),),
        )


def test_due_priority_outside_bounds_rejected() -> None:
    with pytest.raises(ValidationError, match="field 'priority_at_due'"):
        scheme(initial=100, maximum=500, priority_at_due=600)


def test_both_due_targets_rejected() -> None:
    with pytest.raises(ValidationError, match="not both"):
        scheme(initial=100, reach_maximum_at_due=True, priority_at_due=500)


def test_window_ending_before_start_rejected() -> None:
    with pytest.raises(ValidationError, match="must end after it starts"):
        Window(from_seconds=3600, until_seconds=60, raise_by=1)


# Properties.


@st.composite
def schemes(
    draw: st.DrawFn,
    scaled: bool | None = None,
    falling: bool = True,
    windows: bool = True,
) -> PriorityScheme:
    """Draw a scheme with 0 to 3 stages, disjoint windows and due values."""
    minimum = draw(st.integers(0, 500))
    maximum = draw(st.integers(minimum, minimum + 1000))
    scaled = draw(st.booleans()) if scaled is None else scaled
    low = 0 if scaled or not falling else -60
    increments = st.integers(low, 60)
    intervals = st.sampled_from([1.0, 60.0, 450.0, 900.0, 3600.0, 5400.0])
    count = draw(st.integers(0, 3))
    fields: dict = {}

    if scaled and count:
        shares = draw(st.lists(st.floats(1, 99), max_size=count - 1, unique=True))
        size = len(shares) + 1
        weights = draw(st.lists(increments, min_size=size, max_size=size))
        assume(any(weight > 0 for weight in weights))
        fields["stages"] = tuple(
            Stage(
                after_percent_of_sla=share,
                increment=weight,
                interval_seconds=draw(intervals),
            )
            for share, weight in zip([0.0, *sorted(shares)], weights)
        )
    elif count:
        offsets = draw(
            st.lists(st.integers(1, 40 * 3600), max_size=count - 1, unique=True)
        )
        first = draw(st.sampled_from([0, 0, 1800]))
        offsets = [first, *sorted(offset + first for offset in offsets)]
        fields["stages"] = tuple(
            Stage(
                after_seconds=offset,
                increment=draw(increments),
                interval_seconds=draw(intervals),
            )
            for offset in offsets
        )
    else:
        fields["increment"] = 0 if scaled else draw(increments)
        fields["interval_seconds"] = draw(intervals)

    if scaled and draw(st.booleans()):
        fields["priority_at_due"] = draw(st.integers(minimum, maximum))
    else:
        fields["reach_maximum_at_due"] = scaled

    if windows:
        edges = sorted(
            draw(st.lists(st.integers(0, 60 * 3600), max_size=4, unique=True))
        )
        fields["windows"] = tuple(
            Window(
                from_seconds=start,
                until_seconds=end,
                raise_by=draw(st.integers(-200, 200)),
            )
            for start, end in zip(edges[::2], edges[1::2])
        )

    return PriorityScheme(
        name="drawn",
        initial=draw(st.integers(minimum, maximum)),
        minimum=minimum,
        maximum=maximum,
        overdue=draw(st.none() | st.integers(0, 3000)),
        **fields,
    )


def time_at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


elapsed_seconds = st.floats(-3600, 80 * 3600, allow_nan=False)
due_offsets = st.none() | st.floats(1, 80 * 3600, allow_nan=False)
adjustments = st.integers(-300, 300)


@settings(max_examples=300, deadline=None)
@given(
    drawn=schemes(),
    due_offset=due_offsets,
    now_offset=elapsed_seconds,
    adjustment=adjustments,
)
def test_curve_within_bounds(
    drawn: PriorityScheme, due_offset: float | None, now_offset: float, adjustment: int
) -> None:
    due = None if due_offset is None else time_at(due_offset)
    now = time_at(now_offset)
    assume(due is None or now < due)

    value = priority_at(drawn, START, due, now, adjustment=adjustment)

    assert drawn.minimum <= value
    assert value <= drawn.maximum


@settings(max_examples=300, deadline=None)
@given(
    drawn=schemes(falling=False, windows=False),
    due_offset=due_offsets,
    first=elapsed_seconds,
    second=elapsed_seconds,
    adjustment=adjustments,
)
def test_rising_curve_never_falls(
    drawn: PriorityScheme,
    due_offset: float | None,
    first: float,
    second: float,
    adjustment: int,
) -> None:
    due = None if due_offset is None else time_at(due_offset)
    earlier, later = sorted((first, second))
    assume(due is None or time_at(later) <= due)
    assume(drawn.priority_at_due is None or drawn.priority_at_due >= drawn.initial)
    assume(adjustment <= 0 or drawn.due_target is None)

    before = priority_at(drawn, START, due, time_at(earlier), adjustment=adjustment)
    after = priority_at(drawn, START, due, time_at(later), adjustment=adjustment)

    assert before <= after


@settings(max_examples=300, deadline=None)
@given(
    drawn=schemes(scaled=False, windows=False),
    first=elapsed_seconds,
    second=elapsed_seconds,
)
def test_falling_curve_never_rises(
    drawn: PriorityScheme, first: float, second: float
) -> None:
    assume(all(stage.increment <= 0 for stage in drawn.stages))
    assume(drawn.increment <= 0)
    earlier, later = sorted((first, second))

    before = priority_at(drawn, START, None, time_at(earlier))
    after = priority_at(drawn, START, None, time_at(later))

    assert before >= after


@settings(max_examples=300, deadline=None)
@given(
    drawn=schemes(scaled=True),
    due_offset=st.floats(-3600, 80 * 3600, allow_nan=False),
    adjustment=adjustments,
)
def test_scaled_curve_at_due(
    drawn: PriorityScheme, due_offset: float, adjustment: int
) -> None:
    due = time_at(due_offset)

    value = priority_at(drawn, START, due, due, adjustment=adjustment)

    assert value == drawn.due_target


@settings(max_examples=300, deadline=None)
@given(
    drawn=schemes(scaled=True, windows=False),
    short_hours=st.floats(0.1, 72),
    extra_hours=st.floats(0.1, 72),
    now_offset=st.floats(0, 144 * 3600, allow_nan=False),
)
def test_shorter_sla_climbs_faster(
    drawn: PriorityScheme, short_hours: float, extra_hours: float, now_offset: float
) -> None:
    drawn = drawn.model_copy(
        update={"reach_maximum_at_due": True, "priority_at_due": None}
    )
    short_due = START + short_hours * HOUR
    long_due = short_due + extra_hours * HOUR
    now = time_at(now_offset)
    assume(now < short_due)

    short = priority_at(drawn, START, short_due, now)
    long = priority_at(drawn, START, long_due, now)

    assert short >= long


@settings(max_examples=400, deadline=None)
@given(
    drawn=schemes(),
    due_offset=due_offsets,
    now_offset=elapsed_seconds,
    adjustment=adjustments,
    calendar=st.none() | st.sampled_from([OFFICE, UTC_OFFICE]),
)
def test_next_change_is_exact(
    drawn: PriorityScheme,
    due_offset: float | None,
    now_offset: float,
    adjustment: int,
    calendar: Calendar | None,
) -> None:
    due = None if due_offset is None else time_at(due_offset)
    now = time_at(now_offset)
    options = {"adjustment": adjustment, "calendar": calendar}
    current = priority_at(drawn, START, due, now, **options)

    change = next_change_at(drawn, START, due, now, **options)

    if change is None:
        # Constant from here on: check every boundary a stage, window or the
        # due date could put a change at, over a long horizon.
        for hours in range(0, 24 * 30, 7):
            moment = now + hours * HOUR + 17 * MINUTE
            assert priority_at(drawn, START, due, moment, **options) == current
        return
    assert change > now
    before = change - MICROSECOND
    assert priority_at(drawn, START, due, before, **options) == current
    assert priority_at(drawn, START, due, change, **options) != current
