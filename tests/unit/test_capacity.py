"""Capacity across media, blending of interactions and auto-answer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from processors.domain.distributor import Distributor
from processors.domain.explain import explain
from schemas.agents import LogIn, NotReadyReason
from schemas.routing import Capacity
from tests.unit.test_distributor import T0, TIMEOUT, offers, route, types

NO_WORK_DURING_CALLS = Capacity(
    workitem=2, voice=1, chat=3, email=1, while_holding={"voice": ("workitem",)}
)


def staffed(capacity: Capacity, auto_answer: tuple[str, ...] = (), **settings):
    dist = Distributor(domain="default", offer_timeout=TIMEOUT, **settings)
    command = LogIn(skills={"Network": 5}, capacity=capacity, auto_answer=auto_answer)
    dist.log_in("ann", command, T0)
    dist.ready("ann", T0)
    return dist


def test_no_work_item_during_call() -> None:
    dist = staffed(NO_WORK_DURING_CALLS)
    dist.route(route("call", 900, media="voice"), T0)

    effects = dist.route(route("invoice", 500), T0)

    assert offers(effects) == []
    assert dist.items["invoice"].waiting


def test_work_item_after_call_ends() -> None:
    dist = staffed(NO_WORK_DURING_CALLS)
    call = dist.route(route("call", 900, media="voice"), T0)
    dist.route(route("invoice", 500), T0)
    offer_id = call[0].body.offer_id
    dist.accept("ann", "call", offer_id, T0)

    effects = dist.mark_done("ann", "call", T0 + timedelta(minutes=4))

    assert offers(effects) == [("invoice", "ann")]


def test_call_offered_beside_work_item() -> None:
    dist = staffed(NO_WORK_DURING_CALLS)
    dist.route(route("invoice", 500), T0)

    effects = dist.route(route("call", 900, media="voice"), T0)

    assert offers(effects) == [("call", "ann")]


def test_chats_fill_up_to_limit() -> None:
    dist = staffed(NO_WORK_DURING_CALLS)
    for number in range(4):
        dist.route(route(f"chat-{number}", 300, media="chat"), T0)

    held = sorted(dist.agents["ann"].in_hand)

    assert held == ["chat-0", "chat-1", "chat-2"]
    assert dist.items["chat-3"].waiting


def test_total_caps_all_media() -> None:
    dist = staffed(Capacity(workitem=2, chat=3, email=1, total=2))
    dist.route(route("chat-1", 300, media="chat"), T0)
    dist.route(route("mail", 300, media="email"), T0)

    effects = dist.route(route("invoice", 300), T0)

    assert offers(effects) == []
    assert len(dist.agents["ann"].in_hand) == 2


def test_blended_priorities_pick_order() -> None:
    """A call and a work item wait for the same employee: the higher
    priority goes first whatever the media."""
    dist = staffed(Capacity(workitem=1, voice=1, total=1))
    dist.not_ready("ann", NotReadyReason.PAUSE, T0)
    dist.route(route("call", 400, media="voice"), T0)
    dist.route(route("urgent-invoice", 800), T0)

    effects = dist.ready("ann", T0)

    assert offers(effects) == [("urgent-invoice", "ann")]


def test_auto_answer_per_employee() -> None:
    dist = staffed(Capacity(), auto_answer=("voice",))

    effects = dist.route(route("call", 900, media="voice"), T0)

    assert types(effects) == [
        "distribution.offered",
        "assignment.offer",
        "distribution.accepted",
    ]
    assert effects[1].body.auto_answered is True
    assert dist.items["call"].accepted
    assert dist.next_deadline() is None


def test_auto_answer_leaves_other_media() -> None:
    dist = staffed(Capacity(), auto_answer=("voice",))

    effects = dist.route(route("invoice", 500), T0)

    assert "distribution.accepted" not in types(effects)
    assert dist.items["invoice"].offer_expires_at == T0 + TIMEOUT


def test_auto_answer_per_media_setting() -> None:
    dist = staffed(Capacity(), auto_answer_media=frozenset({"chat"}))

    effects = dist.route(route("chat", 500, media="chat"), T0)

    assert "distribution.accepted" in types(effects)
    assert dist.items["chat"].accepted


def test_explain_names_capacity_rule() -> None:
    dist = staffed(NO_WORK_DURING_CALLS)
    dist.route(route("call", 900, media="voice"), T0)
    dist.route(route("invoice", 500), T0)

    report = explain(dist, "invoice", T0)

    reasons = report["employees"][0]["reasons"]
    assert "no workitem while holding voice" in reasons


def test_unknown_media_in_rule_rejected() -> None:
    with pytest.raises(ValidationError, match="unknown media"):
        Capacity(while_holding={"voice": ("fax",)})
