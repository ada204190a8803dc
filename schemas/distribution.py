"""Messages between the task aggregate, the distributor and agent desktops."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from schemas.calendar import Calendar
from schemas.routing import PriorityScheme, Target, Tier

__all__ = [
    "ASSIGNMENT_MESSAGES",
    "DISTRIBUTION_DECISIONS",
    "DISTRIBUTION_REQUESTS",
    "DecisionAccepted",
    "DecisionMarkedDone",
    "DecisionOfferTimedOut",
    "DecisionOffered",
    "DecisionPriorityChanged",
    "DecisionRejected",
    "DecisionWidened",
    "OfferMade",
    "OfferWithdrawn",
    "RouteTask",
    "Tick",
    "WithdrawTask",
]


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True)


class RouteTask(_Message):
    """Put a task into (or replace it in) its routing domain's backlog."""

    task_id: str
    media: str
    target: Target
    tiers: tuple[Tier, ...] = Field(
        default=(), description="Wider targets after `target`, in order"
    )
    scheme: PriorityScheme
    priority_start_at: datetime = Field(description="Start of the priority curve")
    queued_at: datetime = Field(description="Start of the wait in routing")
    due_at: datetime | None = None
    initial_priority: int | None = None
    priority_adjustment: int = Field(
        default=0, description="Added to the start priority for business value"
    )
    calendar: Calendar | None = Field(
        default=None, description="Business calendar of the scheme's curve"
    )
    preferred_agent: str | None = None
    summary: dict[str, Any] = Field(default_factory=dict)


class WithdrawTask(_Message):
    task_id: str
    reason: str


class Tick(_Message):
    """A timer tick: deadlines due at or before the envelope time fire."""


class DecisionOffered(_Message):
    agent_id: str
    offer_id: str
    expires_at: datetime


class DecisionAccepted(_Message):
    agent_id: str
    offer_id: str


class DecisionRejected(_Message):
    agent_id: str
    offer_id: str


class DecisionOfferTimedOut(_Message):
    agent_id: str
    offer_id: str


class DecisionMarkedDone(_Message):
    agent_id: str


class DecisionWidened(_Message):
    """The item waited long enough to move to its next, wider tier."""

    tier: int
    queue: str


class DecisionPriorityChanged(_Message):
    """The item's priority stepped along its curve while it waited."""

    priority: int
    previous: int
    changed_at: datetime = Field(description="The moment of the step on the curve")


class OfferMade(_Message):
    """An offer sent to one agent desktop."""

    task_id: str
    offer_id: str
    media: str
    priority: int
    expires_at: datetime
    summary: dict[str, Any] = Field(default_factory=dict)
    auto_answered: bool = Field(
        default=False,
        description="Accepted for the employee at once, so no response is expected",
    )


class OfferWithdrawn(_Message):
    task_id: str
    offer_id: str
    reason: str


DISTRIBUTION_REQUESTS: dict[str, type[BaseModel]] = {
    "route.task": RouteTask,
    "route.withdraw": WithdrawTask,
    "route.tick": Tick,
}

DISTRIBUTION_DECISIONS: dict[str, type[BaseModel]] = {
    "distribution.offered": DecisionOffered,
    "distribution.accepted": DecisionAccepted,
    "distribution.rejected": DecisionRejected,
    "distribution.offer_timed_out": DecisionOfferTimedOut,
    "distribution.marked_done": DecisionMarkedDone,
    "distribution.widened": DecisionWidened,
    "distribution.priority_changed": DecisionPriorityChanged,
}

ASSIGNMENT_MESSAGES: dict[str, type[BaseModel]] = {
    "assignment.offer": OfferMade,
    "assignment.offer_withdrawn": OfferWithdrawn,
}
