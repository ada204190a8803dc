"""Business calendars: opening hours per weekday in one time zone, and holidays."""

from __future__ import annotations

import re
from datetime import date
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

__all__ = ["WEEKDAYS", "Calendar"]

Weekday = Literal[
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
]
WEEKDAYS: tuple[str, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
DAY_SECONDS = 24 * 3600


class Calendar(BaseModel):
    """Opening hours of a business in local time, used for SLAs and curves.

    `hours` maps a weekday to its opening ranges such as "09:00-12:00"
    (an end of "24:00" means midnight). A weekday that is missing, and
    every date in `holidays`, is closed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    timezone: str = Field(default="UTC", description="IANA time zone name")
    hours: dict[Weekday, tuple[str, ...]] = Field(default_factory=dict)
    holidays: tuple[date, ...] = ()

    # Parsed `hours`: seconds after local midnight, per weekday (Monday first).
    _ranges: tuple[tuple[tuple[int, int], ...], ...] = PrivateAttr(default=())
    _identity: tuple = PrivateAttr(default=())

    @model_validator(mode="after")
    def _parse(self) -> Calendar:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(
                f"calendar {self.name!r}: field 'timezone': {self.timezone!r} is "
                "not an IANA time zone; use a name such as 'Europe/Berlin'"
            ) from error
        ranges = []
        for weekday in WEEKDAYS:
            texts = self.hours.get(weekday, ())
            ranges.append(self._parse_day(weekday, texts))
        if not any(ranges):
            raise ValueError(
                f"calendar {self.name!r}: field 'hours' has no opening hours on "
                "any weekday; give at least one range, such as "
                "monday: ['09:00-17:00']"
            )
        self._ranges = tuple(ranges)
        self._identity = (self.name, self.timezone, self._ranges, self.holidays)
        return self

    def _parse_day(
        self, weekday: str, texts: tuple[str, ...]
    ) -> tuple[tuple[int, int], ...]:
        field = f"hours.{weekday}"
        parsed = []
        for text in texts:
            match = _RANGE.match(text)
            if match is None:
                raise ValueError(
                    f"calendar {self.name!r}: field {field!r}: {text!r} is not a "
                    "range like '09:00-17:00'"
                )
            start_hour, start_minute, end_hour, end_minute = map(int, match.groups())
            start = _seconds(start_hour, start_minute)
            end = _seconds(end_hour, end_minute)
            if start is None or end is None or start >= end:
                raise ValueError(
                    f"calendar {self.name!r}: field {field!r}: {text!r} is not a "
                    "range of times between 00:00 and 24:00 with the start "
                    "before the end"
                )
            parsed.append((start, end))
        parsed.sort()
        for (_, first_end), (second_start, _) in zip(parsed, parsed[1:]):
            if second_start < first_end:
                raise ValueError(
                    f"calendar {self.name!r}: field {field!r}: ranges overlap; "
                    "list each opening time once"
                )
        return tuple(parsed)

    def identity(self) -> tuple:
        """Return a hashable value that equal calendars share, for caching
        what is derived from them."""
        return self._identity

    def opening_ranges(self, weekday: int) -> tuple[tuple[int, int], ...]:
        """Return the opening ranges of a weekday (0 is Monday) as seconds
        after local midnight, sorted and without overlaps."""
        return self._ranges[weekday]


def _seconds(hour: int, minute: int) -> int | None:
    if minute >= 60 or hour > 24 or (hour == 24 and minute != 0):
        return None
    return hour * 3600 + minute * 60
