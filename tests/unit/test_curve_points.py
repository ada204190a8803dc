"""Priority curve points for the rules page."""

from __future__ import annotations

from processors.domain.curves import (
    INTERVALS_WITHOUT_DUE,
    OVERDUE_SHARE,
    RESOLUTION_SECONDS,
    scheme_curves,
)
from processors.domain.priority import curve_value
from processors.domain.rulesets import default_rules, rules_from_document


def curves_by_scheme(rules):
    return {entry.scheme.name: entry for entry in scheme_curves(rules)}


def test_one_curve_per_sla():
    city = curves_by_scheme(default_rules())["city-request"]
    assert [c.sla_hours for c in city.curves] == [72.0, 120.0]
    assert city.curves[0].rules == ("city-public-works", "city-transportation")
    assert city.curves[1].rules == ("city-other",)


def test_points_match_curve_value():
    rules = default_rules()
    for entry in scheme_curves(rules):
        for curve in entry.curves:
            span = None if curve.sla_hours is None else curve.sla_hours * 3600
            for moment, value in curve.points:
                assert value == curve_value(entry.scheme, None, moment, span)


def test_steps_at_interval_ends():
    high = curves_by_scheme(default_rules())["incident-high"].curves[0]
    interval = 1800.0
    changes = [moment for moment, _ in high.points[1:-1]]
    steps = [moment for moment in changes if moment < 8 * 3600]
    assert len(steps) == 15
    for number, moment in enumerate(steps, start=1):
        assert abs(moment - number * interval) <= RESOLUTION_SECONDS


def test_due_and_overdue_points():
    critical = curves_by_scheme(default_rules())["incident-critical"].curves[0]
    due = 4 * 3600
    assert critical.horizon_seconds == due * (1 + OVERDUE_SHARE)
    values = dict(critical.points)
    assert values[due] == 1000
    overdue = [value for moment, value in critical.points if moment > due]
    assert overdue[0] == 1100
    assert critical.points[-1] == (critical.horizon_seconds, 1100)
    assert critical.points[0] == (0.0, 700)


def test_unused_scheme_without_due_date():
    document = default_rules().model_dump(mode="json")
    document["schemes"]["spare"] = {
        "name": "spare",
        "initial": 10,
        "increment": 5,
        "interval_seconds": 600,
        "maximum": 40,
    }
    spare = curves_by_scheme(rules_from_document(document, "test"))["spare"]
    assert len(spare.curves) == 1
    curve = spare.curves[0]
    assert curve.sla_hours is None
    assert curve.rules == ()
    assert curve.horizon_seconds == 600 * INTERVALS_WITHOUT_DUE
    assert [value for _, value in curve.points] == [10, 15, 20, 25, 30, 35, 40, 40]
    assert curve.as_dict()["due_seconds"] is None
