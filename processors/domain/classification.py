"""Classification: which department, process, scheme and target an item gets."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from processors.domain.calendar import add_business_seconds, business_seconds_between
from processors.domain.priority import adjustment_for
from schemas.calendar import Calendar
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
    priority_adjustment: int = 0
    # The business calendar the scheme's curve runs on, if it names one.
    calendar: Calendar | None = None


def classify(
    rules: RuleSet,
    attributes: dict[str, Any],
    captured_at: datetime,
    due_at: datetime | None = None,
) -> Classification:
    """Apply the first matching rule, in order, or the rule set's default.

    A due date sent by the source wins over the segment's SLA. With a
    segment calendar, the SLA counts open hours of that calendar.
    """
    segment: Segment = rules.default
    rule_name = "default"
    for rule in rules.rules:
        if all(matches(condition, attributes) for condition in rule.when):
            segment, rule_name = rule, rule.name
            break

    calendar = None if segment.calendar is None else rules.calendars[segment.calendar]
    if due_at is None and segment.sla_hours is not None:
        if calendar is None:
            due_at = captured_at + timedelta(hours=segment.sla_hours)
        else:
            due_at = add_business_seconds(
                calendar, captured_at, segment.sla_hours * 3600
            )
    scheme = rules.schemes[segment.scheme]
    return Classification(
        department=segment.department,
        process=segment.process,
        rule=rule_name,
        scheme=scheme,
        target=resolve_target(segment.target, attributes),
        due_at=due_at,
        tiers=resolve_tiers(
            segment.tiers, attributes, captured_at, due_at, calendar
        ),
        priority_adjustment=adjustment_for(scheme, attributes),
        calendar=None if scheme.calendar is None else rules.calendars[scheme.calendar],
    )


def resolve_tiers(
    specs: tuple[TierSpec, ...],
    attributes: dict[str, Any],
    captured_at: datetime,
    due_at: datetime | None,
    calendar: Calendar | None = None,
) -> tuple[Tier, ...]:
    """Turn tier specs into tiers, with waits in wall-clock seconds.

    A share-of-SLA tier waits until that share of the time from capture to
    the due date has passed, counting open time only when the segment has a
    calendar. Such a tier of an item without a due date is left out, because
    the item has no SLA to take a share of.
    """
    tiers = []
    for spec in specs:
        if spec.after_seconds is not None:
            after = spec.after_seconds
        elif due_at is not None:
            after = _share_of_sla(
                spec.after_percent_of_sla, captured_at, due_at, calendar
            )
        else:
            continue
        tiers.append(
            Tier(target=resolve_target(spec.target, attributes), after_seconds=after)
        )
    return tuple(tiers)


def _share_of_sla(
    percent: float, captured_at: datetime, due_at: datetime, calendar: Calendar | None
) -> float:
    """Return the wall-clock seconds from capture until `percent` of the SLA
    has passed."""
    if calendar is None:
        sla = max(0.0, (due_at - captured_at).total_seconds())
        return sla * percent / 100
    open_seconds = business_seconds_between(calendar, captured_at, due_at)
    reached = add_business_seconds(calendar, captured_at, open_seconds * percent / 100)
    return (reached - captured_at).total_seconds()


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
