"""Business-time arithmetic on a calendar's opening hours.

Instants are whole microseconds since the Unix epoch (UTC), so sums and
differences are exact. Each local date's opening ranges are turned into UTC
intervals with zoneinfo, so a range that spans a daylight-saving change
counts the time that really passes (7 or 9 hours for 00:00-08:00 on the
change day, depending on its direction). A per-calendar table of cumulative
business time at the start of each local date makes both directions cost a
table lookup or a binary search once the table covers the dates asked for.
"""

from __future__ import annotations

import bisect
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from schemas.calendar import Calendar

__all__ = [
    "MICROSECONDS",
    "add_business_seconds",
    "business_seconds_between",
    "business_time",
    "from_micros",
    "instant_at_business_time",
    "to_micros",
]

MICROSECONDS = 1_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Days added to a table at a time, and the most it may ever span: a request
# beyond that span is a bad date, not a reason to build an ever larger table.
_GROWTH_DAYS = 64
_MAX_TABLE_DAYS = 200 * 366
_MAX_CACHED_CALENDARS = 64


def to_micros(instant: datetime) -> int:
    """Return an aware datetime as whole microseconds since the epoch."""
    return (instant - EPOCH) // timedelta(microseconds=1)


def from_micros(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


def business_seconds_between(
    calendar: Calendar, start: datetime, end: datetime
) -> float:
    """Return the open time between `start` and `end` in seconds, or 0 when
    `end` is not after `start`."""
    table = _table(calendar)
    elapsed = table.clock(to_micros(end)) - table.clock(to_micros(start))
    return max(0, elapsed) / MICROSECONDS


def add_business_seconds(
    calendar: Calendar, start: datetime, seconds: float
) -> datetime:
    """Return the earliest instant at which `seconds` of open time have passed
    since `start`. Adding 0 returns `start` itself, even outside open hours.

    Raises ValueError for a negative duration.
    """
    if seconds < 0:
        raise ValueError(f"business seconds must not be negative, got {seconds}")
    if seconds == 0:
        return start
    table = _table(calendar)
    target = table.clock(to_micros(start)) + round(seconds * MICROSECONDS)
    return from_micros(table.instant(target))


def business_time(calendar: Calendar, instant: int) -> int:
    """Return the business clock at `instant` (microseconds since the epoch):
    open microseconds counted from an arbitrary fixed origin of the calendar.

    Only differences between two readings of the same calendar mean anything.
    """
    return _table(calendar).clock(instant)


def instant_at_business_time(calendar: Calendar, clock: int) -> int:
    """Return the earliest instant (microseconds since the epoch) at which the
    business clock reads at least `clock`."""
    return _table(calendar).instant(clock)


class _Table:
    """Open UTC intervals per local date and the business clock at each
    date's start, for a contiguous and growing range of dates."""

    def __init__(self, calendar: Calendar) -> None:
        self.calendar = calendar
        self.zone = ZoneInfo(calendar.timezone)
        self.holidays = frozenset(day.toordinal() for day in calendar.holidays)
        self.first = 0
        self.days: list[tuple[tuple[int, int], ...]] = []
        # midnights[i] is the instant local date first + i begins, with one
        # entry more than `days`: the end of the last date.
        self.midnights: list[int] = []
        # starts[i] is the clock at the start of date first + i. The list has
        # one entry more than `days`: the clock at the end of the last date.
        self.starts: list[int] = [0]

    def clock(self, instant: int) -> int:
        if not self.days or not self.midnights[0] <= instant < self.midnights[-1]:
            local = from_micros(instant).astimezone(self.zone)
            self._cover(local.date().toordinal())
        index = bisect.bisect_right(self.midnights, instant) - 1
        clock = self.starts[index]
        for opens, closes in self.days[index]:
            if instant <= opens:
                break
            clock += min(instant, closes) - opens
        return clock

    def instant(self, clock: int) -> int:
        if not self.days:
            self._cover(EPOCH.date().toordinal())
        while clock <= self.starts[0]:
            self._grow_before(self.first - _GROWTH_DAYS)
        while clock > self.starts[-1]:
            self._grow_after(self.first + len(self.days) + _GROWTH_DAYS)
        # The date whose open time takes the clock from below `clock` to it.
        index = bisect.bisect_left(self.starts, clock) - 1
        remaining = clock - self.starts[index]
        for opens, closes in self.days[index]:
            if remaining <= closes - opens:
                return opens + remaining
            remaining -= closes - opens
        raise AssertionError("business clock table is inconsistent")

    def _cover(self, ordinal: int) -> int:
        """Grow the table to contain `ordinal`; return its index."""
        if not self.days:
            self.first = ordinal
            self.midnights = [self._midnight(ordinal)]
            self._grow_after(ordinal + 1)
        if ordinal < self.first:
            self._grow_before(ordinal - _GROWTH_DAYS)
        if ordinal >= self.first + len(self.days):
            self._grow_after(ordinal + _GROWTH_DAYS)
        return ordinal - self.first

    def _grow_after(self, end: int) -> None:
        self._check_span(self.first, end)
        for ordinal in range(self.first + len(self.days), end):
            intervals = self._open_intervals(ordinal)
            self.days.append(intervals)
            self.starts.append(self.starts[-1] + _length(intervals))
            self.midnights.append(self._midnight(ordinal + 1))

    def _grow_before(self, begin: int) -> None:
        self._check_span(begin, self.first + len(self.days))
        days = [self._open_intervals(ordinal) for ordinal in range(begin, self.first)]
        starts = [0] * len(days)
        clock = self.starts[0]
        for index in range(len(days) - 1, -1, -1):
            clock -= _length(days[index])
            starts[index] = clock
        self.days[:0] = days
        self.starts[:0] = starts
        self.midnights[:0] = [
            self._midnight(ordinal) for ordinal in range(begin, self.first)
        ]
        self.first = begin

    def _check_span(self, begin: int, end: int) -> None:
        if end - begin > _MAX_TABLE_DAYS:
            raise ValueError(
                f"calendar {self.calendar.name!r}: dates from "
                f"{date.fromordinal(max(1, begin))} to "
                f"{date.fromordinal(max(1, end))} span more than "
                f"{_MAX_TABLE_DAYS} days; check the dates given to it"
            )

    def _open_intervals(self, ordinal: int) -> tuple[tuple[int, int], ...]:
        if ordinal in self.holidays:
            return ()
        day = date.fromordinal(ordinal)
        midnight = datetime(day.year, day.month, day.day)
        intervals: list[tuple[int, int]] = []
        for start, end in self.calendar.opening_ranges(day.weekday()):
            # fold=0 maps a local time inside a gap with the offset before the
            # change; both ends use the same rule, so the order is kept.
            opens = self._utc(midnight + timedelta(seconds=start))
            closes = self._utc(midnight + timedelta(seconds=end))
            if intervals:
                opens = max(opens, intervals[-1][1])
            if closes > opens:
                intervals.append((opens, closes))
        return tuple(intervals)

    def _midnight(self, ordinal: int) -> int:
        day = date.fromordinal(ordinal)
        return self._utc(datetime(day.year, day.month, day.day))

    def _utc(self, local: datetime) -> int:
        return to_micros(local.replace(tzinfo=self.zone))


_tables: dict[tuple, _Table] = {}


def _table(calendar: Calendar) -> _Table:
    key = calendar.identity()
    table = _tables.get(key)
    if table is None:
        if len(_tables) >= _MAX_CACHED_CALENDARS:
            _tables.clear()
        table = _tables[key] = _Table(calendar)
    return table


def _length(intervals: tuple[tuple[int, int], ...]) -> int:
    return sum(closes - opens for opens, closes in intervals)
