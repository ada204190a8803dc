"""Tests of the explanation of an item's routing state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from processors.domain.distributor import Distributor
from processors.domain.explain import explain
from processors.domain.rulesets import default_rules
from schemas.agents import LogIn, NotReadyReason
from schemas.distribution import RouteTask
from schemas.routing import Capacity, Target, Tier

NOW = datetime(2024, 3, 1, 9, tzinfo=UTC)


def _setup() -> Distributor:
    distributor = Distributor(domain="d", offer_timeout=timedelta(minutes=10))
    distributor.log_in("away", LogIn(skills={"Sales": 9}), NOW)
    distributor.not_ready("away", NotReadyReason.LUNCH, NOW)
    distributor.log_in(
        "busy", LogIn(skills={"Sales": 9}, capacity=Capacity(workitem=0)), NOW
    )
    distributor.ready("busy", NOW)
    distributor.log_in("novice", LogIn(skills={"Sales": 2}), NOW)
    distributor.ready("novice", NOW)
    route = RouteTask(
        task_id="lead",
        media="workitem",
        target=Target(expression="Sales > 7"),
        tiers=(Tier(target=Target(expression="Sales > 0"), after_seconds=3600),),
        scheme=default_rules().schemes["standard"],
        priority_start_at=NOW,
        queued_at=NOW,
    )
    distributor.route(route, NOW)
    return distributor


def _reasons(report: dict, agent_id: str) -> list[str]:
    return next(
        row["reasons"] for row in report["employees"] if row["agent_id"] == agent_id
    )


def test_waiting_item_explained() -> None:
    report = explain(_setup(), "lead", NOW + timedelta(minutes=5))

    assert report["state"] == "waiting"
    assert report["tier"] == 0
    assert report["target"] == "(Sales > 7)"
    assert report["next_tier"] == {
        "at": "2024-03-01T10:00:00+00:00",
        "adds": "(Sales > 0)",
    }
    assert report["priority"] == 100
    assert report["next_priority_change"] == "2024-03-01T10:00:00+00:00"


def test_each_employee_has_reason() -> None:
    report = explain(_setup(), "lead", NOW)

    assert _reasons(report, "away") == ["not ready (lunch)"]
    assert _reasons(report, "busy") == ["at capacity for workitem (0 of 0)"]
    assert _reasons(report, "novice") == ["skill too low: Sales is 2, needs > 7"]


def test_unknown_item_not_in_routing() -> None:
    assert explain(_setup(), "nothing", NOW) == {
        "task_id": "nothing",
        "in_routing": False,
    }


def test_offered_after_widening() -> None:
    distributor = _setup()
    distributor.tick(NOW + timedelta(hours=1))

    report = explain(distributor, "lead", NOW + timedelta(hours=1))

    assert report["state"] == "offered by novice"
    assert report["tier"] == 1
    assert _reasons(report, "novice") == ["has the offer now"]
