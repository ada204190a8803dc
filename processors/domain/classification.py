"""Classification: which department, process, scheme and target an item gets."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from schemas.routing import PriorityScheme, SkillRequirement, Target, Tier
from schemas.rules import Condition, RuleSet, Segment, TargetSpec, TierSpec

__all__ = ["Classification", "classify", "matches", "resolve_target", "resolve_tiers"]


@dataclass(frozen=True)
class Classification:
    department: str
    process: str
    rule: str
    scheme: PriorityScheme
    target: Target
    due_at: datetime | None
    tiers: tuple[Tier, ...] = ()


def classify(
    rules: RuleSet,
    attributes: dict[str, Any],
    captured_at: datetime,
    due_at: datetime | None = None,
) -> Classification:
    """Apply the first matching rule, in order, or the rule set's default.

    A due date sent by the source wins over the segment's SLA.
    """
    segment: Segment = rules.default
    rule_name = "default"
    for rule in rules.rules:
        if all(matches(condition, attributes) for condition in rule.when):
            segment, rule_name = rule, rule.name
            break

    if due_at is None and segment.sla_hours is not None:
        due_at = captured_at + timedelta(hours=segment.sla_hours)
    sla = None if due_at is None else (due_at - captured_at).total_seconds()
    return Classification(
        department=segment.department,
        process=segment.process,
        rule=rule_name,
        scheme=rules.schemes[segment.scheme],
        target=resolve_target(segment.target, attributes),
        due_at=due_at,
        tiers=resolve_tiers(segment.tiers, attributes, sla),
    )


def resolve_tiers(
    specs: tuple[TierSpec, ...], attributes: dict[str, Any], sla_seconds: float | None
) -> tuple[Tier, ...]:
    """Turn tier specs into tiers. A share-of-SLA tier of an item without a
    due date is left out, because the item has no SLA to take a share of."""
    tiers = []
    for spec in specs:
        if spec.after_seconds is not None:
            after = spec.after_seconds
        elif sla_seconds is not None:
            after = max(0.0, sla_seconds) * spec.after_percent_of_sla / 100
        else:
            continue
        tiers.append(
            Tier(target=resolve_target(spec.target, attributes), after_seconds=after)
        )
    return tuple(tiers)


def resolve_target(spec: TargetSpec, attributes: dict[str, Any]) -> Target:
    """Turn a target spec into concrete skills using the item's attributes."""
    requirements = []
    for skill_spec in spec.skills:
        name = skill_spec.skill
        if skill_spec.from_attribute is not None:
            name = _present(attributes.get(skill_spec.from_attribute))
        if name is None:
            requirements.append(SkillRequirement(skill=spec.fallback_skill))
        else:
            requirements.append(
                SkillRequirement(skill=str(name), min_level=skill_spec.min_level)
            )
    return Target(
        skills=tuple(requirements),
        expression=spec.expression,
        agent_group=spec.agent_group,
    )


def matches(condition: Condition, attributes: dict[str, Any]) -> bool:
    value = _present(attributes.get(condition.attribute))
    match condition.op:
        case "exists":
            return value is not None
        case "missing":
            return value is None
        case "equals":
            return value == condition.value
        case "in":
            return value in condition.value
        case "regex":
            return (
                value is not None
                and re.search(str(condition.value), str(value)) is not None
            )
        case "gt" | "ge" | "lt" | "le":
            return _compare(condition.op, value, condition.value)
    return False


def _compare(op: str, value: Any, bound: Any) -> bool:
    try:
        number, limit = float(value), float(bound)
    except (TypeError, ValueError):
        return False
    return {
        "gt": number > limit,
        "ge": number >= limit,
        "lt": number < limit,
        "le": number <= limit,
    }[op]


def _present(value: Any) -> Any:
    """Treat empty strings as missing, like a missing attribute."""
    if isinstance(value, str) and not value.strip():
        return None
    return value
