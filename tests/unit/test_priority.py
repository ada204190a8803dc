"""Unit and property tests of the priority curve of a waiting item."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from processors.domain.priority import next_change_at, priority_at
from processors.domain.rulesets import default_rules
from schemas.routing import PriorityScheme

START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
RULES = default_rules()
STANDARD = RULES.schemes["standard"]
CRITICAL = RULES.schemes["incident-critical"]


def time_at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


# Examples with the shipped schemes.


def test_standard_scheme_steps() -> None:
    assert priority_at(STANDARD, START, None, START) == 100
    assert priority_at(STANDARD, START, None, START + 59 * timedelta(minutes=1)) == 100
    assert priority_at(STANDARD, START, None, START + HOUR) == 110
    assert priority_at(STANDARD, START, None, START + 10 * HOUR) == 200


def test_standard_scheme_capped() -> None:
    assert priority_at(STANDARD, START, None, START + 40 * HOUR) == 500
    assert priority_at(STANDARD, START, None, START + 400 * HOUR) == 500


def test_before_start_is_initial() -> None:
    assert priority_at(STANDARD, START, None, START - 5 * HOUR) == 100


def test_overdue_after_due() -> None:
    due = START + 24 * HOUR
    later = due + timedelta(seconds=1)

    assert priority_at(STANDARD, START, due, due) == 340
    assert priority_at(STANDARD, START, due, later) == 600


def test_critical_climbs_toward_maximum() -> None:
    due = START + 4 * HOUR

    assert priority_at(CRITICAL, START, due, START) == 700
    assert priority_at(CRITICAL, START, due, START + 2 * HOUR) == 850
    assert priority_at(CRITICAL, START, due, due - timedelta(seconds=1)) == 981


def test_critical_maximum_at_due() -> None:
    due = START + 4 * HOUR

    assert priority_at(CRITICAL, START, due, due) == 1000


def test_short_sla_maximum_at_due() -> None:
    scheme = PriorityScheme(
        name="fast",
        initial=200,
        interval_seconds=3600,
        maximum=800,
        reach_maximum_at_due=True,
    )
    due = START + timedelta(minutes=30)

    assert priority_at(scheme, START, due, due) == 800


def test_no_overdue_keeps_curve() -> None:
    scheme = STANDARD.model_copy(update={"overdue": None})
    due = START + 2 * HOUR

    assert priority_at(scheme, START, due, START + 5 * HOUR) == 150


def test_initial_override() -> None:
    assert priority_at(STANDARD, START, None, START, initial=300) == 300
    assert priority_at(STANDARD, START, None, START + HOUR, initial=300) == 310


def test_initial_override_clamped() -> None:
    assert priority_at(STANDARD, START, None, START, initial=900) == 500
    assert priority_at(STANDARD, START, None, START, initial=10) == 100


def test_override_with_reach_maximum() -> None:
    due = START + 4 * HOUR
    halfway = START + 2 * HOUR

    assert priority_at(CRITICAL, START, due, halfway, initial=900) == 950


def test_shorter_sla_climbs_faster() -> None:
    short = priority_at(CRITICAL, START, START + 4 * HOUR, START + HOUR)
    long = priority_at(CRITICAL, START, START + 8 * HOUR, START + HOUR)

    assert short == 775
    assert long == 738


# Properties.


@st.composite
def schemes(draw: st.DrawFn, increment: st.SearchStrategy[int]) -> PriorityScheme:
    minimum = draw(st.integers(0, 500))
    maximum = draw(st.integers(minimum, minimum + 1000))
    return PriorityScheme(
        name="drawn",
        initial=draw(st.integers(minimum, maximum)),
        increment=draw(increment),
        interval_seconds=draw(st.sampled_from([1.0, 60.0, 900.0, 3600.0, 5400.0])),
        minimum=minimum,
        maximum=maximum,
        overdue=draw(st.none() | st.integers(0, 3000)),
        reach_maximum_at_due=draw(st.booleans()),
    )


seconds = st.floats(0, 30 * 24 * 3600, allow_nan=False)
due_offsets = st.none() | st.floats(1, 30 * 24 * 3600, allow_nan=False)
overrides = st.none() | st.integers(-500, 3000)


@settings(max_examples=200, deadline=None)
@given(
    scheme=schemes(st.integers(-100, 100)),
    due_offset=due_offsets,
    now_offset=st.floats(-3600, 30 * 24 * 3600, allow_nan=False),
    initial=overrides,
)
def test_within_bounds_until_due(
    scheme: PriorityScheme,
    due_offset: float | None,
    now_offset: float,
    initial: int | None,
) -> None:
    due = None if due_offset is None else time_at(due_offset)
    now = time_at(now_offset)
    assume(due is None or now <= due)
    value = priority_at(scheme, START, due, now, initial)

    assert scheme.minimum <= value
    assert value <= scheme.maximum


@settings(max_examples=200, deadline=None)
@given(
    scheme=schemes(st.integers(0, 100)),
    due_offset=due_offsets,
    first=seconds,
    second=seconds,
    initial=overrides,
)
def test_never_decreases_until_due(
    scheme: PriorityScheme,
    due_offset: float | None,
    first: float,
    second: float,
    initial: int | None,
) -> None:
    earlier, later = sorted((first, second))
    due = None if due_offset is None else time_at(due_offset)
    assume(due is None or time_at(later) <= due)

    before = priority_at(scheme, START, due, time_at(earlier), initial)
    after = priority_at(scheme, START, due, time_at(later), initial)

    assert before <= after


@settings(max_examples=200, deadline=None)
@given(scheme=schemes(st.integers(-100, -1)), first=seconds, second=seconds)
def test_negative_increment_decays(
    scheme: PriorityScheme, first: float, second: float
) -> None:
    scheme = scheme.model_copy(update={"reach_maximum_at_due": False})
    earlier, later = sorted((first, second))

    before = priority_at(scheme, START, None, time_at(earlier))
    after = priority_at(scheme, START, None, time_at(later))

    assert before >= after


@settings(max_examples=200, deadline=None)
@given(
    scheme=schemes(st.integers(-100, 100)),
    due_offset=st.floats(-3600, 30 * 24 * 3600, allow_nan=False),
    initial=overrides,
)
def test_reaches_maximum_at_due(
    scheme: PriorityScheme, due_offset: float, initial: int | None
) -> None:
    scheme = scheme.model_copy(update={"reach_maximum_at_due": True})
    due = time_at(due_offset)

    assert priority_at(scheme, START, due, due, initial) == scheme.maximum


@settings(max_examples=200, deadline=None)
@given(
    scheme=schemes(st.integers(-100, 100)),
    due_offset=st.floats(0, 30 * 24 * 3600, allow_nan=False),
    overdue=st.integers(0, 3000),
    initial=overrides,
)
def test_no_overdue_value_at_due(
    scheme: PriorityScheme, due_offset: float, overdue: int, initial: int | None
) -> None:
    scheme = scheme.model_copy(
        update={"overdue": overdue, "reach_maximum_at_due": False}
    )
    due = time_at(due_offset)

    assert priority_at(scheme, START, due, due, initial) == priority_at(
        scheme, START, None, due, initial
    )


@settings(max_examples=200, deadline=None)
@given(
    scheme=schemes(st.integers(-100, 100)),
    due_offset=st.floats(0, 30 * 24 * 3600, allow_nan=False),
    late_by=st.floats(0.001, 30 * 24 * 3600, allow_nan=False),
    overdue=st.integers(0, 3000),
    initial=overrides,
)
def test_overdue_value_after_due(
    scheme: PriorityScheme,
    due_offset: float,
    late_by: float,
    overdue: int,
    initial: int | None,
) -> None:
    scheme = scheme.model_copy(update={"overdue": overdue})
    due = time_at(due_offset)
    now = due + timedelta(seconds=late_by)
    assume(now > due)

    assert priority_at(scheme, START, due, now, initial) == overdue


@settings(max_examples=200, deadline=None)
@given(
    scheme=schemes(st.just(0)),
    short_hours=st.integers(1, 72),
    extra_hours=st.integers(1, 72),
    elapsed=seconds,
)
def test_shorter_sla_never_lower(
    scheme: PriorityScheme, short_hours: int, extra_hours: int, elapsed: float
) -> None:
    scheme = scheme.model_copy(update={"reach_maximum_at_due": True})
    short_due = START + short_hours * HOUR
    long_due = short_due + extra_hours * HOUR
    now = time_at(elapsed)
    assume(now < short_due)

    short = priority_at(scheme, START, short_due, now)
    long = priority_at(scheme, START, long_due, now)

    assert short >= long


@settings(max_examples=200, deadline=None)
@given(scheme=schemes(st.integers(-100, 100)), initial=st.integers(-500, 3000))
def test_override_is_start_value(scheme: PriorityScheme, initial: int) -> None:
    expected = min(scheme.maximum, max(scheme.minimum, initial))

    assert priority_at(scheme, START, None, START, initial) == expected


# The next change of the curve.

schemes = st.builds(
    PriorityScheme,
    name=st.just("generated"),
    initial=st.integers(0, 500),
    increment=st.integers(-50, 50),
    interval_seconds=st.sampled_from([60.0, 900.0, 3600.0, 7200.0]),
    minimum=st.just(0),
    maximum=st.integers(500, 2000),
    overdue=st.one_of(st.none(), st.integers(0, 3000)),
    reach_maximum_at_due=st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(
    scheme=schemes,
    sla_hours=st.one_of(st.none(), st.floats(0.1, 200)),
    now_seconds=st.floats(0, 300 * 3600),
)
def test_next_change_is_exact(scheme, sla_hours, now_seconds) -> None:
    due = None if sla_hours is None else START + timedelta(hours=sla_hours)
    now = time_at(now_seconds)
    current = priority_at(scheme, START, due, now)
    change = next_change_at(scheme, START, due, now)
    horizon = now + timedelta(hours=400)

    if change is None:
        # Constant for the rest of the horizon, checked at every boundary.
        moment = now
        while moment < horizon:
            moment += timedelta(seconds=scheme.interval_seconds)
            assert priority_at(scheme, START, due, moment) == current
        return
    assert change > now
    before = change - timedelta(microseconds=1)
    assert priority_at(scheme, START, due, before) == current
    assert priority_at(scheme, START, due, change) != current


def test_next_change_standard_hourly() -> None:
    change = next_change_at(STANDARD, START, None, START + 90 * timedelta(minutes=1))

    assert change == START + 2 * HOUR


def test_next_change_none_when_capped() -> None:
    assert next_change_at(STANDARD, START, None, START + 45 * HOUR) is None


def test_next_change_overdue_after_due() -> None:
    due = START + 4 * HOUR
    change = next_change_at(CRITICAL, START, due, due)

    assert change == due + timedelta(microseconds=1)
    assert priority_at(CRITICAL, START, due, change) == 1100
