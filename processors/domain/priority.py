"""Priority of a waiting item as a pure function of its scheme, dates and time.

The curve is a step function: it changes only at the end of each interval,
at the due date (the maximum, for schemes that reach it there) and just
after it (the overdue priority). `next_change_at` returns the next of those
moments, so a backlog can re-rank an item exactly when its priority moves,
without rescanning every item.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from schemas.routing import PriorityScheme

__all__ = ["curve_value", "next_change_after", "next_change_at", "priority_at"]

# Overdue starts just after the due date; the step is one microsecond, the
# resolution of datetime.
OVERDUE_STEP = 1e-6
MAX_SILENT_STEPS = 1000


def priority_at(
    scheme: PriorityScheme,
    start: datetime,
    due: datetime | None,
    now: datetime,
    initial: int | None = None,
) -> int:
    """Return the priority at `now` of an item whose curve started at `start`.

    `initial` overrides the scheme's initial priority (a source may send one).
    """
    span = None if due is None else (due - start).total_seconds()
    return curve_value(scheme, initial, (now - start).total_seconds(), span)


def next_change_at(
    scheme: PriorityScheme,
    start: datetime,
    due: datetime | None,
    now: datetime,
    initial: int | None = None,
) -> datetime | None:
    """Return when the priority next differs from its value at `now`, or None."""
    span = None if due is None else (due - start).total_seconds()
    offset = next_change_after(scheme, initial, (now - start).total_seconds(), span)
    return None if offset is None else start + timedelta(seconds=offset)


def curve_value(
    scheme: PriorityScheme, initial: int | None, elapsed: float, span: float | None
) -> int:
    """Return the priority `elapsed` seconds after the curve's start.

    `span` is the time from the start to the due date in seconds, or None
    for an item without a due date.
    """
    if span is not None and elapsed > span and scheme.overdue is not None:
        return scheme.overdue
    if span is not None and elapsed >= span and scheme.reach_maximum_at_due:
        return scheme.maximum

    base = scheme.initial if initial is None else initial
    steps = math.floor(max(0.0, elapsed) / scheme.interval_seconds)
    value = base + steps * _increment(scheme, base, span)
    return _clamp(value, scheme.minimum, scheme.maximum)


def next_change_after(
    scheme: PriorityScheme, initial: int | None, elapsed: float, span: float | None
) -> float | None:
    """Return the offset from the start of the next change after `elapsed`.

    Boundaries where rounding leaves the value unchanged are skipped, up to
    MAX_SILENT_STEPS of them. After that the boundary itself is returned, so
    a caller may wake up once without a change.
    """
    current = curve_value(scheme, initial, elapsed, span)
    moment = elapsed
    for _ in range(MAX_SILENT_STEPS):
        moment = _next_candidate(scheme, initial, moment, span)
        if moment is None:
            return None
        if curve_value(scheme, initial, moment, span) != current:
            return moment
    return moment


def _next_candidate(
    scheme: PriorityScheme, initial: int | None, elapsed: float, span: float | None
) -> float | None:
    """Return the next moment the curve may move: a boundary or the due date."""
    candidates = []
    if span is not None:
        if scheme.reach_maximum_at_due and elapsed < span:
            candidates.append(span)
        if scheme.overdue is not None and elapsed <= span:
            candidates.append(span + OVERDUE_STEP)
    past_due = span is not None and elapsed > span
    if not (past_due and scheme.overdue is not None):
        base = scheme.initial if initial is None else initial
        value = curve_value(scheme, initial, elapsed, span)
        if _can_move(scheme, base, span, value):
            steps = math.floor(max(0.0, elapsed) / scheme.interval_seconds) + 1
            steps = max(steps, _steps_to_leave(scheme, base, span, value))
            candidates.append(steps * scheme.interval_seconds)
    later = [moment for moment in candidates if moment > elapsed]
    return min(later, default=None)


def _steps_to_leave(
    scheme: PriorityScheme, base: int, span: float | None, value: int
) -> int:
    """Return a step count at or below the first one whose rounded value
    differs from `value`, so slow fractional increments are skipped at once."""
    increment = _increment(scheme, base, span)
    if increment == 0:
        return 0
    # The value changes once base + steps * increment passes value +/- 0.5.
    edge = value + 0.5 if increment > 0 else value - 0.5
    return max(0, math.floor((edge - base) / increment) - 1)


def _can_move(
    scheme: PriorityScheme, base: int, span: float | None, value: int
) -> bool:
    """Check whether further interval steps can still change `value`."""
    increment = _increment(scheme, base, span)
    if increment > 0:
        return value < scheme.maximum
    if increment < 0:
        return value > scheme.minimum
    return False


def _increment(scheme: PriorityScheme, base: int, span: float | None) -> float:
    if not scheme.reach_maximum_at_due or span is None:
        return scheme.increment
    steps_to_due = math.floor(span / scheme.interval_seconds)
    if steps_to_due <= 0:
        return scheme.maximum - base
    return (scheme.maximum - base) / steps_to_due


def _clamp(value: float, minimum: int, maximum: int) -> int:
    return int(max(minimum, min(maximum, round(value))))
