"""Business calendars and value adjustments in rule sets, classification and
the task aggregate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from processors.domain.classification import classify
from processors.domain.rulesets import RuleSetError, load_rules
from processors.domain.task import decide
from schemas.capture import CaptureCommand
from schemas.distribution import RouteTask
from schemas.rules import RuleSet

# Friday 4 December 2026, 16:00 UTC.
FRIDAY = datetime(2026, 12, 4, 16, tzinfo=UTC)
OFFICE = {
    "name": "office",
    "timezone": "UTC",
    "hours": {
        day: ["09:00-17:00"]
        for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
    },
}


def rule_set(**changes: Any) -> RuleSet:
    document: dict[str, Any] = {
        "version": 1,
        "sources": {"crm": {}},
        "calendars": {"office": OFFICE},
        "schemes": {
            "valued": {
                "name": "valued",
                "initial": 100,
                "increment": 10,
                "calendar": "office",
                "adjustment": {
                    "value_attribute": "amount",
                    "factor": 0.001,
                    "bonus": {"segment": {"key account": 100}},
                    "maximum": 250,
                },
            },
        },
        "rules": [
            {
                "name": "orders",
                "when": [{"attribute": "kind", "op": "equals", "value": "order"}],
                "department": "Sales",
                "process": "Order",
                "scheme": "valued",
                "sla_hours": 8,
                "calendar": "office",
                "tiers": [
                    {"target": {"skills": [{"skill": "reception"}]},
                     "after_percent_of_sla": 50}
                ],
            }
        ],
        "default": {"department": "Other", "process": "General", "scheme": "valued"},
    }
    document.update(changes)
    return RuleSet.model_validate(document)


def order(
    capture_type: str, capture_id: str, at: datetime, **attributes: Any
) -> CaptureCommand:
    return CaptureCommand(
        type=capture_type,
        capture_id=capture_id,
        source_system="crm",
        external_id="O-1",
        occurred_at=at,
        attributes=attributes,
    )


def test_sla_counts_business_hours() -> None:
    rules = rule_set()

    result = classify(rules, {"kind": "order"}, FRIDAY)

    assert result.due_at == datetime(2026, 12, 7, 16, tzinfo=UTC)


def test_tier_share_of_business_sla() -> None:
    rules = rule_set()

    result = classify(rules, {"kind": "order"}, FRIDAY)

    # Half of the 8 open hours have passed at 12:00 on Monday.
    monday_noon = datetime(2026, 12, 7, 12, tzinfo=UTC)
    assert result.tiers[0].after_seconds == (monday_noon - FRIDAY).total_seconds()


def test_source_due_date_share_of_business_time() -> None:
    rules = rule_set()
    due = datetime(2026, 12, 8, 9, tzinfo=UTC)  # 9 open hours after capture

    result = classify(rules, {"kind": "order"}, FRIDAY, due)

    reached = datetime(2026, 12, 7, 12, 30, tzinfo=UTC)
    assert result.due_at == due
    assert result.tiers[0].after_seconds == (reached - FRIDAY).total_seconds()


def test_classification_resolves_value_and_calendar() -> None:
    rules = rule_set()

    result = classify(
        rules, {"kind": "order", "amount": 80_000, "segment": "key account"}, FRIDAY
    )

    assert result.priority_adjustment == 180
    assert result.calendar == rules.calendars["office"]


def test_adjustment_capped() -> None:
    rules = rule_set()

    result = classify(rules, {"amount": "900000", "segment": "key account"}, FRIDAY)

    assert result.priority_adjustment == 250


def test_unknown_rule_calendar_names_rule() -> None:
    rules = rule_set().model_dump(mode="json")
    rules["rules"][0]["calendar"] = "shop"

    with pytest.raises(ValidationError) as error:
        RuleSet.model_validate(rules)

    assert "rule 'orders'" in str(error.value)
    assert "unknown calendar 'shop'" in str(error.value)


def test_unknown_scheme_calendar_names_scheme() -> None:
    rules = rule_set().model_dump(mode="json")
    rules["schemes"]["valued"]["calendar"] = "shop"

    with pytest.raises(ValidationError, match="priority scheme 'valued'"):
        RuleSet.model_validate(rules)


def test_calendar_key_must_match_name() -> None:
    with pytest.raises(ValidationError, match="calendar key 'office' differs"):
        rule_set(calendars={"office": {**OFFICE, "name": "shop"}})


def test_closed_calendar_file_error(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "version: 1\n"
        "calendars:\n"
        "  closed: {name: closed, hours: {}}\n"
        "schemes:\n"
        "  flat: {name: flat, initial: 100}\n"
        "default: {department: D, process: P, scheme: flat}\n",
        encoding="utf-8",
    )

    with pytest.raises(RuleSetError) as error:
        load_rules(path)

    assert "calendar 'closed'" in str(error.value)
    assert "field 'hours'" in str(error.value)


def test_route_request_carries_calendar() -> None:
    rules = rule_set()
    command = order("create", "c1", FRIDAY, kind="order", amount=50_000)

    outcome = decide(None, command, FRIDAY, rules)

    routes = [body for kind, body in outcome.requests if kind == "route.task"]
    assert len(routes) == 1
    route = routes[0]
    assert isinstance(route, RouteTask)
    assert route.calendar == rules.calendars["office"]
    assert route.priority_adjustment == 50
    assert route.due_at == datetime(2026, 12, 7, 16, tzinfo=UTC)
    assert outcome.state.priority == 150
    decoded = RouteTask.model_validate_json(route.model_dump_json())
    assert decoded == route


def test_update_keeps_calendar() -> None:
    rules = rule_set()
    monday = FRIDAY + timedelta(days=3)
    state = decide(None, order("create", "c1", FRIDAY, kind="order"), FRIDAY, rules)
    update = order("update", "c2", monday, note="called back")

    outcome = decide(state.state, update, monday, rules)

    assert outcome.state.calendar == rules.calendars["office"]
    assert outcome.state.priority_adjustment == 0
