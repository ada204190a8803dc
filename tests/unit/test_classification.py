"""Unit and property tests of classification: rules, targets, due dates, operators."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processors.domain.classification import classify, matches
from processors.domain.rulesets import default_rules
from schemas.routing import SkillRequirement, Target
from schemas.rules import Condition, RuleSet

RULES = default_rules()
CAPTURED = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def rule_set(rules: list[dict[str, Any]], **default: Any) -> RuleSet:
    """Build a small rule set with one flat scheme and the given rules."""
    return RuleSet.model_validate(
        {
            "version": 3,
            "schemes": {"flat": {"name": "flat", "initial": 100}},
            "rules": rules,
            "default": {
                "department": "Unclassified",
                "process": "General",
                "scheme": "flat",
                **default,
            },
        }
    )


def rule(name: str, *conditions: dict[str, Any], **segment: Any) -> dict[str, Any]:
    return {
        "name": name,
        "when": list(conditions),
        "department": segment.pop("department", name),
        "process": segment.pop("process", "Process"),
        "scheme": "flat",
        **segment,
    }


def condition(op: str, value: Any = None, attribute: str = "x") -> Condition:
    return Condition(attribute=attribute, op=op, value=value)


# Rule order and the default.


def test_first_matching_rule_wins() -> None:
    attributes = {
        "source_system": "servicenow",
        "priority_label": "1 - Critical",
        "assignment_group": "Network",
    }
    result = classify(RULES, attributes, CAPTURED)

    assert result.rule == "incident-critical"
    assert result.scheme.name == "incident-critical"
    assert result.department == "IT Operations"
    assert result.process == "Incident"


def test_later_rule_catches_rest() -> None:
    attributes = {"source_system": "servicenow", "priority_label": "4 - Low"}
    result = classify(RULES, attributes, CAPTURED)

    assert result.rule == "incident-low"
    assert result.scheme.name == "incident-low"


def test_rule_order_decides_overlap() -> None:
    rules = rule_set(
        [
            rule("broad", {"attribute": "kind", "op": "exists"}),
            rule("narrow", {"attribute": "kind", "op": "equals", "value": "vip"}),
        ]
    )
    result = classify(rules, {"kind": "vip"}, CAPTURED)

    assert result.rule == "broad"
    assert result.department == "broad"


def test_all_conditions_must_hold() -> None:
    rules = rule_set(
        [
            rule(
                "both",
                {"attribute": "a", "op": "equals", "value": 1},
                {"attribute": "b", "op": "equals", "value": 2},
            )
        ]
    )

    assert classify(rules, {"a": 1, "b": 2}, CAPTURED).rule == "both"
    assert classify(rules, {"a": 1, "b": 3}, CAPTURED).rule == "default"


def test_rule_without_conditions_matches() -> None:
    rules = rule_set([rule("always")])

    assert classify(rules, {}, CAPTURED).rule == "always"


def test_default_when_nothing_matches() -> None:
    result = classify(RULES, {"source_system": "email-gateway"}, CAPTURED)

    assert result.rule == "default"
    assert result.department == "Unclassified"
    assert result.process == "General"
    assert result.scheme.name == "standard"
    assert result.target == Target(skills=(SkillRequirement(skill="reception"),))


def test_boston_regex_rule() -> None:
    attributes = {
        "source_system": "boston311",
        "subject": "Transportation - Traffic Division",
        "team": "BTDT_Parking Enforcement",
    }
    result = classify(RULES, attributes, CAPTURED)

    assert result.rule == "city-transportation"
    assert result.department == "Transportation"
    assert result.target.key == "BTDT_Parking Enforcement>=1"


# Targets.


def test_skill_from_attribute() -> None:
    attributes = {"source_system": "servicenow", "assignment_group": "Database"}
    result = classify(RULES, attributes, CAPTURED)

    assert result.target == Target(skills=(SkillRequirement(skill="Database"),))
    assert result.target.key == "Database>=1"


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_fallback_skill_when_blank(blank: str | None) -> None:
    attributes: dict[str, Any] = {"source_system": "servicenow"}
    if blank is not None:
        attributes["assignment_group"] = blank
    result = classify(RULES, attributes, CAPTURED)

    assert result.target == Target(skills=(SkillRequirement(skill="reception"),))


def test_custom_fallback_skill_used() -> None:
    target = {
        "skills": [{"from_attribute": "team", "min_level": 4}],
        "fallback_skill": "triage",
    }
    rules = rule_set([], target=target)
    result = classify(rules, {}, CAPTURED)

    assert result.target.key == "triage>=1"


def test_fixed_and_attribute_skills() -> None:
    target = {
        "skills": [
            {"skill": "english", "min_level": 2},
            {"from_attribute": "team", "min_level": 5},
        ]
    }
    rules = rule_set([], target=target)
    result = classify(rules, {"team": "network"}, CAPTURED)

    assert result.target.skills == (
        SkillRequirement(skill="english", min_level=2),
        SkillRequirement(skill="network", min_level=5),
    )
    assert result.target.key == "english>=2 and network>=5"


def test_numeric_attribute_skill_as_text() -> None:
    rules = rule_set([], target={"skills": [{"from_attribute": "team"}]})
    result = classify(rules, {"team": 42}, CAPTURED)

    assert result.target.key == "42>=1"


def test_no_skills_targets_anyone() -> None:
    result = classify(rule_set([]), {}, CAPTURED)

    assert result.target == Target()
    assert result.target.key == "any"


# Due dates.


def test_sla_hours_set_due_date() -> None:
    attributes = {"source_system": "servicenow", "priority_label": "1 - Critical"}
    result = classify(RULES, attributes, CAPTURED)

    assert result.due_at == CAPTURED + timedelta(hours=4)


def test_fractional_sla_hours() -> None:
    rules = rule_set([], sla_hours=1.5)

    assert classify(rules, {}, CAPTURED).due_at == CAPTURED + timedelta(minutes=90)


def test_source_due_date_wins() -> None:
    source_due = CAPTURED + timedelta(minutes=30)
    attributes = {"source_system": "servicenow", "priority_label": "1 - Critical"}
    result = classify(RULES, attributes, CAPTURED, due_at=source_due)

    assert result.due_at == source_due


def test_no_sla_no_due_date() -> None:
    assert classify(rule_set([]), {}, CAPTURED).due_at is None


# Operators.

OPERATOR_CASES = [
    # equals
    ("equals", "vip", {"x": "vip"}, True),
    ("equals", "vip", {"x": "VIP"}, False),
    ("equals", "vip", {}, False),
    ("equals", 3, {"x": 3}, True),
    ("equals", "3", {"x": 3}, False),
    ("equals", "", {"x": ""}, False),
    # in
    ("in", ["a", "b"], {"x": "b"}, True),
    ("in", ["a", "b"], {"x": "c"}, False),
    ("in", ["a", "b"], {}, False),
    ("in", [1, 2], {"x": 2}, True),
    # exists
    ("exists", None, {"x": "value"}, True),
    ("exists", None, {"x": 0}, True),
    ("exists", None, {"x": False}, True),
    ("exists", None, {}, False),
    ("exists", None, {"x": None}, False),
    ("exists", None, {"x": ""}, False),
    ("exists", None, {"x": "  "}, False),
    # missing
    ("missing", None, {}, True),
    ("missing", None, {"x": None}, True),
    ("missing", None, {"x": ""}, True),
    ("missing", None, {"x": "value"}, False),
    ("missing", None, {"x": 0}, False),
    # regex searches anywhere unless anchored
    ("regex", "^Trans", {"x": "Transportation"}, True),
    ("regex", "^Trans", {"x": "Public Transport"}, False),
    ("regex", "Traffic", {"x": "Transportation - Traffic"}, True),
    ("regex", "^12", {"x": 12345}, True),
    ("regex", ".*", {}, False),
    # gt, ge, lt, le
    ("gt", 5, {"x": 6}, True),
    ("gt", 5, {"x": 5}, False),
    ("ge", 5, {"x": 5}, True),
    ("ge", 5, {"x": 4.9}, False),
    ("lt", 5, {"x": 4}, True),
    ("lt", 5, {"x": 5}, False),
    ("le", 5, {"x": 5}, True),
    ("le", 5, {"x": 5.1}, False),
    ("gt", 5, {"x": "7"}, True),
    ("lt", "10", {"x": " 9.5 "}, True),
    ("gt", 5, {"x": "high"}, False),
    ("ge", 5, {"x": "high"}, False),
    ("lt", 5, {"x": "high"}, False),
    ("le", 5, {"x": "high"}, False),
    ("gt", 5, {}, False),
    ("le", 5, {"x": None}, False),
    ("lt", 5, {"x": [1]}, False),
    ("gt", "many", {"x": 7}, False),
]


@pytest.mark.parametrize(("op", "value", "attributes", "expected"), OPERATOR_CASES)
def test_operator_table(
    op: str, value: Any, attributes: dict[str, Any], expected: bool
) -> None:
    assert matches(condition(op, value), attributes) is expected


def test_operator_selects_rule() -> None:
    rules = rule_set(
        [
            rule("big", {"attribute": "amount", "op": "ge", "value": 1000}),
            rule("small", {"attribute": "amount", "op": "lt", "value": 1000}),
        ]
    )

    assert classify(rules, {"amount": 1000}, CAPTURED).rule == "big"
    assert classify(rules, {"amount": "999"}, CAPTURED).rule == "small"
    assert classify(rules, {"amount": "n/a"}, CAPTURED).rule == "default"


def test_numeric_regex_value_matches() -> None:
    assert matches(condition("regex", 2024), {"x": "2024-0042"}) is True


# Properties.

numbers = st.integers(-1000, 1000) | st.floats(-1e6, 1e6, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(value=numbers, bound=numbers)
def test_comparisons_agree_with_numbers(value: float, bound: float) -> None:
    attributes = {"x": value}

    assert matches(condition("gt", bound), attributes) is (value > bound)
    assert matches(condition("ge", bound), attributes) is (value >= bound)
    assert matches(condition("lt", bound), attributes) is (value < bound)
    assert matches(condition("le", bound), attributes) is (value <= bound)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from("xyz"), st.none() | st.text(max_size=3)))
def test_exists_and_missing_complement(attributes: dict[str, Any]) -> None:
    exists = matches(condition("exists"), attributes)
    missing = matches(condition("missing"), attributes)

    assert exists is not missing


@settings(max_examples=200, deadline=None)
@given(
    attributes=st.fixed_dictionaries(
        {
            "source_system": st.sampled_from(["servicenow", "boston311", "other"]),
            "priority_label": st.sampled_from(["1 - Critical", "2 - High", "4 - Low"]),
            "subject": st.sampled_from(["Public Works Department", "Transportation"]),
            "assignment_group": st.sampled_from(["Network", "", "  "]),
            "team": st.sampled_from(["PWDx", ""]),
        }
    ),
    hours=st.floats(0, 1000, allow_nan=False),
)
def test_default_rules_always_classify(
    attributes: dict[str, Any], hours: float
) -> None:
    captured = CAPTURED + timedelta(hours=hours)
    result = classify(RULES, attributes, captured)
    names = {rule.name for rule in RULES.rules} | {"default"}

    assert result.rule in names
    assert result.scheme.name in RULES.schemes
    assert result.due_at is not None
    assert result.due_at > captured
    assert len(result.target.skills) == 1
