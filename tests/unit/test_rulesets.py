"""Rule set validation and the shipped rule set's CRM segmentation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
import yaml

from processors.cli import main
from processors.domain.rulesets import (
    RuleSetError,
    check_rule_set,
    default_rules,
    load_rules,
)
from processors.domain.task import decide
from processors.domain.validation import parse_capture

CAPTURED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def document(rules: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """Build a rule set document with one CRM-like source and two schemes."""
    return {
        "version": 1,
        "sources": {
            "crm": {
                "fields": {
                    "Dept": "department",
                    "Segment": "customer_segment",
                    "Value": "value",
                }
            }
        },
        "schemes": {
            "flat": {"name": "flat", "initial": 100},
            "fast": {"name": "fast", "initial": 500},
        },
        "rules": rules,
        "default": {"department": "Other", "process": "General", "scheme": "flat"},
        **extra,
    }


def rule(name: str, *conditions: dict[str, Any], **segment: Any) -> dict[str, Any]:
    return {
        "name": name,
        "when": list(conditions),
        "department": "Dept",
        "process": "Proc",
        "scheme": "flat",
        **segment,
    }


def eq(attribute: str, value: Any) -> dict[str, Any]:
    return {"attribute": attribute, "op": "equals", "value": value}


def problems_of(doc: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    _, problems = check_rule_set(doc)
    return [(p.kind, p.where, p.field) for p in problems]


# Validation.


def test_shipped_rule_set_valid() -> None:
    rules, problems = check_rule_set(
        yaml.safe_load(open(_default_path(), encoding="utf-8"))
    )

    assert problems == []
    assert rules is not None


def test_valid_set_has_no_problems() -> None:
    doc = document(
        [
            rule("gold", eq("customer_segment", "Gold")),
            rule("finance", eq("department", "Finance")),
        ]
    )

    assert problems_of(doc) == []


def test_same_equals_is_unreachable() -> None:
    doc = document(
        [
            rule("first", eq("department", "Finance")),
            rule("second", eq("department", "Finance")),
        ]
    )

    assert problems_of(doc) == [("unreachable", "rule 'second'", "when")]


def test_superset_of_conditions_unreachable() -> None:
    doc = document(
        [
            rule("finance", eq("department", "Finance")),
            rule(
                "finance-gold",
                eq("department", "Finance"),
                eq("customer_segment", "Gold"),
            ),
        ]
    )

    _, problems = check_rule_set(doc)

    assert [p.kind for p in problems] == ["unreachable"]
    assert "rule 'finance-gold'" in str(problems[0])
    assert "rule 'finance'" in problems[0].message


def test_in_list_split_between_rules() -> None:
    doc = document(
        [
            rule("gold", eq("customer_segment", "Gold")),
            rule("silver", eq("customer_segment", "Silver")),
            rule(
                "gold-or-silver",
                {
                    "attribute": "customer_segment",
                    "op": "in",
                    "value": ["Gold", "Silver"],
                },
            ),
        ]
    )

    _, problems = check_rule_set(doc)

    assert [(p.kind, p.where) for p in problems] == [
        ("unreachable", "rule 'gold-or-silver'")
    ]
    assert "rule 'gold' and rule 'silver'" in problems[0].message


def test_rules_per_source_cover_catch_all() -> None:
    doc = document(
        [
            rule("from-crm", eq("source_system", "crm")),
            rule("from-erp", eq("source_system", "erp")),
            rule("anything", eq("department", "Finance")),
        ]
    )
    doc["sources"]["erp"] = {"fields": {"Dept": "department"}}

    _, problems = check_rule_set(doc)

    assert [(p.kind, p.where) for p in problems] == [("unreachable", "rule 'anything'")]
    assert "rule 'from-crm' and rule 'from-erp'" in problems[0].message


def test_rules_per_media_cover_later_rule() -> None:
    doc = document(
        [
            rule(
                "calls", {"attribute": "media", "op": "in", "value": ["voice", "chat"]}
            ),
            rule(
                "written",
                {"attribute": "media", "op": "in", "value": ["workitem", "email"]},
            ),
            rule("finance", eq("department", "Finance")),
            rule("anything-else"),
        ]
    )

    assert problems_of(doc) == [
        ("unreachable", "rule 'finance'", "when"),
        ("unreachable", "rule 'anything-else'", "when"),
    ]


def test_one_source_left_keeps_rule_reachable() -> None:
    doc = document([rule("from-crm", eq("source_system", "crm")), rule("anything")])
    doc["sources"]["erp"] = {"fields": {"Dept": "department"}}

    assert problems_of(doc) == []


def test_narrower_range_unreachable() -> None:
    doc = document(
        [
            rule("big", {"attribute": "value", "op": "gt", "value": 100}),
            rule("bigger", {"attribute": "value", "op": "ge", "value": 500}),
            rule("exists", {"attribute": "value", "op": "exists"}),
            rule("small", {"attribute": "value", "op": "lt", "value": 10}),
        ]
    )

    assert problems_of(doc) == [
        ("unreachable", "rule 'bigger'", "when"),
        ("unreachable", "rule 'small'", "when"),
    ]


def test_catch_all_shadows_later_rules() -> None:
    doc = document([rule("everything"), rule("finance", eq("department", "Finance"))])

    assert problems_of(doc) == [("unreachable", "rule 'finance'", "when")]


def test_wider_later_rule_reachable() -> None:
    doc = document(
        [
            rule(
                "finance-gold",
                eq("department", "Finance"),
                eq("customer_segment", "Gold"),
            ),
            rule("finance", eq("department", "Finance")),
            rule("range", {"attribute": "value", "op": "ge", "value": 5}),
            rule("wider", {"attribute": "value", "op": "gt", "value": 1}),
            rule("regex", {"attribute": "department", "op": "regex", "value": "^Fin"}),
        ]
    )

    assert problems_of(doc) == []


def test_range_contradiction_named() -> None:
    doc = document(
        [
            rule(
                "impossible",
                {"attribute": "value", "op": "gt", "value": 10},
                {"attribute": "value", "op": "lt", "value": 5},
            )
        ]
    )

    _, problems = check_rule_set(doc)

    assert [(p.kind, p.where, p.field) for p in problems] == [
        ("contradiction", "rule 'impossible'", "when[0], when[1]")
    ]
    assert "value gt 10 and value lt 5" in problems[0].message


@pytest.mark.parametrize(
    "conditions",
    [
        [eq("department", "A"), eq("department", "B")],
        [
            {"attribute": "department", "op": "exists"},
            {"attribute": "department", "op": "missing"},
        ],
        [
            eq("department", "A"),
            {"attribute": "department", "op": "in", "value": ["B", "C"]},
        ],
        [
            {"attribute": "value", "op": "ge", "value": 5},
            {"attribute": "value", "op": "lt", "value": 5},
        ],
        [{"attribute": "value", "op": "gt", "value": "ten"}],
        [
            eq("department", "A"),
            {"attribute": "department", "op": "regex", "value": "^B"},
        ],
        [eq("source_system", "sap")],
        [eq("media", "fax")],
    ],
)
def test_contradictions_found(conditions: list[dict[str, Any]]) -> None:
    doc = document([rule("impossible", *conditions)])

    kinds = [kind for kind, _, _ in problems_of(doc)]

    assert kinds == ["contradiction"]


def test_unknown_attribute_named() -> None:
    doc = document(
        [
            rule("colour", eq("colour", "red")),
            rule(
                "skill",
                eq("department", "Finance"),
                target={"skills": [{"from_attribute": "team"}]},
            ),
        ]
    )

    assert problems_of(doc) == [
        ("unknown_attribute", "rule 'colour'", "when[0].attribute"),
        ("unknown_attribute", "rule 'skill'", "target.skills[0].from_attribute"),
    ]


def test_every_problem_reported_together() -> None:
    doc = document(
        [
            rule("unknown-scheme", eq("department", "A"), scheme="missing"),
            rule("bad-sla", eq("department", "B"), sla_hours=-2),
            rule("bad-in", {"attribute": "department", "op": "in", "value": "Gold"}),
            rule("typo", eq("department", "C"), deparment="x"),
        ]
    )
    doc["schemes"]["inverted"] = {
        "name": "inverted",
        "initial": 10,
        "minimum": 900,
        "maximum": 100,
    }

    found = problems_of(doc)

    assert ("invalid", "scheme 'inverted'", "minimum") in found
    assert ("unknown_scheme", "rule 'unknown-scheme'", "scheme") in found
    assert ("invalid", "rule 'bad-sla'", "sla_hours") in found
    assert ("invalid", "rule 'bad-in'", "when[0]") in found
    assert ("invalid", "rule 'typo'", "deparment") in found
    assert len(found) == 5


def test_default_unknown_scheme_named() -> None:
    doc = document([])
    doc["default"]["scheme"] = "nowhere"

    assert problems_of(doc) == [("unknown_scheme", "default", "scheme")]


def test_missing_top_level_fields_named() -> None:
    found = problems_of({"rules": []})

    assert ("invalid", "rule set", "version") in found
    assert ("invalid", "rule set", "schemes") in found
    assert ("invalid", "rule set", "default") in found


def test_load_rules_lists_problems(tmp_path) -> None:
    path = tmp_path / "rules.yaml"
    doc = document(
        [
            rule("first", eq("department", "Finance")),
            rule("second", eq("department", "Finance"), scheme="nope"),
        ]
    )
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")

    with pytest.raises(RuleSetError) as caught:
        load_rules(path)

    assert len(caught.value.problems) == 2
    assert "2 problems" in str(caught.value)
    assert "rule 'second', field scheme" in str(caught.value)
    assert "rule 'second', field when: the rule is unreachable" in str(caught.value)


def test_validate_command_exit_code(tmp_path, capsys) -> None:
    path = tmp_path / "rules.yaml"
    doc = document([rule("a", eq("department", "X")), rule("b", eq("department", "X"))])
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")

    bad = main(["rules", "validate", str(path)])
    bad_output = capsys.readouterr().err
    good = main(["rules", "validate"])

    assert bad == 1
    assert "rule 'b', field when: the rule is unreachable" in bad_output
    assert good == 0


# The CRM segmentation of the shipped rule set.

SEGMENTATION = [
    # department, segment, scheme minimum, scheme maximum, SLA hours
    ("Finance", "Gold", 400, 1000, None),
    ("Finance", "Silver", 200, 1000, None),
    ("Finance", "Bronze", 100, 1000, None),
    ("Sales", "Gold", 500, 2000, 72),
    ("Sales", "Silver", 200, 1000, None),
    ("Sales", "Bronze", 100, 400, None),
]


def _crm_capture(number: int, department: str, segment: str) -> bytes:
    return orjson.dumps(
        {
            "type": "create",
            "source_system": "crm",
            "external_id": f"CASE-{number}",
            "occurred_at": "2026-03-02 09:00:00",
            "attributes": {
                "Department": department,
                "CustomerSegment": segment,
                "Account": "Example Ltd",
            },
        }
    )


@pytest.mark.parametrize(
    ("department", "segment", "minimum", "maximum", "sla_hours"), SEGMENTATION
)
def test_crm_segmentation_table(
    department: str, segment: str, minimum: int, maximum: int, sla_hours: int | None
) -> None:
    rules = default_rules()
    command = parse_capture(_crm_capture(1, department, segment), rules)

    state = decide(None, command, CAPTURED, rules).state

    assert state.department == department
    assert state.rule == f"crm-{department.lower()}-{segment.lower()}"
    assert state.scheme.minimum == minimum
    assert state.scheme.maximum == maximum
    if sla_hours is None:
        assert state.due_at is None
    else:
        assert state.due_at - state.captured_at == timedelta(hours=sla_hours)


def test_crm_other_department_default() -> None:
    rules = default_rules()
    command = parse_capture(_crm_capture(2, "Marketing", "Gold"), rules)

    state = decide(None, command, CAPTURED, rules).state

    assert state.rule == "default"
    assert state.department == rules.default.department


def _default_path():
    from importlib import resources

    return resources.files("processors") / "rulesets" / "default.yaml"


# Values that would break processing later.


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"offer_timeout_seconds": 1e15}, "offer_timeout_seconds"),
        ({"offer_timeout_seconds": float("inf")}, "offer_timeout_seconds"),
        ({"business_day_timezone": "Mars/Olympus"}, None),
    ],
)
def test_extreme_settings_rejected(extra: dict[str, Any], field: str | None) -> None:
    _, problems = check_rule_set(document([], **extra))

    assert problems, f"{extra} was accepted"
    assert problems[0].where == "rule set"
    if field is not None:
        assert problems[0].field == field


def test_huge_sla_rejected() -> None:
    problems = problems_of(
        document([rule("slow", eq("source_system", "crm"), sla_hours=1e12)])
    )

    assert ("invalid", "rule 'slow'", "sla_hours") in problems


def test_unknown_source_timezone_rejected() -> None:
    doc = document([])
    doc["sources"]["crm"]["timezone"] = "Mars/Olympus"

    _, problems = check_rule_set(doc)

    assert any("Mars/Olympus" in p.message for p in problems)
    assert problems[0].where == "source 'crm'"


def test_scheme_nan_rejected() -> None:
    doc = document([])
    doc["schemes"]["flat"]["interval_seconds"] = float("nan")

    _, problems = check_rule_set(doc)

    assert problems[0].where == "scheme 'flat'"
    assert problems[0].field == "interval_seconds"


def test_non_utf8_file_rejected(tmp_path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_bytes(b"\xff\xfe version: 1")

    with pytest.raises(RuleSetError, match="not UTF-8 text"):
        load_rules(path)


def test_oversized_file_rejected(tmp_path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_bytes(b"#" * (2 * 1024 * 1024))

    with pytest.raises(RuleSetError, match="larger than 1048576 bytes"):
        load_rules(path)


@pytest.mark.parametrize("pattern", ["^(a+)+$", "(x*y)*", "(a|b+)+"])
def test_nested_repeat_regex_rejected(pattern: str) -> None:
    doc = document(
        [rule("slow", {"attribute": "value", "op": "regex", "value": pattern})]
    )

    _, problems = check_rule_set(doc)

    assert any("exponential time" in p.message for p in problems)


@pytest.mark.parametrize("pattern", ["^INC\\d+$", "(ab)+", "^(Network|Database)$"])
def test_plain_regex_accepted(pattern: str) -> None:
    doc = document(
        [rule("fine", {"attribute": "value", "op": "regex", "value": pattern})]
    )

    _, problems = check_rule_set(doc)

    assert problems == []
