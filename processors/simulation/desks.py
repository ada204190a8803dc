"""Simulated agent desktops: employees who log in, accept offers and work items.

Each employee accepts an offer as soon as it arrives, except that now and
then one lets it ring (to exercise RONA). It works the item for a handling
time drawn from real durations (capped at MAX_HANDLING), then marks it done.
After a RONA it goes ready again after a short pause.

How an employee responds depends only on the seed, the task and how many
offers of that task the desktops have seen (`answer_offer`), not on the
order in which offers of different tasks arrive. So the what-if simulation,
which handles the same offers in process, draws the same responses as a
live run whose timing differs slightly.

Commands carry the business time at which the employee acts: an accept the
time of the offer, a mark done the offer's time plus the handling time, a
ready after RONA the time of the RONA plus the pause. They are sent when the
scaled clock reaches that time. Stamping them with the time the desktop
happened to read the message instead would add the pipeline's transit,
times the replay speed, to every handling time: at 2000x, 50 ms of transit
is 100 business seconds.
"""

from __future__ import annotations

import heapq
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from processors.clock import ScaledClock
from processors.simulation.staffing import AgentProfile, draw_handling_seconds
from schemas.agents import AcceptOffer, LogIn, MarkDone, Ready
from schemas.codec import encode, make_envelope
from schemas.envelope import Envelope
from schemas.routing import Capacity

__all__ = ["DESK_SEED", "MAX_HANDLING", "RONA_PAUSE", "Desks", "answer_offer"]

log = logging.getLogger(__name__)

RONA_PAUSE = timedelta(minutes=5)
# The data's durations run from capture to resolution and include waiting
# time; an employee works one item for at most one working day.
MAX_HANDLING = timedelta(hours=8)
PRODUCER = "simulated-desktop"
DESK_SEED = 11

Send = Callable[[str, bytes], None]


@dataclass(order=True)
class _Action:
    wall_time: float
    sequence: int
    agent_id: str = field(compare=False)
    kind: str = field(compare=False)
    business_time: datetime = field(compare=False)
    task_id: str | None = field(compare=False, default=None)


def answer_offer(
    profile: AgentProfile, seed: int, task_id: str, offer_number: int
) -> timedelta | None:
    """Decide an employee's response to the `offer_number`-th offer of a task.
    Returns None to let it ring, else the handling time (at most
    MAX_HANDLING)."""
    # A string seed is hashed with SHA-512, so it does not vary between runs.
    rng = random.Random(f"{seed}:{task_id}:{offer_number}")
    if rng.random() < profile.rona_probability:
        return None
    drawn = timedelta(seconds=draw_handling_seconds(profile, rng))
    return min(drawn, MAX_HANDLING)


class Desks:
    """Every simulated employee of one routing domain."""

    def __init__(
        self,
        profiles: list[AgentProfile],
        clock: ScaledClock,
        send: Send,
        seed: int = DESK_SEED,
    ):
        self.profiles = {profile.agent_id: profile for profile in profiles}
        self.clock = clock
        self.send = send
        self.seed = seed
        self.offers_seen: dict[str, int] = {}
        self.actions: list[_Action] = []
        self.sequence = 0
        self.working: dict[str, set[str]] = {
            agent_id: set() for agent_id in self.profiles
        }
        self.offers_ignored = 0

    def log_in_all(self) -> None:
        for profile in self.profiles.values():
            capacity = Capacity(workitem=profile.capacity_workitem)
            self._command(
                profile.agent_id,
                "agent.log_in",
                LogIn(name=profile.name, skills=profile.skills, capacity=capacity),
            )
            self._command(profile.agent_id, "agent.ready", Ready())

    def on_assignment(self, envelope: Envelope) -> None:
        agent_id = envelope.subject_id
        if agent_id not in self.profiles:
            return
        data = envelope.data
        if envelope.type == "assignment.offer":
            self._answer_offer(
                agent_id, data["task_id"], data["offer_id"], envelope.time
            )
        elif envelope.type == "assignment.offer_withdrawn":
            self.working[agent_id].discard(data["task_id"])

    def on_agent_event(self, envelope: Envelope) -> None:
        agent_id = envelope.subject_id
        if (
            agent_id in self.profiles
            and envelope.type == "agent.became_not_ready"
            and envelope.data.get("reason") == "rona"
        ):
            self._schedule(envelope.time + RONA_PAUSE, agent_id, "ready")

    def run_due(self, wall_now: float) -> None:
        while self.actions and self.actions[0].wall_time <= wall_now:
            action = heapq.heappop(self.actions)
            if action.kind == "ready":
                self._command(
                    action.agent_id, "agent.ready", Ready(), action.business_time
                )
            elif (
                action.kind == "mark_done"
                and action.task_id in self.working[action.agent_id]
            ):
                self.working[action.agent_id].discard(action.task_id)
                self._command(
                    action.agent_id,
                    "agent.mark_done",
                    MarkDone(task_id=action.task_id),
                    action.business_time,
                )

    def _answer_offer(
        self, agent_id: str, task_id: str, offer_id: str, offered_at: datetime
    ) -> None:
        profile = self.profiles[agent_id]
        number = self.offers_seen.get(task_id, 0) + 1
        self.offers_seen[task_id] = number
        handling = answer_offer(profile, self.seed, task_id, number)
        if handling is None:
            self.offers_ignored += 1
            log.info("%s lets offer %s ring", agent_id, offer_id)
            return
        self._command(
            agent_id,
            "agent.accept",
            AcceptOffer(task_id=task_id, offer_id=offer_id),
            offered_at,
        )
        self.working[agent_id].add(task_id)
        self._schedule(offered_at + handling, agent_id, "mark_done", task_id)

    def _schedule(
        self,
        business_time: datetime,
        agent_id: str,
        kind: str,
        task_id: str | None = None,
    ) -> None:
        self.sequence += 1
        action = _Action(
            self.clock.wall_time_of(business_time),
            self.sequence,
            agent_id,
            kind,
            business_time,
            task_id,
        )
        heapq.heappush(self.actions, action)

    def _command(
        self, agent_id: str, command_type: str, body, at: datetime | None = None
    ) -> None:
        envelope = make_envelope(
            body,
            event_type=command_type,
            time=self.clock.now() if at is None else at,
            subject_id=agent_id,
            producer=PRODUCER,
        )
        self.send(agent_id, encode(envelope))
