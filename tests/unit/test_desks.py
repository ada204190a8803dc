"""Simulated desktops: when they act and what they draw."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from processors.clock import ScaledClock
from processors.simulation.desks import RONA_PAUSE, Desks, answer_offer
from processors.simulation.staffing import AgentProfile
from schemas.agents import AgentNotReady, NotReadyReason
from schemas.codec import decode, make_envelope
from schemas.distribution import OfferMade

ORIGIN = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WALL_ORIGIN = 1_000_000.0
SPEED = 1000.0


def _profile(rona_probability: float = 0.0) -> AgentProfile:
    return AgentProfile(
        agent_id="agent-1",
        name="Ada Costa",
        skills={"Finance": 9},
        capacity_workitem=1,
        handling_seconds=(1800.0,),
        rona_probability=rona_probability,
    )


def _desks(profile: AgentProfile) -> tuple[Desks, ScaledClock, list]:
    clock = ScaledClock(origin=ORIGIN, wall_origin=WALL_ORIGIN, speed=SPEED)
    sent: list = []
    desks = Desks([profile], clock, lambda agent_id, value: sent.append(decode(value)))
    return desks, clock, sent


def _offer(at: datetime, task_id: str = "crm:CASE-1"):
    body = OfferMade(
        task_id=task_id,
        offer_id=f"{task_id}#1-1",
        media="workitem",
        priority=400,
        expires_at=at + timedelta(minutes=10),
    )
    return make_envelope(
        body, event_type="assignment.offer", time=at, subject_id="agent-1", producer="t"
    )


def test_accept_stamped_with_offer_time() -> None:
    desks, _, sent = _desks(_profile())
    offered_at = ORIGIN + timedelta(hours=1)

    desks.on_assignment(_offer(offered_at))

    assert [e.type for e in sent] == ["agent.accept"]
    assert sent[0].time == offered_at


def test_mark_done_after_business_handling() -> None:
    desks, clock, sent = _desks(_profile())
    offered_at = ORIGIN + timedelta(hours=1)
    done_at = offered_at + timedelta(seconds=1800)
    desks.on_assignment(_offer(offered_at))

    desks.run_due(clock.wall_time_of(done_at) - 0.001)
    early = [e.type for e in sent]
    desks.run_due(clock.wall_time_of(done_at))

    assert early == ["agent.accept"]
    assert sent[-1].type == "agent.mark_done"
    assert sent[-1].time == done_at


def test_ready_after_rona_pause() -> None:
    desks, clock, sent = _desks(_profile(rona_probability=1.0))
    rona_at = ORIGIN + timedelta(hours=2)
    desks.on_assignment(_offer(ORIGIN + timedelta(hours=1)))
    event = make_envelope(
        AgentNotReady(reason=NotReadyReason.RONA),
        event_type="agent.became_not_ready",
        time=rona_at,
        subject_id="agent-1",
        producer="t",
    )

    desks.on_agent_event(event)
    desks.run_due(clock.wall_time_of(rona_at + RONA_PAUSE))

    assert desks.offers_ignored == 1
    assert [e.type for e in sent] == ["agent.ready"]
    assert sent[0].time == rona_at + RONA_PAUSE


def test_answer_depends_on_task_and_number() -> None:
    profile = AgentProfile(
        agent_id="agent-1",
        name="Ada Costa",
        skills={"Finance": 9},
        capacity_workitem=1,
        handling_seconds=tuple(float(s) for s in range(60, 6000, 60)),
        rona_probability=0.3,
    )

    first = [answer_offer(profile, 11, f"crm:CASE-{n}", 1) for n in range(50)]
    again = [answer_offer(profile, 11, f"crm:CASE-{n}", 1) for n in reversed(range(50))]
    second_offers = [answer_offer(profile, 11, f"crm:CASE-{n}", 2) for n in range(50)]

    assert first == list(reversed(again))
    assert first != second_offers
    assert None in first
    assert len({answer for answer in first if answer is not None}) > 5
