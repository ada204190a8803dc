"""Simulated employees derived from the shipped ServiceNow and Boston 311 traffic."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from processors.domain.classification import classify
from processors.domain.rulesets import default_rules
from processors.domain.validation import CaptureError, parse_capture
from processors.simulation.staffing import (
    DEFAULT_HANDLING_SECONDS,
    MAX_HANDLING_SECONDS,
    AgentProfile,
    draw_handling_seconds,
    staffing_for,
)
from processors.sources.boston import boston_captures
from processors.sources.capture_traffic import FALLBACK_SKILL, SourceCapture
from processors.sources.servicenow import servicenow_captures
from schemas.routing import SkillRequirement
from schemas.rules import RuleSet

# INC0000045: created 29/2/2016 01:23, first Resolved 08:53.
SERVICENOW_KNOWN_SECONDS = 7.5 * 3600
# Case 101001242696: opened 15:22:38, closed 16:37:37.
BOSTON_KNOWN_SECONDS = 4499.0


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return default_rules()


@pytest.fixture(scope="module")
def captures() -> list[SourceCapture]:
    return servicenow_captures(limit=300) + boston_captures(limit=300)


@pytest.fixture(scope="module")
def staff(captures: list[SourceCapture]) -> list[AgentProfile]:
    return staffing_for(captures)


def requirements_of(
    captures: list[SourceCapture], rules: RuleSet
) -> set[SkillRequirement]:
    """Collect the skill requirements every routed capture resolves to."""
    requirements = set()
    for capture in captures:
        try:
            command = parse_capture(capture.payload, rules)
        except CaptureError:
            continue
        if command.type == "complete":
            continue
        attributes = {**command.attributes, "source_system": command.source_system}
        target = classify(rules, attributes, command.occurred_at).target
        requirements.update(target.skills)
    return requirements


def is_met(requirement: SkillRequirement, staff: list[AgentProfile]) -> bool:
    return any(
        agent.skills.get(requirement.skill, 0) >= requirement.min_level
        for agent in staff
    )


def lacks_group(document: dict[str, Any]) -> bool:
    attributes = document.get("attributes", {})
    return "assignment_group" in attributes and attributes["assignment_group"] is None


def primary_skill(agent: AgentProfile) -> str:
    return next(iter(agent.skills))


def test_staffing_covers_targets(
    captures: list[SourceCapture], staff: list[AgentProfile], rules: RuleSet
) -> None:
    requirements = requirements_of(captures, rules)
    unmet = {r.skill for r in requirements if not is_met(r, staff)}
    assert len(requirements) > 100
    assert unmet == set()


def test_staffing_missing_group(
    captures: list[SourceCapture], staff: list[AgentProfile], rules: RuleSet
) -> None:
    missing = [capture for capture in captures if lacks_group(capture.document())]
    requirements = requirements_of(missing, rules)
    assert len(missing) > 0
    assert {r.skill for r in requirements} == {FALLBACK_SKILL}
    assert all(is_met(r, staff) for r in requirements)


def test_staffing_reception(staff: list[AgentProfile]) -> None:
    reception = [agent for agent in staff if FALLBACK_SKILL in agent.skills]
    assert len(reception) == 2
    assert [agent.skills for agent in reception] == [{FALLBACK_SKILL: 5}] * 2


def test_staffing_headcount(staff: list[AgentProfile]) -> None:
    headcount = Counter(primary_skill(agent) for agent in staff)
    del headcount[FALLBACK_SKILL]
    assert headcount["Group 70"] == 6
    assert min(headcount.values()) == 2
    assert max(headcount.values()) == 6


def test_staffing_per_skill(captures: list[SourceCapture]) -> None:
    staff = staffing_for(captures, per_skill=3, reception=1)
    headcount = Counter(primary_skill(agent) for agent in staff)
    assert headcount[FALLBACK_SKILL] == 1
    assert min(headcount.values()) == 1
    del headcount[FALLBACK_SKILL]
    assert min(headcount.values()) == 3


def test_staffing_second_skill(staff: list[AgentProfile]) -> None:
    pairs = [list(agent.skills.values()) for agent in staff if len(agent.skills) == 2]
    assert len(pairs) > 0
    assert all(second < primary for primary, second in pairs)
    assert max(len(agent.skills) for agent in staff) == 2


def test_staffing_second_skill_source(staff: list[AgentProfile]) -> None:
    mixed = [
        agent
        for agent in staff
        if len({skill.startswith("Group ") for skill in agent.skills}) > 1
    ]
    assert mixed == []


def test_staffing_levels(staff: list[AgentProfile]) -> None:
    levels = [level for agent in staff for level in agent.skills.values()]
    assert min(levels) >= 1
    assert max(levels) <= 10


def test_staffing_agent_ids(staff: list[AgentProfile]) -> None:
    agent_ids = [agent.agent_id for agent in staff]
    assert len(set(agent_ids)) == len(agent_ids)
    assert agent_ids[0] == "agent-001"


def test_staffing_deterministic(
    captures: list[SourceCapture], staff: list[AgentProfile]
) -> None:
    assert staffing_for(captures) == staff
    assert staffing_for(captures, seed=8) != staff


def test_staffing_capacity_and_rona(staff: list[AgentProfile]) -> None:
    assert {agent.capacity_workitem for agent in staff} <= {1, 2, 3}
    assert {agent.rona_probability for agent in staff} == {0.03}


def test_handling_range(staff: list[AgentProfile]) -> None:
    durations = {seconds for agent in staff for seconds in agent.handling_seconds}
    assert min(durations) > 0
    assert max(durations) == MAX_HANDLING_SECONDS


def test_handling_by_source(staff: list[AgentProfile]) -> None:
    incident_agent = next(a for a in staff if primary_skill(a) == "Group 70")
    case_agent = next(a for a in staff if primary_skill(a).startswith("PWDx"))
    assert SERVICENOW_KNOWN_SECONDS in incident_agent.handling_seconds
    assert BOSTON_KNOWN_SECONDS not in incident_agent.handling_seconds
    assert BOSTON_KNOWN_SECONDS in case_agent.handling_seconds
    assert SERVICENOW_KNOWN_SECONDS not in case_agent.handling_seconds


def test_handling_sample_cap() -> None:
    staff = staffing_for(boston_captures())
    sizes = {len(agent.handling_seconds) for agent in staff}
    assert sizes == {2000}


def test_unknown_source_reception() -> None:
    document = {
        "type": "create",
        "source_system": "crm",
        "external_id": "42",
        "occurred_at": "2024-01-01T00:00:00+00:00",
    }
    capture = SourceCapture.build(datetime(2024, 1, 1, tzinfo=UTC), document)
    staff = staffing_for([capture], reception=1)
    assert [agent.skills for agent in staff] == [{FALLBACK_SKILL: 5}]
    assert staff[0].handling_seconds == (DEFAULT_HANDLING_SECONDS,)


def test_draw_handling(staff: list[AgentProfile]) -> None:
    agent = staff[0]
    first = draw_handling_seconds(agent, random.Random(3))
    again = draw_handling_seconds(agent, random.Random(3))
    assert first in agent.handling_seconds
    assert first == again


def test_invalid_per_skill(captures: list[SourceCapture]) -> None:
    with pytest.raises(ValueError, match="per_skill"):
        staffing_for(captures, per_skill=0)
