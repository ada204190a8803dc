"""Value objects shared by tasks and the distributor: targets and schemes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["MEDIA", "Capacity", "PriorityScheme", "SkillRequirement", "Target", "Tier"]


MEDIA = ("workitem", "voice", "chat", "email")
Media = Literal["workitem", "voice", "chat", "email"]


class SkillRequirement(BaseModel):
    """An employee qualifies when its level of `skill` is at least `min_level`."""

    model_config = ConfigDict(frozen=True)

    skill: str
    min_level: int = Field(default=1, ge=0, le=10)


class Target(BaseModel):
    """The employees who may work an item: every part that is set must hold.

    `skills` are minimum levels, `expression` a skill expression such as
    "Sales Processing > 7 and Legacy System Processing > 1", `agent_group`
    a group the employee belongs to, `agent_id` one named employee.
    """

    model_config = ConfigDict(frozen=True)

    skills: tuple[SkillRequirement, ...] = ()
    expression: str | None = None
    agent_group: str | None = None
    agent_id: str | None = None
    any_of: tuple[Target, ...] = Field(
        default=(), description="Alternatives: at least one must hold"
    )

    @property
    def key(self) -> str:
        """Return a stable name of the target, used as the queue name."""
        parts = [f"{s.skill}>={s.min_level}" for s in self.skills]
        if self.any_of:
            parts.append("any of [" + "; ".join(t.key for t in self.any_of) + "]")
        if self.expression is not None:
            parts.append(f"({self.expression})")
        if self.agent_group is not None:
            parts.append(f"group {self.agent_group}")
        if self.agent_id is not None:
            parts.append(f"agent {self.agent_id}")
        return " and ".join(parts) or "any"


class PriorityScheme(BaseModel):
    """The curve of an item's priority while it waits.

    Priority starts at `initial` and changes by `increment` at the end of
    every `interval_seconds`, clamped to [`minimum`, `maximum`]. When
    `reach_maximum_at_due` is set and the item has a due date, the increment
    is derived so the curve reaches `maximum` at the due date. Once the due
    date has passed, the priority is `overdue`.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    initial: int
    increment: int = 0
    interval_seconds: float = Field(default=3600.0, gt=0)
    minimum: int = 0
    maximum: int = 1000
    overdue: int | None = None
    reach_maximum_at_due: bool = False

    @model_validator(mode="after")
    def _check_bounds(self) -> PriorityScheme:
        if self.minimum > self.maximum:
            raise ValueError(
                f"priority scheme {self.name!r}: minimum {self.minimum} is above "
                f"maximum {self.maximum}"
            )
        return self


class Capacity(BaseModel):
    """How many items of each media an employee may hold at once.

    `total` caps the items held across all media. `while_holding` blocks
    media while the employee holds another: {"voice": ["workitem"]} means no
    work item is offered during a call. Offered items count as held.
    """

    model_config = ConfigDict(frozen=True)

    workitem: int = Field(default=1, ge=0)
    voice: int = Field(default=1, ge=0)
    chat: int = Field(default=3, ge=0)
    email: int = Field(default=1, ge=0)
    total: int | None = Field(default=None, ge=0)
    while_holding: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_media(self) -> Capacity:
        for held, blocked in self.while_holding.items():
            unknown = sorted({held, *blocked} - set(MEDIA))
            if unknown:
                raise ValueError(
                    f"capacity rule while holding {held!r} names unknown media "
                    f"{unknown}; known media: {list(MEDIA)}"
                )
        return self

    def __hash__(self) -> int:
        return hash((self.workitem, self.voice, self.chat, self.email, self.total))

    def for_media(self, media: str) -> int:
        return int(getattr(self, media))

    def has_room(self, media: str, held: Iterable[str]) -> bool:
        """Check whether one more item of `media` fits beside the `held` media."""
        return self.rooms(held)[media]

    def rooms(self, held: Iterable[str]) -> dict[str, bool]:
        """Return, per media, whether one more item of it fits beside `held`."""
        if self.total is None and not self.while_holding:
            held = list(held)
            return {media: held.count(media) < getattr(self, media) for media in MEDIA}
        counts: dict[str, int] = {}
        for media in held:
            counts[media] = counts.get(media, 0) + 1
        if self.total is not None and sum(counts.values()) >= self.total:
            return dict.fromkeys(MEDIA, False)
        blocked = {b for h in counts for b in self.while_holding.get(h, ())}
        return {
            media: media not in blocked and counts.get(media, 0) < getattr(self, media)
            for media in MEDIA
        }


class Tier(BaseModel):
    """A wider target an item moves to after waiting `after_seconds` in routing."""

    model_config = ConfigDict(frozen=True)

    target: Target
    after_seconds: float = Field(ge=0)


Target.model_rebuild()
