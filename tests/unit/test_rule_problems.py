"""Rule set problems named by rule and field, for the CLI and the API."""

from __future__ import annotations

import pytest

from processors.domain.rulesets import (
    RuleSetError,
    default_rules,
    parse_rules,
    rules_from_document,
)


def document():
    return default_rules().model_dump(mode="json")


def problems_of(value) -> list:
    with pytest.raises(RuleSetError) as raised:
        rules_from_document(value, "test")
    return list(raised.value.problems)


def named(document, name):
    return next(rule for rule in document["rules"] if rule["name"] == name)


def test_field_of_named_rule():
    bad = document()
    named(bad, "incident-high")["sla_hours"] = -1
    (problem,) = problems_of(bad)
    assert problem.rule == "incident-high"
    assert problem.field == "sla_hours"
    assert problem.location == "rule 'incident-high'"
    assert "greater than 0" in problem.message


def test_nested_field_and_several_problems():
    bad = document()
    named(bad, "incident-critical")["target"]["skills"][0]["min_level"] = 11
    bad["default"]["scheme"] = 5
    problems = problems_of(bad)
    assert [(p.rule, p.field) for p in problems] == [
        ("incident-critical", "target.skills[0].min_level"),
        ("default", "scheme"),
    ]


def test_unnamed_rule_gets_position():
    bad = document()
    del bad["rules"][2]["name"]
    (problem,) = problems_of(bad)
    assert problem.rule == "#3"
    assert problem.field == "name"
    assert "missing" in problem.message


def test_top_level_setting():
    bad = document()
    bad["fairness"] = "random"
    (problem,) = problems_of(bad)
    assert problem.rule is None
    assert problem.field == "fairness"


def test_bad_expression_names_rule():
    bad = document()
    named(bad, "city-public-works")["target"] = {"expression": "Sales >"}
    (problem,) = problems_of(bad)
    assert problem.rule == "city-public-works"
    assert problem.field == "target.expression"
    assert problem.location == "rule 'city-public-works'"


def test_not_a_mapping():
    (problem,) = problems_of(["version", 1])
    assert problem.location == "rule set"
    assert "is a list" in problem.message


def test_invalid_yaml():
    with pytest.raises(RuleSetError) as raised:
        parse_rules("rules: [", "upload")
    assert "rule set upload is not valid YAML" in str(raised.value)
    assert raised.value.problems[0].location == "rule set"


def test_valid_text_parses():
    text = "\n".join(
        [
            "version: 3",
            "schemes: {flat: {name: flat, initial: 100}}",
            "default: {department: D, process: P, scheme: flat}",
        ]
    )
    rules = parse_rules(text, "inline")
    assert rules.version == 3
    assert rules.default.department == "D"
