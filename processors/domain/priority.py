"""Priority of a waiting item as a pure function of its scheme, dates and time.

The curve is a step function of the time since its start: it changes only
at the end of a stage's interval, where a window opens or closes, at the
due date (for schemes that climb to a value there) and just after it (the
overdue priority). `Curve.next_change` returns the next of those moments at
which the value really differs, so a backlog can re-rank an item exactly
when its priority moves, without rescanning every item.

Curve time is counted in whole microseconds, the resolution of datetime, so
a moment returned by `next_change` is exactly the one at which the value
changes. For a scheme on a business calendar, `BusinessClock` maps wall time
to curve time: open time until the due date, wall time after it, so an
overdue item is not held back by a closed weekend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from processors.domain.calendar import (
    MICROSECONDS,
    business_time,
    from_micros,
    instant_at_business_time,
    to_micros,
)
from schemas.calendar import Calendar
from schemas.routing import PriorityScheme

__all__ = [
    "BusinessClock",
    "Curve",
    "WallClock",
    "adjustment_for",
    "curve_clock",
    "curve_value",
    "next_change_after",
    "next_change_at",
    "priority_at",
]

# Overdue starts this many microseconds after the due date.
OVERDUE_DELAY = 1


def priority_at(
    scheme: PriorityScheme,
    start: datetime,
    due: datetime | None,
    now: datetime,
    initial: int | None = None,
    *,
    adjustment: int = 0,
    calendar: Calendar | None = None,
) -> int:
    """Return the priority at `now` of an item whose curve started at `start`.

    `initial` overrides the scheme's initial priority (a source may send
    one) and `adjustment` is added to it (see `adjustment_for`). `calendar`
    is the business calendar the scheme names, or None for wall time.
    """
    clock = curve_clock(calendar, to_micros(start), _micros_or_none(due))
    curve = Curve(scheme, initial, clock.span, adjustment)
    return curve.value(clock.elapsed(to_micros(now)))


def next_change_at(
    scheme: PriorityScheme,
    start: datetime,
    due: datetime | None,
    now: datetime,
    initial: int | None = None,
    *,
    adjustment: int = 0,
    calendar: Calendar | None = None,
) -> datetime | None:
    """Return when the priority next differs from its value at `now`, or None."""
    clock = curve_clock(calendar, to_micros(start), _micros_or_none(due))
    curve = Curve(scheme, initial, clock.span, adjustment)
    offset = curve.next_change(clock.elapsed(to_micros(now)))
    return None if offset is None else from_micros(clock.instant(offset))


def curve_value(
    scheme: PriorityScheme,
    initial: int | None,
    elapsed: float,
    span: float | None,
    adjustment: int = 0,
) -> int:
    """Return the priority `elapsed` seconds of curve time after the start.

    `span` is the curve time from the start to the due date in seconds, or
    None for an item without a due date.
    """
    curve = Curve(scheme, initial, _micros_or_none(span), adjustment)
    return curve.value(_micros(elapsed))


def next_change_after(
    scheme: PriorityScheme,
    initial: int | None,
    elapsed: float,
    span: float | None,
    adjustment: int = 0,
) -> float | None:
    """Return the curve time in seconds of the next change after `elapsed`,
    or None when the value stays as it is."""
    curve = Curve(scheme, initial, _micros_or_none(span), adjustment)
    offset = curve.next_change(_micros(elapsed))
    return None if offset is None else offset / MICROSECONDS


def adjustment_for(scheme: PriorityScheme, attributes: dict[str, Any]) -> int:
    """Return the change to the start priority that an item's business value
    earns under the scheme's `adjustment`, or 0 when the scheme has none."""
    rule = scheme.adjustment
    if rule is None:
        return 0
    total = 0.0
    if rule.value_attribute is not None:
        value = _number(attributes.get(rule.value_attribute))
        if value is not None:
            total += value * rule.factor
    for attribute, amounts in rule.bonus.items():
        value = attributes.get(attribute)
        if value is not None:
            total += amounts.get(str(value), 0)
    adjustment = round(total)
    if rule.maximum is not None:
        adjustment = min(adjustment, rule.maximum)
    if rule.minimum is not None:
        adjustment = max(adjustment, rule.minimum)
    return adjustment


# Clocks: from wall time to curve time and back, in microseconds.


class WallClock:
    """Curve time is the wall time since the start."""

    __slots__ = ("span", "start")

    def __init__(self, start: int, due: int | None) -> None:
        self.start = start
        self.span = None if due is None else due - start

    def elapsed(self, now: int) -> int:
        return now - self.start

    def instant(self, offset: int) -> int:
        return self.start + offset


class BusinessClock:
    """Curve time is the calendar's open time since the start, until the due
    date, and wall time after the due date."""

    __slots__ = ("calendar", "due", "origin", "span", "start")

    def __init__(self, calendar: Calendar, start: int, due: int | None) -> None:
        self.calendar = calendar
        self.start = start
        self.due = due
        self.origin = business_time(calendar, start)
        self.span = None if due is None else business_time(calendar, due) - self.origin

    def elapsed(self, now: int) -> int:
        if self.due is not None and now > self.due:
            return self.span + (now - self.due)
        return business_time(self.calendar, now) - self.origin

    def instant(self, offset: int) -> int:
        """Return the earliest instant at which `offset` of curve time has passed."""
        if self.due is not None and offset > self.span:
            return self.due + (offset - self.span)
        return instant_at_business_time(self.calendar, self.origin + offset)


def curve_clock(
    calendar: Calendar | None, start: int, due: int | None
) -> WallClock | BusinessClock:
    """Return the clock of an item's curve: business time on `calendar`, or
    wall time when there is none. Instants are microseconds since the epoch."""
    if calendar is None:
        return WallClock(start, due)
    return BusinessClock(calendar, start, due)


# The curve itself.


@dataclass(frozen=True, slots=True)
class _Stage:
    """A resolved stage: steps at begin + n * interval for n >= 1, up to and
    including `end` (None for the last stage). Times are microseconds."""

    begin: int
    end: int | None
    interval: int
    increment: float

    def steps(self, elapsed: int) -> int:
        """Return how many of the stage's steps have happened by `elapsed`."""
        if elapsed < self.begin:
            return 0
        last = elapsed if self.end is None else min(elapsed, self.end)
        return (last - self.begin) // self.interval

    def all_steps(self) -> int | None:
        return None if self.end is None else (self.end - self.begin) // self.interval


class Curve:
    """One item's priority curve: a scheme resolved for a start value and a
    span to the due date (microseconds of curve time, None without one)."""

    def __init__(
        self,
        scheme: PriorityScheme,
        initial: int | None,
        span: int | None,
        adjustment: int = 0,
    ) -> None:
        self.scheme = scheme
        self.span = span
        self.target = None if span is None else scheme.due_target
        self.overdue = None if span is None else scheme.overdue
        base = (scheme.initial if initial is None else initial) + adjustment
        self.start_value = float(_clamp(base, scheme.minimum, scheme.maximum))
        self.stages = self._resolve_stages()
        self.windows = tuple(
            (
                _micros(window.from_seconds),
                _micros(window.until_seconds),
                window.raise_by,
            )
            for window in scheme.windows
        )
        events = {edge for start, end, _ in self.windows for edge in (start, end)}
        if self.target is not None:
            events.add(span)
        if self.overdue is not None:
            events.add(span + OVERDUE_DELAY)
        self.events = tuple(sorted(events))

    def value(self, elapsed: int) -> int:
        """Return the priority at `elapsed` microseconds of curve time."""
        if self.span is not None:
            if self.overdue is not None and elapsed >= self.span + OVERDUE_DELAY:
                return self.overdue
            if self.target is not None and elapsed >= self.span:
                return self.target
        level = self._level(elapsed)
        return self._clamp(round(level) + self._window_raise(elapsed))

    def next_change(self, elapsed: int) -> int | None:
        """Return the first curve time after `elapsed` at which the value
        differs from the value at `elapsed`, or None if it never does."""
        current = self.value(elapsed)
        moment = elapsed
        while True:
            limit = next((event for event in self.events if event > moment), None)
            if not self._frozen(moment):
                step = self._first_step_change(moment, limit, current)
                if step is not None:
                    return step
            if limit is None:
                return None
            if self.value(limit) != current:
                return limit
            moment = limit

    def _resolve_stages(self) -> tuple[_Stage, ...]:
        scheme = self.scheme
        scaled = self.target is not None
        if not scheme.stages:
            weight = 1.0 if scaled else float(scheme.increment)
            placed = [(0, _interval(scheme.interval_seconds), weight)]
        else:
            placed = []
            for spec in scheme.stages:
                if spec.after_seconds is not None:
                    begin = _micros(spec.after_seconds)
                elif self.span is not None:
                    share = max(0, self.span) * spec.after_percent_of_sla / 100
                    begin = math.ceil(share)
                elif spec.after_percent_of_sla == 0:
                    begin = 0
                else:
                    # Without a due date a share of the SLA has no place, so
                    # the curve stays on the stages placed so far.
                    break
                placed.append((begin, _interval(spec.interval_seconds), spec.increment))
        stages = []
        for index, (begin, interval, increment) in enumerate(placed):
            end = placed[index + 1][0] if index + 1 < len(placed) else None
            stages.append(_Stage(begin, end, interval, increment))
        if not scaled:
            return tuple(stages)

        # Scale the increments so that the steps up to the due date add up to
        # exactly the climb from the start value to the target.
        total = sum(stage.increment * stage.steps(self.span) for stage in stages)
        factor = (self.target - self.start_value) / total if total > 0 else 0.0
        return tuple(
            _Stage(stage.begin, stage.end, stage.interval, stage.increment * factor)
            for stage in stages
        )

    def _level(self, elapsed: int) -> float:
        """Return the clamped, unrounded stage value at `elapsed`."""
        level = self.start_value
        for stage in self.stages:
            if elapsed < stage.begin:
                break
            level = self._clamp_float(level + stage.steps(elapsed) * stage.increment)
        return level

    def _window_raise(self, elapsed: int) -> int:
        return sum(
            amount for start, end, amount in self.windows if start <= elapsed < end
        )

    def _frozen(self, elapsed: int) -> bool:
        """Check whether the due date fixes the value at `elapsed`."""
        if self.span is None:
            return False
        if self.target is not None and elapsed >= self.span:
            return True
        return self.overdue is not None and elapsed >= self.span + OVERDUE_DELAY

    def _first_step_change(
        self, after: int, limit: int | None, current: int
    ) -> int | None:
        """Return the first stage step strictly between `after` and `limit`
        whose value differs from `current`, or None.

        No window opens or closes in that span, so within one stage the value
        moves one way only and a binary search over its steps finds the first
        change.
        """
        raise_by = self._window_raise(after)
        level = self.start_value
        for stage in self.stages:
            first = 1 if after < stage.begin else stage.steps(after) + 1
            last = self._last_step(stage, level, limit)
            if last is not None and first <= last:
                if self._stepped(stage, level, last, raise_by) != current:
                    low, high = first, last
                    while low < high:
                        middle = (low + high) // 2
                        if self._stepped(stage, level, middle, raise_by) != current:
                            high = middle
                        else:
                            low = middle + 1
                    return stage.begin + low * stage.interval
            if stage.end is None or (limit is not None and stage.end >= limit):
                return None
            level = self._clamp_float(level + stage.all_steps() * stage.increment)
        return None

    def _last_step(self, stage: _Stage, level: float, limit: int | None) -> int | None:
        """Return the last step of `stage` worth looking at: before `limit`,
        within the stage, and no later than where the level saturates."""
        if stage.increment > 0:
            bound = math.ceil((self.scheme.maximum - level) / stage.increment) + 1
        elif stage.increment < 0:
            bound = math.ceil((level - self.scheme.minimum) / -stage.increment) + 1
        else:
            return None
        candidates = [max(0, bound)]
        if stage.end is not None:
            candidates.append(stage.all_steps())
        if limit is not None:
            candidates.append((limit - 1 - stage.begin) // stage.interval)
        return min(candidates)

    def _stepped(self, stage: _Stage, level: float, steps: int, raise_by: int) -> int:
        moved = self._clamp_float(level + steps * stage.increment)
        return self._clamp(round(moved) + raise_by)

    def _clamp(self, value: int) -> int:
        return int(_clamp(value, self.scheme.minimum, self.scheme.maximum))

    def _clamp_float(self, value: float) -> float:
        return _clamp(value, self.scheme.minimum, self.scheme.maximum)


def _clamp(value: float, minimum: int, maximum: int) -> float:
    return max(minimum, min(maximum, value))


def _micros(seconds: float) -> int:
    return round(seconds * MICROSECONDS)


def _micros_or_none(value: float | datetime | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return to_micros(value)
    return _micros(value)


def _interval(seconds: float) -> int:
    return max(1, _micros(seconds))


def _number(value: Any) -> float | None:
    """Return a numeric attribute as a float; text that reads as a finite
    number counts, booleans and anything else do not."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None
