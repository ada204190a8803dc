"""Fairness: equally skilled employees get equal shares over long runs."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from processors.domain.distributor import Distributor
from processors.domain.rulesets import default_rules
from schemas.agents import LogIn
from schemas.distribution import RouteTask
from schemas.routing import SkillRequirement, Target

START = datetime(2024, 3, 1, 9, tzinfo=UTC)
TARGET = Target(skills=(SkillRequirement(skill="Billing", min_level=1),))


def _route(number: int, now: datetime) -> RouteTask:
    return RouteTask(
        task_id=f"t{number}",
        media="workitem",
        target=TARGET,
        scheme=default_rules().schemes["standard"],
        priority_start_at=now,
        queued_at=now,
    )


def _run(fairness: str, agents: int, items: int, seed: int) -> list[int]:
    """Let items arrive one by one at random times while every employee is
    free; each offer is accepted and finished at once. Return the spread of
    the employees' finished counts after each item: over the whole run for
    longest_idle, over the current business day (UTC) for least_handled."""
    rng = random.Random(seed)
    distributor = Distributor(
        domain="d", offer_timeout=timedelta(minutes=10), fairness=fairness
    )
    now = START
    names = [f"a{number}" for number in range(agents)]
    for name in names:
        distributor.log_in(name, LogIn(skills={"Billing": 5}), now)
        distributor.ready(name, now)

    counts: dict[tuple, int] = {}
    spreads = []
    for number in range(items):
        now += timedelta(seconds=rng.randint(1, 600))
        effects = distributor.route(_route(number, now), now)
        offer = next(e for e in effects if e.type == "assignment.offer")
        now += timedelta(seconds=rng.randint(1, 60))
        distributor.accept(offer.key, offer.body.task_id, offer.body.offer_id, now)
        distributor.mark_done(offer.key, offer.body.task_id, now)
        period = now.date() if fairness == "least_handled" else None
        counts[period, offer.key] = counts.get((period, offer.key), 0) + 1
        handled = [counts.get((period, name), 0) for name in names]
        spreads.append(max(handled) - min(handled))
    return spreads


@settings(max_examples=30, deadline=None)
@given(
    fairness=st.sampled_from(["least_handled", "longest_idle"]),
    agents=st.integers(2, 6),
    seed=st.integers(0, 10_000),
)
def test_equal_shares_when_free(fairness: str, agents: int, seed: int) -> None:
    spreads = _run(fairness, agents, 50 * agents, seed)

    assert max(spreads) <= 1


def test_least_handled_counts_today_only() -> None:
    distributor = Distributor(
        domain="d", offer_timeout=timedelta(minutes=10), fairness="least_handled"
    )
    for name in ("busy", "fresh"):
        distributor.log_in(name, LogIn(skills={"Billing": 5}), START)
    distributor.ready("busy", START)
    for number in range(3):
        effects = distributor.route(_route(number, START), START)
        offer = next(e for e in effects if e.type == "assignment.offer")
        distributor.accept("busy", offer.body.task_id, offer.body.offer_id, START)
        distributor.mark_done("busy", offer.body.task_id, START)
    next_day = START + timedelta(days=1)
    distributor.ready("fresh", next_day)

    effects = distributor.route(_route(9, next_day), next_day)

    # A new day: both finished nothing today, so the one idle longest wins.
    offers = [e.key for e in effects if e.type == "assignment.offer"]
    assert offers == ["busy"]
    assert distributor.agents["busy"].handled_on_day(START.date()) == 3


def test_longest_idle_picks_idle_employee() -> None:
    distributor = Distributor(domain="d", offer_timeout=timedelta(minutes=10))
    distributor.log_in("early", LogIn(skills={"Billing": 5}), START)
    distributor.log_in("late", LogIn(skills={"Billing": 5}), START)
    distributor.ready("early", START)
    distributor.ready("late", START + timedelta(minutes=5))

    effects = distributor.route(_route(1, START), START + timedelta(minutes=6))

    offers = [e.key for e in effects if e.type == "assignment.offer"]
    assert offers == ["early"]
