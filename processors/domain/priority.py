"""Priority of a waiting item as a pure function of its scheme, dates and time."""

from __future__ import annotations

import math
from datetime import datetime

from schemas.routing import PriorityScheme

__all__ = ["priority_at"]


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
    if due is not None and now > due and scheme.overdue is not None:
        return scheme.overdue
    if due is not None and now >= due and scheme.reach_maximum_at_due:
        return scheme.maximum

    base = scheme.initial if initial is None else initial
    elapsed = max(0.0, (now - start).total_seconds())
    steps = math.floor(elapsed / scheme.interval_seconds)
    value = base + steps * _increment(scheme, base, start, due)
    return _clamp(value, scheme.minimum, scheme.maximum)


def _increment(
    scheme: PriorityScheme, base: int, start: datetime, due: datetime | None
) -> float:
    if not scheme.reach_maximum_at_due or due is None:
        return scheme.increment
    steps_to_due = math.floor((due - start).total_seconds() / scheme.interval_seconds)
    if steps_to_due <= 0:
        return scheme.maximum - base
    return (scheme.maximum - base) / steps_to_due


def _clamp(value: float, minimum: int, maximum: int) -> int:
    return int(max(minimum, min(maximum, round(value))))
