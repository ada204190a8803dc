"""Simulated employees sized and skilled after the captures they will work on.

Skill names are the values the default rule set's targets resolve to: the
`assignment_group` of a ServiceNow incident, the `QUEUE` of a Boston 311 case,
and the fallback skill for items without one. Handling times are drawn from
the durations observed in the same data.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from processors.sources.boston import boston_profile
from processors.sources.capture_traffic import (
    FALLBACK_SKILL,
    SourceCapture,
    TrafficProfile,
    merge_profiles,
)
from processors.sources.servicenow import servicenow_profile

__all__ = [
    "AgentProfile",
    "DEFAULT_HANDLING_SECONDS",
    "MAX_HANDLING_SECONDS",
    "MAX_PER_SKILL",
    "draw_handling_seconds",
    "staffing_for",
]

log = logging.getLogger(__name__)

MAX_PER_SKILL = 6
MAX_HANDLING_SECONDS = 5 * 24 * 3600.0
MAX_HANDLING_SAMPLES = 2000
# Used only when the captures contain no completed item to measure.
DEFAULT_HANDLING_SECONDS = 1800.0
RECEPTION_LEVEL = 5
PRIMARY_LEVELS = (5, 9)
SECOND_SKILL_LEVELS = (1, 4)
SECOND_SKILL_SHARE = 0.3
CAPACITY_WORKITEM = (1, 3)
RONA_PROBABILITY = 0.03

_PROFILERS: dict[str, Callable[[Iterable[SourceCapture]], TrafficProfile]] = {
    "servicenow": servicenow_profile,
    "boston311": boston_profile,
}
_FIRST_NAMES = (
    "Ada", "Ben", "Chloe", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines",
    "Jonas", "Kemi", "Luca", "Maya", "Nils", "Olga", "Priya", "Quinn", "Rosa",
    "Sami", "Tara", "Umar", "Vera", "Wen", "Yara", "Zoe",
)  # fmt: skip
_LAST_NAMES = (
    "Alvarez", "Brennan", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia",
    "Haddad", "Ito", "Jensen", "Kowalski", "Lindqvist", "Moreau", "Nakamura",
    "Okafor", "Petrov", "Rossi", "Schmidt", "Tanaka", "Varga", "Weber",
)  # fmt: skip


@dataclass(frozen=True)
class AgentProfile:
    """One simulated employee.

    `skills` maps skill names to proficiency 1-10, `capacity_workitem` is the
    number of work items held at once, `handling_seconds` the durations a
    handling time is drawn from, and `rona_probability` the chance of letting
    an offer time out (Redirect On No Answer).
    """

    agent_id: str
    name: str
    skills: dict[str, int]
    capacity_workitem: int
    handling_seconds: tuple[float, ...] = field(repr=False)
    rona_probability: float = RONA_PROBABILITY


def staffing_for(
    captures: list[SourceCapture],
    per_skill: int = 2,
    reception: int = 2,
    seed: int = 7,
) -> list[AgentProfile]:
    """Staff every skill the captures target, the same way for the same seed.

    Each skill gets `per_skill` employees, and a skill with more than its
    share of creates gets proportionally more, at most MAX_PER_SKILL (or
    `per_skill` if larger). `reception` employees hold only the fallback skill.
    """
    if per_skill < 1:
        raise ValueError(f"per_skill must be at least 1, got {per_skill}")
    if reception < 0:
        raise ValueError(f"reception must be zero or more, got {reception}")
    rng = random.Random(seed)
    by_source = _profiles_by_source(captures)
    traffic = merge_profiles(list(by_source.values()))
    durations = _HandlingTimes(by_source, rng)

    skills = sorted(traffic.skills - {FALLBACK_SKILL})
    skills.sort(key=lambda skill: traffic.demand.get(skill, 0), reverse=True)
    agents: list[AgentProfile] = []
    for skill in skills:
        colleagues = _same_source_skills(skill, skills, by_source)
        for _ in range(_headcount(skill, traffic, len(skills), per_skill)):
            second = _second_skill(colleagues, traffic, rng)
            agent_skills = _skills(skill, second, rng)
            agents.append(_agent(len(agents), agent_skills, durations, rng))
    for _ in range(reception):
        reception_skills = {FALLBACK_SKILL: RECEPTION_LEVEL}
        agents.append(_agent(len(agents), reception_skills, durations, rng))
    log.info("staffed %d employees for %d skills", len(agents), len(skills) + 1)
    return agents


def draw_handling_seconds(profile: AgentProfile, rng: random.Random) -> float:
    """Draw one handling time, in seconds, from the employee's durations."""
    if not profile.handling_seconds:
        raise ValueError(f"employee {profile.agent_id} has no handling times")
    return rng.choice(profile.handling_seconds)


def _profiles_by_source(captures: list[SourceCapture]) -> dict[str, TrafficProfile]:
    profiles = {}
    for source_system in sorted({capture.source_system for capture in captures}):
        profiler = _PROFILERS.get(source_system, _fallback_profile)
        profiles[source_system] = profiler(
            capture for capture in captures if capture.source_system == source_system
        )
    return profiles


def _fallback_profile(captures: Iterable[SourceCapture]) -> TrafficProfile:
    """Route an unknown source's items to the fallback skill, as the default rule."""
    creates = sum(1 for capture in captures if capture.document()["type"] == "create")
    return TrafficProfile({FALLBACK_SKILL: creates}, frozenset({FALLBACK_SKILL}), ())


def _headcount(
    skill: str, traffic: TrafficProfile, skill_count: int, per_skill: int
) -> int:
    total = sum(traffic.demand.values())
    if total == 0:
        return per_skill
    share = traffic.demand.get(skill, 0) / total
    # A skill with exactly an even share of the creates gets `per_skill`.
    scaled = round(per_skill * share * skill_count)
    return max(per_skill, min(MAX_PER_SKILL, scaled))


def _same_source_skills(
    skill: str, skills: list[str], by_source: dict[str, TrafficProfile]
) -> list[str]:
    """List the other skills targeted by a source system that also targets `skill`."""
    related = set().union(
        *(profile.skills for profile in by_source.values() if skill in profile.skills)
    )
    return [other for other in skills if other != skill and other in related]


def _second_skill(
    candidates: list[str], traffic: TrafficProfile, rng: random.Random
) -> str | None:
    if not candidates or rng.random() >= SECOND_SKILL_SHARE:
        return None
    weights = [traffic.demand.get(skill, 0) + 1 for skill in candidates]
    return rng.choices(candidates, weights=weights)[0]


def _skills(primary: str, second: str | None, rng: random.Random) -> dict[str, int]:
    skills = {primary: rng.randint(*PRIMARY_LEVELS)}
    if second is not None:
        skills[second] = rng.randint(*SECOND_SKILL_LEVELS)
    return skills


def _agent(
    number: int,
    skills: dict[str, int],
    durations: _HandlingTimes,
    rng: random.Random,
) -> AgentProfile:
    name = f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"
    return AgentProfile(
        agent_id=f"agent-{number + 1:03d}",
        name=name,
        skills=skills,
        capacity_workitem=rng.randint(*CAPACITY_WORKITEM),
        handling_seconds=durations.for_skills(skills),
    )


class _HandlingTimes:
    """Handling-time samples per source system, shared between employees.

    An employee draws from the sources whose items need the employee's
    skills, and a fallback-skill employee from every source.
    """

    def __init__(
        self, by_source: dict[str, TrafficProfile], rng: random.Random
    ) -> None:
        self._by_source = by_source
        self._rng = rng
        self._samples: dict[frozenset[str], tuple[float, ...]] = {}

    def for_skills(self, skills: dict[str, int]) -> tuple[float, ...]:
        sources = frozenset(
            source
            for source, profile in self._by_source.items()
            if FALLBACK_SKILL in skills or profile.skills.intersection(skills)
        )
        if sources not in self._samples:
            self._samples[sources] = self._sample(sources)
        return self._samples[sources]

    def _sample(self, sources: frozenset[str]) -> tuple[float, ...]:
        durations = sorted(
            min(seconds, MAX_HANDLING_SECONDS)
            for source in sorted(sources)
            for seconds in self._by_source[source].handling_seconds
            if seconds > 0
        )
        if len(durations) > MAX_HANDLING_SAMPLES:
            durations = self._rng.sample(durations, MAX_HANDLING_SAMPLES)
        return tuple(durations) or (DEFAULT_HANDLING_SECONDS,)
