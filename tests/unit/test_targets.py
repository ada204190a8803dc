"""Tests of targets: skill expressions, groups and named employees."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from processors.domain.distributor import Distributor
from processors.domain.rulesets import RuleSetError, default_rules, load_rules
from processors.domain.targets import (
    ExpressionError,
    match_score,
    parse_expression,
    qualifies,
    skills_named,
)
from schemas.agents import LogIn
from schemas.distribution import RouteTask
from schemas.routing import SkillRequirement, Target

SALES = "Sales Processing > 7 and Legacy System Processing > 1"


@pytest.mark.parametrize(
    ("skills", "expected"),
    [
        ({"Sales Processing": 8, "Legacy System Processing": 2}, True),
        ({"Sales Processing": 7, "Legacy System Processing": 2}, False),
        ({"Sales Processing": 9, "Legacy System Processing": 1}, False),
        ({"Sales Processing": 9}, False),
    ],
)
def test_and_expression(skills, expected) -> None:
    assert parse_expression(SALES).holds(skills) is expected


@pytest.mark.parametrize(
    ("skills", "expected"),
    [
        ({"a": 5}, True),
        ({"b": 1, "c": 0}, True),
        ({"b": 1, "c": 3}, False),
        ({}, False),
    ],
)
def test_or_binds_looser_than_and(skills, expected) -> None:
    assert parse_expression("a >= 5 or b = 1 and c != 3").holds(skills) is expected


def test_brackets_group() -> None:
    node = parse_expression("(a > 1 or b > 1) and c <= 2")

    assert node.holds({"a": 2, "c": 2}) is True
    assert node.holds({"a": 2, "c": 3}) is False
    assert node.holds({"c": 1}) is False


def test_keywords_ignore_case() -> None:
    assert parse_expression("a > 1 AND b > 1").holds({"a": 2, "b": 2}) is True


def test_skills_named_in_order() -> None:
    assert skills_named("b > 1 or a > 2 and b < 9") == ["b", "a"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("a >", "ends too early"),
        ("> 3", "expected a skill name"),
        ("a > x", "not a whole number"),
        ("(a > 1", "ends too early"),
        ("a > 1) and b > 2", "unexpected ')'"),
    ],
)
def test_invalid_expression_explained(text, fragment) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression(text)

    assert fragment in str(caught.value)


def test_named_employee_only() -> None:
    target = Target(agent_id="ann")

    assert qualifies(target, "ann", {}, frozenset()) is True
    assert qualifies(target, "bob", {}, frozenset()) is False


def test_group_required() -> None:
    target = Target(agent_group="billing")

    assert qualifies(target, "ann", {}, frozenset({"billing"})) is True
    assert qualifies(target, "ann", {}, frozenset({"sales"})) is False


def test_all_parts_must_hold() -> None:
    target = Target(
        skills=(SkillRequirement(skill="reception", min_level=2),),
        expression="Billing > 3",
        agent_group="back office",
    )
    groups = frozenset({"back office"})

    assert qualifies(target, "a", {"reception": 2, "Billing": 4}, groups) is True
    assert qualifies(target, "a", {"reception": 1, "Billing": 4}, groups) is False
    assert qualifies(target, "a", {"reception": 2, "Billing": 3}, groups) is False
    assert qualifies(target, "a", {"reception": 2, "Billing": 4}, frozenset()) is False


def test_match_score_sums_named_skills() -> None:
    target = Target(
        skills=(SkillRequirement(skill="reception"),), expression="Billing > 3"
    )

    assert match_score(target, {"reception": 2, "Billing": 7, "Other": 9}) == 9


def test_key_names_every_part() -> None:
    target = Target(expression=SALES, agent_group="sales")

    assert target.key == f"({SALES}) and group sales"


def test_bad_expression_in_rules_named(tmp_path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        """
version: 2
schemes:
  standard: {name: standard, initial: 100}
rules:
  - name: sales-gold
    department: Sales
    process: Leads
    scheme: standard
    target: {expression: "Sales Processing >"}
default: {department: Other, process: General, scheme: standard}
""",
        encoding="utf-8",
    )

    with pytest.raises(RuleSetError) as caught:
        load_rules(path)

    assert "rule 'sales-gold'" in str(caught.value)
    assert "target.expression" in str(caught.value)


# Routing with expressions, groups and named employees.

NOW = datetime(2024, 3, 1, 9, tzinfo=UTC)


def _route(task_id: str, target: Target) -> RouteTask:
    return RouteTask(
        task_id=task_id,
        media="workitem",
        target=target,
        scheme=default_rules().schemes["standard"],
        priority_start_at=NOW,
        queued_at=NOW,
    )


def _offers(effects) -> list[tuple[str, str]]:
    return [(e.body.task_id, e.key) for e in effects if e.type == "assignment.offer"]


def _staffed(*agents: tuple[str, dict, tuple]) -> Distributor:
    distributor = Distributor(domain="d", offer_timeout=timedelta(minutes=10))
    for agent_id, skills, groups in agents:
        distributor.log_in(agent_id, LogIn(skills=skills, groups=groups), NOW)
    return distributor


def test_expression_target_routes_to_qualified() -> None:
    distributor = _staffed(
        ("junior", {"Sales Processing": 6, "Legacy System Processing": 5}, ()),
        ("senior", {"Sales Processing": 8, "Legacy System Processing": 2}, ()),
    )
    distributor.route(_route("lead", Target(expression=SALES)), NOW)

    effects = distributor.ready("junior", NOW) + distributor.ready("senior", NOW)

    assert _offers(effects) == [("lead", "senior")]


def test_group_target_routes_to_member() -> None:
    distributor = _staffed(("ann", {}, ("billing",)), ("bob", {}, ("sales",)))
    distributor.ready("bob", NOW)
    distributor.ready("ann", NOW)

    effects = distributor.route(_route("invoice", Target(agent_group="billing")), NOW)

    assert _offers(effects) == [("invoice", "ann")]


def test_named_target_waits_for_employee() -> None:
    distributor = _staffed(("ann", {}, ()), ("bob", {}, ()))
    distributor.ready("bob", NOW)

    waiting = distributor.route(_route("callback", Target(agent_id="ann")), NOW)
    effects = distributor.ready("ann", NOW)

    assert _offers(waiting) == []
    assert _offers(effects) == [("callback", "ann")]
