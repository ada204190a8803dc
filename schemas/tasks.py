"""Task events: the log of every item's life, keyed by task id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from schemas.calendar import Calendar
from schemas.routing import PriorityScheme, Target, Tier

__all__ = [
    "TASK_EVENTS",
    "TaskAccepted",
    "TaskCancelled",
    "TaskCaptured",
    "TaskClassified",
    "TaskCompleted",
    "TaskMarkedDone",
    "TaskOfferTimedOut",
    "TaskOffered",
    "TaskPrioritised",
    "TaskQueued",
    "TaskRejected",
    "TaskRestarted",
    "TaskUpdated",
    "TaskWidened",
]


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)


class TaskCaptured(_Event):
    source_system: str
    external_id: str
    capture_id: str
    media: str
    routing_domain: str
    status: str | None = None
    due_at: datetime | None = None
    activate_at: datetime | None = None
    priority: int | None = None
    preferred_agent: str | None = None
    department: str | None = None
    process: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class TaskUpdated(_Event):
    capture_id: str
    status: str | None = None
    due_at: datetime | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class TaskClassified(_Event):
    department: str
    process: str
    rule: str = Field(description="Name of the matching rule, or 'default'")
    scheme: PriorityScheme
    target: Target
    tiers: tuple[Tier, ...] = ()
    due_at: datetime | None = None
    priority_adjustment: int = Field(
        default=0, description="Added to the start priority for business value"
    )
    calendar: Calendar | None = Field(
        default=None, description="Business calendar of the scheme's curve"
    )


class TaskPrioritised(_Event):
    """The item's priority: set when it is queued, then each step of its curve."""

    priority: int
    scheme: str
    changed_at: datetime | None = Field(
        default=None, description="The moment of a step on the curve"
    )


class TaskQueued(_Event):
    queue: str
    priority: int


class TaskOffered(_Event):
    agent_id: str
    offer_id: str
    expires_at: datetime


class TaskAccepted(_Event):
    agent_id: str
    offer_id: str


class TaskRejected(_Event):
    agent_id: str
    offer_id: str


class TaskOfferTimedOut(_Event):
    agent_id: str
    offer_id: str


class TaskWidened(_Event):
    tier: int
    queue: str


class TaskMarkedDone(_Event):
    agent_id: str


class TaskCompleted(_Event):
    capture_id: str
    status: str | None = None
    agent_id: str | None = None


class TaskCancelled(_Event):
    capture_id: str
    status: str | None = None


class TaskRestarted(_Event):
    capture_id: str
    status: str | None = None


TASK_EVENTS: dict[str, type[BaseModel]] = {
    "task.captured": TaskCaptured,
    "task.updated": TaskUpdated,
    "task.classified": TaskClassified,
    "task.prioritised": TaskPrioritised,
    "task.queued": TaskQueued,
    "task.offered": TaskOffered,
    "task.accepted": TaskAccepted,
    "task.rejected": TaskRejected,
    "task.offer_timed_out": TaskOfferTimedOut,
    "task.widened": TaskWidened,
    "task.marked_done": TaskMarkedDone,
    "task.completed": TaskCompleted,
    "task.cancelled": TaskCancelled,
    "task.restarted": TaskRestarted,
}
