"""Priority curves of a rule set's schemes, as points for a plot.

A curve is a step function of the time since the item was queued. The points
are the moments the value changes, found by sampling `curve_value` and then
narrowing each change down by bisection, so the plot shows the steps where
they are and not where a sample happened to fall.
"""

from __future__ import annotations

from dataclasses import dataclass

from processors.domain.priority import curve_value
from schemas.routing import PriorityScheme
from schemas.rules import RuleSet

__all__ = ["Curve", "SchemeCurves", "scheme_curves"]

SAMPLES = 400
# Changes are located to within this many seconds.
RESOLUTION_SECONDS = 0.5
# The plot runs past the due date by this share of the SLA, to show overdue.
OVERDUE_SHARE = 0.25
# Curves of items without a due date run over this many intervals.
INTERVALS_WITHOUT_DUE = 12


@dataclass(frozen=True)
class Curve:
    """A scheme's curve for one SLA (`sla_hours` None: no due date).

    `points` are (seconds since queued, priority) where the priority takes
    that value; the last point closes the plot at `horizon_seconds`.
    """

    sla_hours: float | None
    rules: tuple[str, ...]
    horizon_seconds: float
    points: tuple[tuple[float, int], ...]

    def as_dict(self) -> dict:
        return {
            "sla_hours": self.sla_hours,
            "rules": list(self.rules),
            "horizon_seconds": self.horizon_seconds,
            "due_seconds": None if self.sla_hours is None else self.sla_hours * 3600,
            "points": [list(point) for point in self.points],
        }


@dataclass(frozen=True)
class SchemeCurves:
    scheme: PriorityScheme
    curves: tuple[Curve, ...]

    def as_dict(self) -> dict:
        return {
            "scheme": self.scheme.model_dump(mode="json"),
            "curves": [curve.as_dict() for curve in self.curves],
        }


def scheme_curves(rules: RuleSet) -> list[SchemeCurves]:
    """Return one entry per scheme with a curve for each SLA its rules use.

    A scheme that no rule uses gets one curve without a due date.
    """
    slas: dict[str, dict[float | None, list[str]]] = {
        name: {} for name in rules.schemes
    }
    for segment in (*rules.rules, rules.default):
        name = getattr(segment, "name", "default")
        slas[segment.scheme].setdefault(segment.sla_hours, []).append(name)
    result = []
    for scheme_name, scheme in rules.schemes.items():
        by_sla = slas[scheme_name] or {None: []}
        ordered = sorted(
            by_sla.items(), key=lambda entry: (entry[0] is None, entry[0] or 0)
        )
        curves = tuple(
            _curve(scheme, sla_hours, tuple(users)) for sla_hours, users in ordered
        )
        result.append(SchemeCurves(scheme, curves))
    return result


def _curve(
    scheme: PriorityScheme, sla_hours: float | None, users: tuple[str, ...]
) -> Curve:
    span = None if sla_hours is None else sla_hours * 3600.0
    if span is None:
        horizon = _horizon_without_due(scheme)
    else:
        horizon = span * (1 + OVERDUE_SHARE)
    points = [(0.0, curve_value(scheme, None, 0.0, span))]
    previous_time, previous_value = points[0]
    for index in range(1, SAMPLES + 1):
        moment = horizon * index / SAMPLES
        value = curve_value(scheme, None, moment, span)
        if value != previous_value:
            start = _change_between(scheme, span, previous_time, moment, previous_value)
            points.append((round(start, 3), curve_value(scheme, None, start, span)))
            if points[-1][1] != value:
                points.append((round(moment, 3), value))
        previous_time, previous_value = moment, value
    points.append((round(horizon, 3), previous_value))
    return Curve(sla_hours, users, horizon, tuple(points))


def _horizon_without_due(scheme: PriorityScheme) -> float:
    """Return a plot length that shows every stage of a curve without a due
    date: twelve of its shortest intervals, or twice its last stage start."""
    intervals = [stage.interval_seconds for stage in scheme.stages]
    starts = [stage.after_seconds or 0.0 for stage in scheme.stages]
    shortest = min(intervals, default=scheme.interval_seconds)
    return max(shortest * INTERVALS_WITHOUT_DUE, 2 * max(starts, default=0.0))


def _change_between(
    scheme: PriorityScheme,
    span: float | None,
    low: float,
    high: float,
    low_value: int,
) -> float:
    """Return the first moment in (low, high] whose value differs from
    `low_value`, to within RESOLUTION_SECONDS (assumes one change there)."""
    while high - low > RESOLUTION_SECONDS:
        middle = (low + high) / 2
        if curve_value(scheme, None, middle, span) == low_value:
            low = middle
        else:
            high = middle
    return high
