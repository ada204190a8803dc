"""Agent commands sent by desktops and the agent events the distributor emits."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from schemas.routing import Capacity, Media

__all__ = [
    "AGENT_COMMANDS",
    "AGENT_EVENTS",
    "AcceptOffer",
    "AgentLoggedIn",
    "AgentLoggedOut",
    "AgentNotReady",
    "AgentReady",
    "LogIn",
    "LogOut",
    "MarkDone",
    "NotReady",
    "NotReadyReason",
    "Ready",
    "RejectOffer",
]


class NotReadyReason(StrEnum):
    ADMIN = "admin"
    LUNCH = "lunch"
    MEETING = "meeting"
    PAUSE = "pause"
    RONA = "rona"
    TRAINING = "training"
    LOGIN = "login"


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True)


class LogIn(_Message):
    name: str | None = None
    skills: dict[str, int] = Field(
        default_factory=dict, description="Skill name to proficiency level 0-10"
    )
    groups: tuple[str, ...] = Field(default=(), description="Agent groups")
    capacity: Capacity = Capacity()
    auto_answer: tuple[Media, ...] = Field(
        default=(),
        description="Media whose offers this employee accepts at once, unasked",
    )


class Ready(_Message):
    pass


class NotReady(_Message):
    reason: NotReadyReason


class LogOut(_Message):
    pass


class AcceptOffer(_Message):
    task_id: str
    offer_id: str


class RejectOffer(_Message):
    task_id: str
    offer_id: str


class MarkDone(_Message):
    task_id: str


class AgentLoggedIn(_Message):
    name: str | None = None
    skills: dict[str, int]
    groups: tuple[str, ...] = ()
    capacity: Capacity
    auto_answer: tuple[Media, ...] = ()


class AgentReady(_Message):
    pass


class AgentNotReady(_Message):
    reason: NotReadyReason


class AgentLoggedOut(_Message):
    pass


AGENT_COMMANDS: dict[str, type[BaseModel]] = {
    "agent.log_in": LogIn,
    "agent.ready": Ready,
    "agent.not_ready": NotReady,
    "agent.log_out": LogOut,
    "agent.accept": AcceptOffer,
    "agent.reject": RejectOffer,
    "agent.mark_done": MarkDone,
}

AGENT_EVENTS: dict[str, type[BaseModel]] = {
    "agent.logged_in": AgentLoggedIn,
    "agent.became_ready": AgentReady,
    "agent.became_not_ready": AgentNotReady,
    "agent.logged_out": AgentLoggedOut,
}
