"""Unit and property tests of the distributor: matching, capacity, offers, timers."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from processors.domain.distributor import Distributor, Effect
from processors.domain.records import AgentRecord
from processors.domain.rulesets import default_rules
from schemas.agents import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentNotReady,
    LogIn,
    NotReadyReason,
)
from schemas.distribution import (
    DecisionAccepted,
    DecisionMarkedDone,
    DecisionOffered,
    DecisionOfferTimedOut,
    DecisionRejected,
    OfferMade,
    OfferWithdrawn,
    RouteTask,
)
from schemas.routing import Capacity, PriorityScheme, SkillRequirement, Target, Tier

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
TIMEOUT = timedelta(minutes=10)
MINUTE = timedelta(minutes=1)
MEDIA = ("workitem", "voice", "chat", "email")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def flat(priority: int) -> PriorityScheme:
    return PriorityScheme(name=f"flat-{priority}", initial=priority, maximum=10_000)


def route(
    task_id: str,
    priority: int = 100,
    *,
    media: str = "workitem",
    skills: dict[str, int] | None = None,
    queued_at: datetime = T0,
    scheme: PriorityScheme | None = None,
) -> RouteTask:
    skills = {"Network": 1} if skills is None else skills
    requirements = tuple(
        SkillRequirement(skill=name, min_level=level) for name, level in skills.items()
    )
    return RouteTask(
        task_id=task_id,
        media=media,
        target=Target(skills=requirements),
        scheme=scheme or flat(priority),
        priority_start_at=queued_at,
        queued_at=queued_at,
        summary={"department": "IT Operations"},
    )


def distributor() -> Distributor:
    return Distributor(domain="default", offer_timeout=TIMEOUT)


def join(
    dist: Distributor,
    agent_id: str,
    at: datetime = T0,
    skills: dict[str, int] | None = None,
    **capacity: int,
) -> list[Effect]:
    """Log an agent in, make it ready and return the effects of both steps."""
    skills = {"Network": 5} if skills is None else skills
    command = LogIn(name=agent_id.upper(), skills=skills, capacity=Capacity(**capacity))
    return dist.log_in(agent_id, command, at) + dist.ready(agent_id, at)


def types(effects: list[Effect]) -> list[str]:
    return [effect.type for effect in effects]


def offers(effects: list[Effect]) -> list[tuple[str, str]]:
    """Return (task id, agent id) of every offer decision, in order."""
    return [
        (effect.key, effect.body.agent_id)
        for effect in effects
        if effect.type == "distribution.offered"
    ]


def offer_id_of(effects: list[Effect], agent_id: str) -> str:
    """Return the offer id of the last offer to `agent_id` in `effects`."""
    offer_ids = [
        effect.body.offer_id
        for effect in effects
        if effect.type == "distribution.offered" and effect.body.agent_id == agent_id
    ]
    assert offer_ids, f"no offer to {agent_id} in {types(effects)}"
    return offer_ids[-1]


def expected_offer_id(task_id: str, queued_at: datetime, number: int) -> str:
    """Build the id of the `number`-th offer of a task queued at `queued_at`."""
    queued_ms = (queued_at - EPOCH) // timedelta(milliseconds=1)
    return f"{task_id}#{queued_ms}-{number}"


# Matching order.


def test_highest_priority_offered_first() -> None:
    dist = distributor()
    dist.route(route("low", 100), T0)
    dist.route(route("high", 500), T0)

    effects = join(dist, "a1")

    assert offers(effects) == [("high", "a1")]
    assert dist.items["low"].waiting


def test_equal_priority_longest_waiting_first() -> None:
    dist = distributor()
    dist.route(route("newer", 300, queued_at=T0 + 5 * MINUTE), T0 + 5 * MINUTE)
    dist.route(route("older", 300, queued_at=T0), T0 + 5 * MINUTE)

    effects = join(dist, "a1", T0 + 6 * MINUTE)

    assert offers(effects) == [("older", "a1")]


def test_priority_evaluated_at_now() -> None:
    growing = PriorityScheme(name="growing", initial=100, increment=10, maximum=500)
    dist = distributor()
    dist.route(route("growing", scheme=growing, queued_at=T0), T0)
    dist.route(route("flat", 150, queued_at=T0), T0)

    effects = join(dist, "a1", T0 + timedelta(hours=10))

    assert offers(effects) == [("growing", "a1")]
    assert dist.priority(dist.items["growing"], T0 + timedelta(hours=10)) == 200


def test_order_after_capacity_frees() -> None:
    dist = distributor()
    join(dist, "a1")
    offered = dist.route(route("first", 100), T0)
    dist.route(route("urgent", 900), T0)
    dist.route(route("middle", 500), T0)
    dist.accept("a1", "first", offer_id_of(offered, "a1"), T0)

    effects = dist.mark_done("a1", "first", T0 + MINUTE)

    assert offers(effects) == [("urgent", "a1")]


# Agent choice.


def test_best_skill_match_wins() -> None:
    dist = distributor()
    join(dist, "a1", T0, {"Network": 3})
    join(dist, "a2", T0 + MINUTE, {"Network": 7})

    effects = dist.route(route("X"), T0 + 2 * MINUTE)

    assert offers(effects) == [("X", "a2")]


def test_longest_idle_wins_tie() -> None:
    dist = distributor()
    join(dist, "a1", T0 + 5 * MINUTE)
    join(dist, "a2", T0)

    effects = dist.route(route("X"), T0 + 10 * MINUTE)

    assert offers(effects) == [("X", "a2")]


def test_idle_since_last_release() -> None:
    dist = distributor()
    join(dist, "a1", T0)
    join(dist, "a2", T0 + MINUTE)
    offered = dist.route(route("X"), T0 + 2 * MINUTE)
    dist.accept("a1", "X", offer_id_of(offered, "a1"), T0 + 2 * MINUTE)
    dist.mark_done("a1", "X", T0 + 3 * MINUTE)

    effects = dist.route(route("Y"), T0 + 4 * MINUTE)

    assert offers(effects) == [("Y", "a2")]
    assert dist.agents["a1"].free_since == T0 + 3 * MINUTE


def test_busy_agent_ranked_after_idle() -> None:
    dist = distributor()
    join(dist, "a1", T0 + MINUTE)
    join(dist, "a2", T0 + 2 * MINUTE)
    dist.route(route("chat-1", media="chat"), T0 + 3 * MINUTE)

    effects = dist.route(route("chat-2", media="chat"), T0 + 4 * MINUTE)

    assert offers(effects) == [("chat-2", "a2")]


def test_skill_ranked_before_items_in_hand() -> None:
    dist = distributor()
    join(dist, "a1", T0, {"Network": 9})
    join(dist, "a2", T0 + MINUTE, {"Network": 1})
    dist.route(route("chat-1", media="chat"), T0 + 2 * MINUTE)

    effects = dist.route(route("chat-2", media="chat"), T0 + 3 * MINUTE)

    assert offers(effects) == [("chat-2", "a1")]


def test_ready_again_counts_as_newly_idle() -> None:
    dist = distributor()
    join(dist, "a1", T0)
    join(dist, "a2", T0 + MINUTE)
    dist.not_ready("a1", NotReadyReason.LUNCH, T0 + 2 * MINUTE)
    dist.ready("a1", T0 + 3 * MINUTE)
    dist.ready("a2", T0 + 4 * MINUTE)

    effects = dist.route(route("X"), T0 + 5 * MINUTE)

    assert dist.agents["a1"].free_since == T0 + 3 * MINUTE
    assert dist.agents["a2"].free_since == T0 + MINUTE
    assert offers(effects) == [("X", "a2")]


# Skills.


def test_skill_min_level_respected() -> None:
    dist = distributor()
    join(dist, "a1", skills={"Network": 2})

    assert dist.route(route("X", skills={"Network": 3}), T0) == []
    assert dist.items["X"].waiting

    effects = join(dist, "a2", skills={"Network": 3})

    assert offers(effects) == [("X", "a2")]


def test_missing_skill_never_offered() -> None:
    dist = distributor()
    join(dist, "a1", skills={"Database": 9})

    assert dist.route(route("X", skills={"Network": 0}), T0) == []


def test_every_skill_required() -> None:
    dist = distributor()
    join(dist, "a1", skills={"Network": 5})
    join(dist, "a2", skills={"Network": 1, "French": 2})

    effects = dist.route(route("X", skills={"Network": 1, "French": 1}), T0)

    assert offers(effects) == [("X", "a2")]


def test_any_target_offered_to_anyone() -> None:
    dist = distributor()
    join(dist, "a1", skills={})

    effects = dist.route(route("X", skills={}), T0)

    assert offers(effects) == [("X", "a1")]


# Capacity.


def test_chat_capacity_respected() -> None:
    dist = distributor()
    join(dist, "a1", chat=2)
    for task_id in ("c1", "c2", "c3"):
        dist.route(route(task_id, media="chat"), T0)

    assert dist.agents["a1"].load("chat") == 2
    assert dist.items["c3"].waiting
    assert set(dist.agents["a1"].in_hand) == {"c1", "c2"}


def test_media_capacities_independent() -> None:
    dist = distributor()
    join(dist, "a1", workitem=1, chat=1)
    dist.route(route("work", media="workitem"), T0)
    dist.route(route("chat", media="chat"), T0)
    dist.route(route("work-2", media="workitem"), T0)

    assert dist.agents["a1"].in_hand == {"work": "workitem", "chat": "chat"}
    assert dist.items["work-2"].waiting


def test_zero_capacity_never_offered() -> None:
    dist = distributor()
    join(dist, "a1", email=0)

    assert dist.route(route("mail", media="email"), T0) == []


def test_one_dispatch_fills_capacity() -> None:
    dist = distributor()
    for number in range(4):
        dist.route(route(f"c{number}", 100 + number, media="chat"), T0)

    effects = join(dist, "a1", chat=3)

    assert offers(effects) == [("c3", "a1"), ("c2", "a1"), ("c1", "a1")]


# Offers.


def test_offer_effects() -> None:
    dist = distributor()
    join(dist, "a1")

    effects = dist.route(route("X", 250), T0)
    offer_id = expected_offer_id("X", T0, 1)

    assert offer_id == "X#1709283600000-1"
    assert effects == [
        Effect(
            "task",
            "X",
            "distribution.offered",
            DecisionOffered(agent_id="a1", offer_id=offer_id, expires_at=T0 + TIMEOUT),
        ),
        Effect(
            "assignment",
            "a1",
            "assignment.offer",
            OfferMade(
                task_id="X",
                offer_id=offer_id,
                media="workitem",
                priority=250,
                expires_at=T0 + TIMEOUT,
                summary={"department": "IT Operations"},
            ),
        ),
    ]


def test_accept_wrong_offer_ignored() -> None:
    dist = distributor()
    join(dist, "a1")
    dist.route(route("X"), T0)

    assert dist.accept("a1", "X", expected_offer_id("X", T0, 9), T0) == []
    assert dist.items["X"].accepted is False
    assert dist.items["X"].offer_expires_at == T0 + TIMEOUT


def test_accept_by_other_agent_ignored() -> None:
    dist = distributor()
    join(dist, "a1")
    join(dist, "a2", skills={})
    offer_id = offer_id_of(dist.route(route("X"), T0), "a1")

    assert dist.accept("a2", "X", offer_id, T0) == []
    assert dist.items["X"].accepted is False


def test_accept_right_offer() -> None:
    dist = distributor()
    join(dist, "a1")
    offer_id = offer_id_of(dist.route(route("X"), T0), "a1")

    effects = dist.accept("a1", "X", offer_id, T0 + MINUTE)

    assert effects == [
        Effect(
            "task",
            "X",
            "distribution.accepted",
            DecisionAccepted(agent_id="a1", offer_id=offer_id),
        )
    ]
    assert dist.items["X"].accepted is True
    assert dist.items["X"].offer_expires_at is None
    assert dist.accept("a1", "X", offer_id, T0 + MINUTE) == []


def test_route_replaces_request() -> None:
    dist = distributor()
    dist.route(route("X", 100), T0)
    dist.route(route("X", 900), T0 + MINUTE)

    assert list(dist.items) == ["X"]
    assert dist.priority(dist.items["X"], T0) == 900


# Offer timeout.


def test_no_timeout_before_expiry() -> None:
    dist = distributor()
    join(dist, "a1")
    dist.route(route("X"), T0)

    assert dist.tick(T0 + TIMEOUT - timedelta(seconds=1)) == []
    assert dist.items["X"].agent_id == "a1"


def test_timeout_reoffers_elsewhere() -> None:
    dist = distributor()
    join(dist, "a1", skills={"Network": 9})
    join(dist, "a2", skills={"Network": 1})
    first_offer_id = offer_id_of(dist.route(route("X"), T0), "a1")
    expiry = T0 + TIMEOUT

    effects = dist.tick(expiry)

    assert types(effects) == [
        "distribution.offer_timed_out",
        "assignment.offer_withdrawn",
        "agent.became_not_ready",
        "distribution.offered",
        "assignment.offer",
    ]
    assert effects[0] == Effect(
        "task",
        "X",
        "distribution.offer_timed_out",
        DecisionOfferTimedOut(agent_id="a1", offer_id=first_offer_id),
    )
    assert effects[1] == Effect(
        "assignment",
        "a1",
        "assignment.offer_withdrawn",
        OfferWithdrawn(task_id="X", offer_id=first_offer_id, reason="offer timed out"),
    )
    assert effects[2].key == "a1"
    assert effects[2].body == AgentNotReady(reason=NotReadyReason.RONA)
    assert offers(effects) == [("X", "a2")]
    assert effects[3].body.offer_id == expected_offer_id("X", T0, 2)
    assert effects[3].body.offer_id != first_offer_id
    assert effects[3].body.expires_at == expiry + TIMEOUT


def test_timeout_sets_agent_rona() -> None:
    dist = distributor()
    join(dist, "a1")
    dist.route(route("X"), T0)

    dist.tick(T0 + TIMEOUT)
    agent = dist.agents["a1"]

    assert agent.status == "not_ready"
    assert agent.reason == "rona"
    assert agent.in_hand == {}
    assert dist.items["X"].waiting


def test_accepted_offer_never_times_out() -> None:
    dist = distributor()
    join(dist, "a1")
    offered = dist.route(route("X"), T0)
    dist.accept("a1", "X", offer_id_of(offered, "a1"), T0)

    assert dist.tick(T0 + 10 * TIMEOUT) == []
    assert dist.agents["a1"].status == "ready"


def test_sole_agent_gets_item_again() -> None:
    dist = distributor()
    join(dist, "a1")
    dist.route(route("X"), T0)
    dist.tick(T0 + TIMEOUT)

    effects = dist.ready("a1", T0 + 2 * TIMEOUT)

    assert offers(effects) == [("X", "a1")]


def test_timed_out_item_skips_agent() -> None:
    dist = distributor()
    join(dist, "a1")
    dist.route(route("X"), T0)
    dist.tick(T0 + TIMEOUT)
    rejected_until = T0 + 2 * TIMEOUT

    assert dist.items["X"].rejected_by == "a1"
    assert dist.items["X"].rejected_until == rejected_until
    assert offers(dist.ready("a1", T0 + TIMEOUT + MINUTE)) == []
    assert dist.next_deadline() == rejected_until

    effects = dist.tick(rejected_until)

    assert offers(effects) == [("X", "a1")]
    assert offer_id_of(effects, "a1") == expected_offer_id("X", T0, 2)


def test_next_deadline() -> None:
    dist = distributor()
    join(dist, "a1")
    join(dist, "a2", skills={"Network": 1})

    assert dist.next_deadline() is None

    x_offer_id = offer_id_of(dist.route(route("X"), T0), "a1")
    y_offer_id = offer_id_of(dist.route(route("Y"), T0 + 2 * MINUTE), "a2")

    assert dist.next_deadline() == T0 + TIMEOUT

    dist.accept("a1", "X", x_offer_id, T0 + 3 * MINUTE)

    assert dist.next_deadline() == T0 + 2 * MINUTE + TIMEOUT

    dist.accept("a2", "Y", y_offer_id, T0 + 3 * MINUTE)

    assert dist.next_deadline() is None


# Reject.


def test_reject_requeues_item() -> None:
    dist = distributor()
    join(dist, "a1")
    offer_id = offer_id_of(dist.route(route("X"), T0), "a1")

    effects = dist.reject("a1", "X", offer_id, T0 + MINUTE)

    assert effects == [
        Effect(
            "task",
            "X",
            "distribution.rejected",
            DecisionRejected(agent_id="a1", offer_id=offer_id),
        )
    ]
    assert dist.items["X"].waiting
    assert dist.items["X"].rejected_by == "a1"
    assert dist.items["X"].rejected_until == T0 + MINUTE + TIMEOUT
    assert dist.agents["a1"].in_hand == {}
    assert dist.agents["a1"].status == "ready"


def test_reject_offers_to_other_agent() -> None:
    dist = distributor()
    join(dist, "a1", skills={"Network": 9})
    join(dist, "a2", skills={"Network": 1})
    offer_id = offer_id_of(dist.route(route("X"), T0), "a1")

    effects = dist.reject("a1", "X", offer_id, T0 + MINUTE)

    assert offers(effects) == [("X", "a2")]


def test_rejecting_agent_gets_next_item() -> None:
    dist = distributor()
    join(dist, "a1")
    offer_id = offer_id_of(dist.route(route("X", 500), T0), "a1")
    dist.route(route("Y", 100), T0)

    effects = dist.reject("a1", "X", offer_id, T0 + MINUTE)

    assert offers(effects) == [("Y", "a1")]
    assert dist.items["X"].waiting


def test_rejected_item_reoffered_at_deadline() -> None:
    dist = distributor()
    join(dist, "a1")
    offer_id = offer_id_of(dist.route(route("X"), T0), "a1")
    dist.reject("a1", "X", offer_id, T0 + MINUTE)
    rejected_until = T0 + MINUTE + TIMEOUT

    assert dist.next_deadline() == rejected_until
    assert dist.tick(rejected_until - timedelta(seconds=1)) == []
    assert dist.items["X"].waiting

    effects = dist.tick(rejected_until)

    assert offers(effects) == [("X", "a1")]
    assert offer_id_of(effects, "a1") == expected_offer_id("X", T0, 2)
    assert dist.items["X"].rejected_until is None
    assert dist.next_deadline() == rejected_until + TIMEOUT


def test_rejection_expires_without_tick() -> None:
    dist = distributor()
    join(dist, "a1")
    offer_id = offer_id_of(dist.route(route("X", 500), T0), "a1")
    dist.reject("a1", "X", offer_id, T0 + MINUTE)

    effects = dist.route(route("Y", 100, media="chat"), T0 + MINUTE + TIMEOUT)

    assert offers(effects) == [("X", "a1"), ("Y", "a1")]


def test_can_take_counts_recent_rejection() -> None:
    dist = distributor()
    join(dist, "a1")
    offer_id = offer_id_of(dist.route(route("X"), T0), "a1")
    dist.reject("a1", "X", offer_id, T0 + MINUTE)
    agent, item = dist.agents["a1"], dist.items["X"]
    rejected_until = T0 + MINUTE + TIMEOUT

    assert dist.can_take(agent, item) is False
    assert dist.can_take(agent, item, rejected_until - timedelta(seconds=1)) is False
    assert dist.can_take(agent, item, rejected_until) is True


def test_reject_wrong_offer_ignored() -> None:
    dist = distributor()
    join(dist, "a1")
    dist.route(route("X"), T0)

    assert dist.reject("a1", "X", expected_offer_id("X", T0, 2), T0) == []
    assert dist.items["X"].agent_id == "a1"


def test_reject_after_accept_ignored() -> None:
    dist = distributor()
    join(dist, "a1")
    offer_id = offer_id_of(dist.route(route("X"), T0), "a1")
    dist.accept("a1", "X", offer_id, T0)

    assert dist.reject("a1", "X", offer_id, T0) == []
    assert dist.items["X"].accepted is True


# Mark done and withdraw.


def test_mark_done_dispatches_next() -> None:
    dist = distributor()
    join(dist, "a1")
    offered = dist.route(route("X", 500), T0)
    dist.route(route("Y", 100), T0)
    dist.accept("a1", "X", offer_id_of(offered, "a1"), T0)

    effects = dist.mark_done("a1", "X", T0 + 5 * MINUTE)

    assert effects[0] == Effect(
        "task", "X", "distribution.marked_done", DecisionMarkedDone(agent_id="a1")
    )
    assert offers(effects) == [("Y", "a1")]
    assert "X" not in dist.items
    assert dist.agents["a1"].handled == 1
    assert dist.agents["a1"].in_hand == {"Y": "workitem"}


def test_mark_done_before_accept_ignored() -> None:
    dist = distributor()
    join(dist, "a1")
    dist.route(route("X"), T0)

    assert dist.mark_done("a1", "X", T0) == []
    assert "X" in dist.items


def test_mark_done_by_other_ignored() -> None:
    dist = distributor()
    join(dist, "a1")
    join(dist, "a2", skills={})
    offered = dist.route(route("X"), T0)
    dist.accept("a1", "X", offer_id_of(offered, "a1"), T0)

    assert dist.mark_done("a2", "X", T0) == []
    assert dist.items["X"].accepted is True
    assert dist.agents["a1"].in_hand == {"X": "workitem"}


def test_withdraw_assigned_frees_agent() -> None:
    dist = distributor()
    join(dist, "a1")
    offer_id = offer_id_of(dist.route(route("X", 500), T0), "a1")
    dist.route(route("Y", 100), T0)
    dist.accept("a1", "X", offer_id, T0)

    effects = dist.withdraw("X", "completed while assigned", T0 + MINUTE)

    assert effects[0] == Effect(
        "assignment",
        "a1",
        "assignment.offer_withdrawn",
        OfferWithdrawn(
            task_id="X", offer_id=offer_id, reason="completed while assigned"
        ),
    )
    assert offers(effects) == [("Y", "a1")]
    assert "X" not in dist.items
    assert dist.agents["a1"].in_hand == {"Y": "workitem"}


def test_withdraw_waiting_item() -> None:
    dist = distributor()
    dist.route(route("X"), T0)

    assert dist.withdraw("X", "cancelled while queued", T0) == []
    assert "X" not in dist.items
    assert offers(join(dist, "a1")) == []


def test_withdraw_unknown_item() -> None:
    assert distributor().withdraw("nope", "completed while queued", T0) == []


def test_offer_ids_unique_after_reroute() -> None:
    dist = distributor()
    join(dist, "a1")
    first_offer_id = offer_id_of(dist.route(route("X"), T0), "a1")
    dist.withdraw("X", "completed while offered", T0 + MINUTE)

    effects = dist.route(route("X", queued_at=T0 + 2 * MINUTE), T0 + 2 * MINUTE)
    second_offer_id = offer_id_of(effects, "a1")

    assert second_offer_id == expected_offer_id("X", T0 + 2 * MINUTE, 1)
    assert second_offer_id != first_offer_id
    assert dist.accept("a1", "X", first_offer_id, T0 + 3 * MINUTE) == []
    assert dist.items["X"].accepted is False


# Agent states.


def test_log_in_not_ready() -> None:
    dist = distributor()
    dist.route(route("X"), T0)
    command = LogIn(name="Ada", skills={"Network": 5}, capacity=Capacity(chat=2))

    effects = dist.log_in("a1", command, T0)

    assert effects == [
        Effect(
            "agent",
            "a1",
            "agent.logged_in",
            AgentLoggedIn(name="Ada", skills={"Network": 5}, capacity=Capacity(chat=2)),
        )
    ]
    assert dist.agents["a1"].status == "not_ready"
    assert dist.agents["a1"].reason == "login"
    assert dist.items["X"].waiting


def test_not_ready_agent_gets_nothing() -> None:
    dist = distributor()
    join(dist, "a1")
    effects = dist.not_ready("a1", NotReadyReason.LUNCH, T0)

    assert effects == [
        Effect(
            "agent",
            "a1",
            "agent.became_not_ready",
            AgentNotReady(reason=NotReadyReason.LUNCH),
        )
    ]
    assert dist.route(route("X"), T0) == []
    assert dist.agents["a1"].reason == "lunch"


def test_unknown_agent_commands_ignored() -> None:
    dist = distributor()

    assert dist.ready("ghost", T0) == []
    assert dist.not_ready("ghost", NotReadyReason.PAUSE, T0) == []
    assert dist.log_out("ghost", T0) == []
    assert dist.agents == {}


def test_log_out_returns_open_offers() -> None:
    dist = distributor()
    join(dist, "a1", skills={"Network": 9}, chat=2)
    x_offer_id = offer_id_of(dist.route(route("X", 500, media="chat"), T0), "a1")
    y_offer_id = offer_id_of(dist.route(route("Y", 100, media="chat"), T0), "a1")
    dist.accept("a1", "X", x_offer_id, T0)
    join(dist, "a2", T0 + MINUTE, skills={"Network": 1})

    effects = dist.log_out("a1", T0 + 2 * MINUTE)

    assert types(effects) == [
        "assignment.offer_withdrawn",
        "distribution.rejected",
        "agent.logged_out",
        "distribution.offered",
        "assignment.offer",
    ]
    assert effects[0].body == OfferWithdrawn(
        task_id="Y", offer_id=y_offer_id, reason="employee logged out"
    )
    assert effects[1].body == DecisionRejected(agent_id="a1", offer_id=y_offer_id)
    assert effects[2].body == AgentLoggedOut()
    assert offers(effects) == [("Y", "a2")]
    assert dist.agents["a1"].status == "logged_out"
    assert dist.agents["a1"].in_hand == {"X": "chat"}


def test_accepted_item_done_after_log_out() -> None:
    dist = distributor()
    join(dist, "a1")
    offered = dist.route(route("X"), T0)
    dist.accept("a1", "X", offer_id_of(offered, "a1"), T0)
    dist.log_out("a1", T0 + MINUTE)

    effects = dist.mark_done("a1", "X", T0 + 2 * MINUTE)

    assert types(effects) == ["distribution.marked_done"]
    assert dist.agents["a1"].in_hand == {}


def test_logged_out_agent_ready_ignored() -> None:
    dist = distributor()
    join(dist, "a1")
    dist.log_out("a1", T0)
    dist.route(route("X"), T0)

    assert dist.ready("a1", T0 + MINUTE) == []
    assert dist.agents["a1"].status == "logged_out"
    assert dist.items["X"].waiting


def test_logged_out_agent_commands_ignored() -> None:
    dist = distributor()
    join(dist, "a1")
    dist.log_out("a1", T0)
    dist.dirty_agents.clear()

    assert dist.not_ready("a1", NotReadyReason.PAUSE, T0 + MINUTE) == []
    assert dist.log_out("a1", T0 + MINUTE) == []
    assert dist.agents["a1"].status == "logged_out"
    assert dist.agents["a1"].reason is None
    assert dist.dirty_agents == set()


def test_shipped_timeout_setting() -> None:
    rules = default_rules()
    dist = Distributor(
        domain="default", offer_timeout=timedelta(seconds=rules.offer_timeout_seconds)
    )
    join(dist, "a1")
    dist.route(route("X"), T0)

    assert dist.next_deadline() == T0 + timedelta(minutes=10)


# Properties over random sequences of operations.

AGENT_IDS = ("a1", "a2", "a3")
TASK_IDS = ("t1", "t2", "t3", "t4", "t5", "t6")
SKILL_NAMES = ("net", "db")

agent_profiles = st.fixed_dictionaries(
    {
        "skills": st.fixed_dictionaries(
            {}, optional={name: st.integers(0, 5) for name in SKILL_NAMES}
        ),
        "capacity": st.builds(
            Capacity,
            workitem=st.integers(0, 2),
            voice=st.integers(0, 1),
            chat=st.integers(0, 3),
            email=st.integers(0, 1),
            total=st.none() | st.integers(1, 3),
            while_holding=st.dictionaries(
                st.sampled_from(MEDIA),
                st.lists(st.sampled_from(MEDIA), max_size=3).map(tuple),
                max_size=2,
            ),
        ),
        "auto_answer": st.lists(st.sampled_from(MEDIA), max_size=2).map(tuple),
    }
)
GROWING = PriorityScheme(
    name="growing", initial=100, increment=7, interval_seconds=90, maximum=10_000
)
item_profiles = st.fixed_dictionaries(
    {
        "media": st.sampled_from(MEDIA),
        "skills": st.dictionaries(
            st.sampled_from(SKILL_NAMES), st.integers(0, 3), max_size=2
        ),
        "growing": st.booleans(),
        # Wider targets after these waits in seconds, in rising order.
        "tiers": st.lists(
            st.tuples(st.sampled_from(SKILL_NAMES), st.integers(0, 900)), max_size=2
        ).map(lambda tiers: sorted(tiers, key=lambda tier: tier[1])),
    }
)
agent_ids = st.sampled_from(AGENT_IDS)
task_ids = st.sampled_from(TASK_IDS)
# A reply (accept, reject, mark done) comes from the agent holding the item
# when `from_holder` is set and quotes the current offer id when
# `current_offer` is set. Otherwise it is a stray or stale reply.
usually_true = st.sampled_from([True, True, True, False])


def replies(kind: str) -> st.SearchStrategy[tuple[Any, ...]]:
    return st.tuples(
        st.just(kind),
        st.integers(0, len(TASK_IDS) - 1),
        agent_ids,
        usually_true,
        usually_true,
    )


# Repeated kinds weight routing and replies above the rarer operations. Each
# repeat is a new strategy object because one_of skips an object it has seen.
operations = st.one_of(
    *[st.tuples(st.just("route"), task_ids, st.integers(0, 900)) for _ in range(3)],
    st.tuples(st.just("withdraw"), task_ids),
    st.tuples(st.just("log_in"), agent_ids),
    *[st.tuples(st.just("ready"), agent_ids) for _ in range(2)],
    st.tuples(st.just("not_ready"), agent_ids),
    st.tuples(st.just("log_out"), agent_ids),
    *[replies("accept") for _ in range(3)],
    replies("reject"),
    *[replies("mark_done") for _ in range(2)],
    st.tuples(st.just("tick"), st.integers(0, 900)),
)
scenarios = st.fixed_dictionaries(
    {
        "agents": st.fixed_dictionaries(
            {agent_id: agent_profiles for agent_id in AGENT_IDS}
        ),
        "items": st.fixed_dictionaries(
            {task_id: item_profiles for task_id in TASK_IDS}
        ),
        "ready_at_start": st.sets(agent_ids),
        "steps": st.lists(
            st.tuples(operations, st.integers(0, 120)), min_size=10, max_size=50
        ),
    }
)


def start(scenario: dict[str, Any]) -> Distributor:
    """Log every agent in, and make the chosen ones ready."""
    dist = distributor()
    for agent_id, profile in scenario["agents"].items():
        dist.log_in(agent_id, LogIn(**profile), T0)
        if agent_id in scenario["ready_at_start"]:
            dist.ready(agent_id, T0)
    return dist


def apply(
    dist: Distributor,
    operation: tuple[Any, ...],
    now: datetime,
    scenario: dict[str, Any],
) -> list[Effect]:
    kind, *arguments = operation
    if kind == "route":
        task_id, priority = arguments
        profile = scenario["items"][task_id]
        request = route(
            task_id,
            priority,
            media=profile["media"],
            skills=profile["skills"],
            queued_at=now,
            scheme=GROWING if profile["growing"] else None,
        )
        tiers = tuple(
            Tier(
                target=Target(skills=(SkillRequirement(skill=skill, min_level=1),)),
                after_seconds=after,
            )
            for skill, after in profile["tiers"]
        )
        return dist.route(request.model_copy(update={"tiers": tiers}), now)
    if kind == "withdraw":
        return dist.withdraw(arguments[0], "completed while queued", now)
    if kind == "log_in":
        agent_id = arguments[0]
        return dist.log_in(agent_id, LogIn(**scenario["agents"][agent_id]), now)
    if kind == "ready":
        return dist.ready(arguments[0], now)
    if kind == "not_ready":
        return dist.not_ready(arguments[0], NotReadyReason.PAUSE, now)
    if kind == "log_out":
        return dist.log_out(arguments[0], now)
    if kind == "tick":
        return dist.tick(now)

    pick, agent_id, from_holder, current_offer = arguments
    task_id = TASK_IDS[pick]
    # Accept and reject go to open offers, mark done to accepted items.
    wants_accepted = kind == "mark_done"
    held_task_ids = sorted(
        task
        for task, item in dist.items.items()
        if item.agent_id is not None and item.accepted is wants_accepted
    )
    if from_holder and held_task_ids:
        task_id = held_task_ids[pick % len(held_task_ids)]
        agent_id = dist.items[task_id].agent_id
    item = dist.items.get(task_id)
    offer_id = "stale#0"
    if current_offer and item is not None and item.offer_id is not None:
        offer_id = item.offer_id
    if kind == "accept":
        return dist.accept(agent_id, task_id, offer_id, now)
    if kind == "reject":
        return dist.reject(agent_id, task_id, offer_id, now)
    return dist.mark_done(agent_id, task_id, now)


def check_invariants(
    dist: Distributor, effects: list[Effect], now: datetime, *, timers_fired: bool
) -> None:
    """Check the distributor state after one step at `now`.

    With `timers_fired`, every deadline up to `now` has been ticked, as the
    runtime timer does, so a rejection whose time is over must no longer keep
    a ready agent idle.
    """
    holders = Counter(task for agent in dist.agents.values() for task in agent.in_hand)

    for task_id, count in holders.items():
        assert count == 1, f"{task_id} is held by {count} agents"
        assert task_id in dist.items, f"{task_id} is held but not in the backlog"

    for task_id, item in dist.items.items():
        if item.rejected_until is not None:
            assert item.rejected_by is not None
            assert item.rejected_until <= now + TIMEOUT
        if item.agent_id is None:
            assert holders[task_id] == 0
            assert item.offer_id is None
            assert item.offer_expires_at is None
            continue
        assert task_id in dist.agents[item.agent_id].in_hand
        assert item.offer_id is not None
        assert (item.offer_expires_at is None) is item.accepted

    for agent in dist.agents.values():
        check_capacity(agent)

    waiting = [item for item in dist.items.values() if item.waiting]
    for agent in dist.agents.values():
        if agent.status != "ready":
            continue
        for item in waiting:
            assert not dist.can_take(agent, item, now if timers_fired else None), (
                f"ready {agent.agent_id} stays idle while {item.task_id} waits"
            )

    for effect in effects:
        if effect.type == "assignment.offer":
            assert dist.agents[effect.key].status == "ready"
        if effect.type != "distribution.offered" or effect.key not in dist.items:
            continue
        item = dist.items[effect.key]
        if item.offer_id == effect.body.offer_id and item.rejected_by == item.agent_id:
            assert item.rejected_until is None or item.rejected_until <= now, (
                f"{item.task_id} offered to {item.agent_id} before its rejection ended"
            )


def check_capacity(agent: AgentRecord) -> None:
    """Check that each item in hand fitted beside the ones offered before it:
    per media limits, the total and the media blocked while holding others."""
    held: list[str] = []
    for task_id, media in agent.in_hand.items():
        capacity = agent.capacity
        assert held.count(media) < capacity.for_media(media), (
            f"{agent.agent_id} got {task_id} beyond its {media} capacity"
        )
        assert capacity.total is None or len(held) < capacity.total, (
            f"{agent.agent_id} got {task_id} beyond its total capacity"
        )
        blockers = [h for h in held if media in capacity.while_holding.get(h, ())]
        assert not blockers, f"{agent.agent_id} got {media} while holding {blockers}"
        held.append(media)


def check_timing(
    dist: Distributor, effects: list[Effect], moment: datetime, fired: bool
) -> None:
    """Check tier widening and priority steps against the clock. No item
    widens early. With every deadline up to `moment` fired, each waiting item
    is at the tier its wait has reached, and each step is logged at its own
    moment. An item offered when a tier starts widens once it is back."""
    for item in dist.items.values():
        reached = sum(
            1
            for tier in item.tiers
            if item.queued_at + timedelta(seconds=tier.after_seconds) <= moment
        )
        if item.waiting and fired:
            assert item.tier == reached, f"{item.task_id} at tier {item.tier}"
        assert item.tier <= reached, f"{item.task_id} widened early"
    for effect in effects:
        if effect.type == "distribution.priority_changed":
            assert effect.body.changed_at <= moment
            if fired:
                assert effect.body.changed_at == moment, (
                    f"{effect.key} stepped at {effect.body.changed_at}, logged at "
                    f"{moment}"
                )


def advance(now: datetime, operation: tuple[Any, ...], seconds: int) -> datetime:
    now += timedelta(seconds=seconds)
    if operation[0] == "tick":
        now += timedelta(seconds=operation[1])
    return now


@settings(max_examples=200, deadline=None)
@given(scenarios)
def test_random_operations_keep_invariants(scenario: dict[str, Any]) -> None:
    dist = start(scenario)
    check_invariants(dist, [], T0, timers_fired=False)
    now = T0
    for operation, seconds in scenario["steps"]:
        now = advance(now, operation, seconds)
        effects = apply(dist, operation, now, scenario)
        check_invariants(dist, effects, now, timers_fired=False)
        check_timing(dist, effects, now, fired=False)


@settings(max_examples=200, deadline=None)
@given(scenarios)
def test_timer_ticks_keep_invariants(scenario: dict[str, Any]) -> None:
    dist = start(scenario)
    now = T0
    for operation, seconds in scenario["steps"]:
        now = advance(now, operation, seconds)
        # Like the runtime deadline timer, tick every deadline passed before the step.
        while (deadline := dist.next_deadline()) is not None and deadline <= now:
            effects = dist.tick(deadline)
            check_invariants(dist, effects, deadline, timers_fired=True)
            check_timing(dist, effects, deadline, fired=True)
            assert dist.next_deadline() is None or dist.next_deadline() > deadline
        effects = apply(dist, operation, now, scenario)
        check_invariants(dist, effects, now, timers_fired=True)
        check_timing(dist, effects, now, fired=True)


@settings(max_examples=200, deadline=None)
@given(scenarios)
def test_offers_expire_on_time(scenario: dict[str, Any]) -> None:
    dist = start(scenario)
    now = T0
    for operation, seconds in scenario["steps"]:
        now = advance(now, operation, seconds)
        apply(dist, operation, now, scenario)

        deadline = dist.next_deadline()
        if operation[0] == "tick":
            assert deadline is None or deadline > now
        for item in dist.items.values():
            if item.offer_expires_at is not None:
                assert item.offer_expires_at <= now + TIMEOUT
            if item.rejected_until is not None:
                assert item.rejected_until <= now + TIMEOUT
                if operation[0] == "tick":
                    assert item.rejected_until > now
