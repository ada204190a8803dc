"""Property tests of rule order and of the rule set analysis.

Rule sets and items are drawn from a small vocabulary, so that rules often
overlap, contradict each other or shadow one another.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from processors.domain.classification import classify, matches
from processors.domain.rule_analysis import MEDIA_VALUES
from processors.domain.rulesets import check_rule_set
from schemas.rules import RuleSet

CAPTURED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SOURCES = ("crm", "erp")
VALUES = {
    "department": ["Finance", "Sales", "HR", "", " "],
    "customer_segment": ["Gold", "Silver", "Bronze"],
    "value": [0, 1, 5, 10, 12.5, "7", "abc", True, -3],
    "source_system": list(SOURCES),
    "media": list(MEDIA_VALUES),
}
PATTERNS = ["^F", "Gold|Silver", "[0-9]", "e", "^$"]
BOUNDS = [0, 1, 5, 10, "5", 2.5, "x"]

attribute_values = st.sampled_from(
    sorted({repr(v): v for values in VALUES.values() for v in values}.values(), key=repr)
)


@st.composite
def conditions(draw) -> dict[str, Any]:
    attribute = draw(st.sampled_from(sorted(VALUES)))
    op = draw(
        st.sampled_from(
            ["equals", "in", "exists", "missing", "regex", "gt", "ge", "lt", "le"]
        )
    )
    own = st.sampled_from(VALUES[attribute])
    if op == "equals":
        value = draw(st.one_of(own, attribute_values))
    elif op == "in":
        value = draw(st.lists(st.one_of(own, attribute_values), min_size=1, max_size=3))
    elif op == "regex":
        value = draw(st.sampled_from(PATTERNS))
    elif op in ("gt", "ge", "lt", "le"):
        value = draw(st.sampled_from(BOUNDS))
    else:
        value = None
    return {"attribute": attribute, "op": op, "value": value}


@st.composite
def rule_sets(draw) -> dict[str, Any]:
    count = draw(st.integers(min_value=1, max_value=6))
    rules = [
        {
            "name": f"rule-{number}",
            "when": draw(st.lists(conditions(), max_size=3)),
            "department": "Dept",
            "process": "Proc",
            "scheme": "flat",
        }
        for number in range(count)
    ]
    fields = {name: name for name in ("department", "customer_segment", "value")}
    return {
        "version": 1,
        "sources": {source: {"fields": fields} for source in SOURCES},
        "schemes": {"flat": {"name": "flat", "initial": 100}},
        "rules": rules,
        "default": {"department": "Other", "process": "General", "scheme": "flat"},
    }


@st.composite
def items(draw) -> dict[str, Any]:
    """Draw the attributes of an accepted capture: a known source and media,
    and any of the other attributes, absent or with some value."""
    item = {
        "source_system": draw(st.sampled_from(SOURCES)),
        "media": draw(st.sampled_from(MEDIA_VALUES)),
    }
    for attribute in ("department", "customer_segment", "value"):
        value = draw(
            st.one_of(
                st.none(),
                st.sampled_from(VALUES[attribute]),
                attribute_values,
                st.integers(min_value=-20, max_value=20),
                st.floats(allow_nan=True, allow_infinity=True),
                st.text(max_size=3),
                st.booleans(),
            )
        )
        if value is not None or draw(st.booleans()):
            item[attribute] = value
    return item


def _first_match(rules: RuleSet, item: dict[str, Any]) -> str:
    for rule in rules.rules:
        if all(matches(condition, item) for condition in rule.when):
            return rule.name
    return "default"


@settings(max_examples=150, deadline=None)
@given(rule_sets(), st.lists(items(), min_size=1, max_size=20))
def test_first_matching_rule_wins(document, drawn_items) -> None:
    rules = RuleSet.model_validate(document)

    for item in drawn_items:
        assert classify(rules, item, CAPTURED).rule == _first_match(rules, item)


@settings(max_examples=300, deadline=None)
@given(rule_sets(), st.lists(items(), min_size=1, max_size=40))
def test_reported_rules_never_win(document, drawn_items) -> None:
    rules = RuleSet.model_validate(document)
    _, problems = check_rule_set(document)
    never = {
        problem.where.removeprefix("rule ").strip("'")
        for problem in problems
        if problem.kind in ("unreachable", "contradiction")
    }

    for item in drawn_items:
        assert classify(rules, item, CAPTURED).rule not in never, item


@settings(max_examples=150, deadline=None)
@given(rule_sets(), st.lists(items(), min_size=1, max_size=20))
def test_clean_rule_set_classifies_all(document, drawn_items) -> None:
    checked = _without_reported_rules(document)
    by_name = {rule.name: rule for rule in checked.rules}

    for item in drawn_items:
        classification = classify(checked, item, CAPTURED)
        assert classification.rule in {*by_name, "default"}
        if classification.rule != "default":
            winner = by_name[classification.rule]
            assert all(matches(condition, item) for condition in winner.when)


def _without_reported_rules(document: dict[str, Any]) -> RuleSet:
    """Drop the rules reported as never winning until the set has no problem."""
    while True:
        checked, problems = check_rule_set(document)
        if not problems:
            return checked
        reported = {problem.where for problem in problems}
        kept = [r for r in document["rules"] if f"rule {r['name']!r}" not in reported]
        assert len(kept) < len(document["rules"]), [str(p) for p in problems]
        document = {**document, "rules": kept}


def test_reported_rules_found_in_sample() -> None:
    """Guard against a vacuous property: the vocabulary does yield rule sets
    with unreachable rules and contradictions."""
    document = {
        "version": 1,
        "sources": {"crm": {"fields": {"department": "department"}}},
        "schemes": {"flat": {"name": "flat", "initial": 100}},
        "rules": [
            {"name": "a", "when": [{"attribute": "department", "op": "exists"}],
             "department": "D", "process": "P", "scheme": "flat"},
            {"name": "b", "when": [{"attribute": "department", "op": "equals", "value": "HR"}],
             "department": "D", "process": "P", "scheme": "flat"},
            {"name": "c", "when": [{"attribute": "media", "op": "equals", "value": "fax"}],
             "department": "D", "process": "P", "scheme": "flat"},
        ],
        "default": {"department": "Other", "process": "General", "scheme": "flat"},
    }

    _, problems = check_rule_set(document)

    assert [(p.kind, p.where) for p in problems] == [
        ("contradiction", "rule 'c'"),
        ("unreachable", "rule 'b'"),
    ]
