"""Tests of tier widening and the preferred employee."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from processors.domain.classification import classify
from processors.domain.distributor import Distributor
from processors.domain.rulesets import default_rules
from processors.domain.task import Decision, decide
from schemas.agents import LogIn
from schemas.capture import CaptureCommand
from schemas.distribution import RouteTask
from schemas.routing import Target, Tier
from schemas.rules import RuleSet

NOW = datetime(2024, 3, 1, 9, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
RULES = default_rules()
PRIMARY = Target(expression="Sales Processing > 7 and Legacy System Processing > 1")
SECONDARY = Target(expression="Sales Processing > 4")
TERTIARY = Target(expression="Sales Processing > 0")


def _route(task_id: str = "lead", **fields) -> RouteTask:
    values = {
        "task_id": task_id,
        "media": "workitem",
        "target": PRIMARY,
        "tiers": (
            Tier(target=SECONDARY, after_seconds=600),
            Tier(target=TERTIARY, after_seconds=1800),
        ),
        "scheme": RULES.schemes["standard"],
        "priority_start_at": NOW,
        "queued_at": NOW,
    }
    return RouteTask(**{**values, **fields})


def _offers(effects) -> list[tuple[str, str]]:
    return [(e.body.task_id, e.key) for e in effects if e.type == "assignment.offer"]


def _widenings(effects) -> list[int]:
    return [e.body.tier for e in effects if e.type == "distribution.widened"]


def _domain_with(skills: dict[str, int]) -> Distributor:
    distributor = Distributor(domain="d", offer_timeout=timedelta(minutes=10))
    distributor.log_in("junior", LogIn(skills=skills), NOW)
    distributor.ready("junior", NOW)
    return distributor


def test_primary_waits_then_widens() -> None:
    distributor = _domain_with({"Sales Processing": 5})

    routed = distributor.route(_route(), NOW)
    early = distributor.tick(NOW + 9 * MINUTE)
    widened = distributor.tick(NOW + 10 * MINUTE)

    assert _offers(routed) == []
    assert _offers(early) == []
    assert _widenings(widened) == [1]
    assert _offers(widened) == [("lead", "junior")]


def test_next_deadline_is_widening() -> None:
    distributor = _domain_with({"Sales Processing": 1})
    distributor.route(_route(), NOW)

    assert distributor.next_deadline() == NOW + 10 * MINUTE
    distributor.tick(NOW + 10 * MINUTE)
    assert distributor.next_deadline() == NOW + 30 * MINUTE


def test_late_tick_skips_to_widest() -> None:
    distributor = _domain_with({"Sales Processing": 1})
    distributor.route(_route(), NOW)

    effects = distributor.tick(NOW + 45 * MINUTE)

    assert _widenings(effects) == [2]
    assert _offers(effects) == [("lead", "junior")]
    assert distributor.next_deadline() is not None


def test_widened_target_keeps_primary_agents() -> None:
    distributor = _domain_with({"Sales Processing": 1})
    distributor.log_in(
        "expert",
        LogIn(skills={"Sales Processing": 9, "Legacy System Processing": 3}),
        NOW,
    )
    distributor.route(_route(), NOW)
    distributor.tick(NOW + 31 * MINUTE)
    item = distributor.items["lead"]

    assert item.tier == 2
    assert distributor.can_take(distributor.agents["expert"], item) is True
    assert distributor.can_take(distributor.agents["junior"], item) is False


def test_tiers_from_share_of_sla() -> None:
    rules = RuleSet.model_validate(
        {
            **RULES.model_dump(mode="json"),
            "version": 2,
            "default": {
                **RULES.default.model_dump(mode="json"),
                "sla_hours": 10,
                "tiers": [
                    {
                        "target": {"skills": [{"skill": "backup"}]},
                        "after_percent_of_sla": 25,
                    },
                    {
                        "target": {"skills": [{"skill": "reception"}]},
                        "after_seconds": 7200,
                    },
                ],
            },
        }
    )

    result = classify(rules, {}, NOW)

    assert [tier.after_seconds for tier in result.tiers] == [9000.0, 7200.0]
    assert result.tiers[0].target.skills[0].skill == "backup"


def test_preferred_employee_first() -> None:
    command = CaptureCommand(
        type="create",
        capture_id="c1",
        source_system="servicenow",
        external_id="INC1",
        occurred_at=NOW,
        preferred_agent="ann",
        attributes={"priority_label": "3 - Moderate", "assignment_group": "Network"},
    )

    outcome = decide(None, command, NOW, RULES)
    route = outcome.requests[0][1]

    # 20% of the 24 hour SLA of a moderate incident.
    assert route.target == Target(agent_id="ann")
    assert route.tiers[0].after_seconds == 17280.0
    assert route.tiers[0].target.skills[0].skill == "Network"


def test_widening_recorded_in_log() -> None:
    command = CaptureCommand(
        type="create",
        capture_id="c1",
        source_system="servicenow",
        external_id="INC1",
        occurred_at=NOW,
        attributes={"priority_label": "3 - Moderate", "assignment_group": "Network"},
    )
    state = decide(None, command, NOW, RULES).state
    distributor = Distributor(domain="d", offer_timeout=timedelta(minutes=10))
    effects = distributor.route(_route(task_id=state.task_id), NOW)
    effects = distributor.tick(NOW + 10 * MINUTE)
    widened = next(e for e in effects if e.type == "distribution.widened")

    outcome = decide(state, Decision(event_id="w1", body=widened.body), NOW, RULES)

    assert [event_type for event_type, _ in outcome.events] == ["task.widened"]
    assert outcome.state.tier == 1
    assert outcome.state.queue == widened.body.queue
