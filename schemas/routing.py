"""Value objects shared by tasks and the distributor: targets and schemes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "MEDIA",
    "Adjustment",
    "Capacity",
    "Media",
    "PriorityScheme",
    "SkillRequirement",
    "Stage",
    "Target",
    "Tier",
    "Window",
]


MEDIA = ("workitem", "voice", "chat", "email")
# Bounds that keep priorities and waits far from the limits of the integer,
# float and datetime arithmetic of curves and due dates.
PRIORITY_LIMIT = 1_000_000
MAX_WAIT_SECONDS = 366 * 24 * 3600
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


class Stage(BaseModel):
    """One part of a priority curve: `increment` at the end of every
    `interval_seconds` from where the stage begins until the next stage.

    A stage begins `after_seconds` into the curve, or, in a scheme that
    climbs to a value at the due date, `after_percent_of_sla` of the way
    from the curve's start to the due date.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    after_seconds: float | None = Field(default=None, ge=0)
    after_percent_of_sla: float | None = Field(default=None, ge=0, le=100)
    increment: float
    interval_seconds: float = Field(gt=0, le=MAX_WAIT_SECONDS)

    @model_validator(mode="after")
    def _check_one_start(self) -> Stage:
        if (self.after_seconds is None) == (self.after_percent_of_sla is None):
            raise ValueError(
                "a stage needs exactly one of 'after_seconds' or "
                "'after_percent_of_sla'"
            )
        return self


class Window(BaseModel):
    """A change of `raise_by` to the priority from `from_seconds` until (not
    including) `until_seconds` into the curve."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    from_seconds: float = Field(ge=0)
    until_seconds: float
    raise_by: int

    @model_validator(mode="after")
    def _check_order(self) -> Window:
        if self.until_seconds <= self.from_seconds:
            raise ValueError(
                f"a window must end after it starts: until_seconds "
                f"{self.until_seconds} is not after from_seconds {self.from_seconds}"
            )
        return self


class Adjustment(BaseModel):
    """A change to an item's start priority from its business value.

    The change is `value_attribute` times `factor` (0 when the attribute is
    missing or not a number) plus, for each attribute in `bonus`, the amount
    listed for the item's value of it. The sum is rounded and then limited
    to [`minimum`, `maximum`] where those are set.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    value_attribute: str | None = None
    factor: float = 1.0
    bonus: dict[str, dict[str, int]] = Field(default_factory=dict)
    minimum: int | None = None
    maximum: int | None = None

    @model_validator(mode="after")
    def _check_bounds(self) -> Adjustment:
        if (
            self.minimum is not None
            and self.maximum is not None
            and self.minimum > self.maximum
        ):
            raise ValueError(
                f"adjustment minimum {self.minimum} is above maximum {self.maximum}"
            )
        return self


class PriorityScheme(BaseModel):
    """The curve of an item's priority while it waits.

    Priority starts at `initial` (plus the item's business-value
    `adjustment`) and moves by each stage's increment at the end of each of
    its intervals, clamped to [`minimum`, `maximum`]. Without `stages`, one
    stage of `increment` every `interval_seconds` applies. `windows` add
    their amount while they are open.

    With `reach_maximum_at_due` (or `priority_at_due`) and a due date, the
    increments are scaled so the curve arrives at `maximum` (or at
    `priority_at_due`) exactly at the due date, and stays there. Once the
    due date has passed, the priority is `overdue` when that is set.

    With `calendar`, time on the curve is open time of that business
    calendar, until the due date. After it, time runs on the wall clock.
    """

    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    name: str
    initial: int = Field(ge=-PRIORITY_LIMIT, le=PRIORITY_LIMIT)
    increment: int = Field(default=0, ge=-PRIORITY_LIMIT, le=PRIORITY_LIMIT)
    interval_seconds: float = Field(default=3600.0, gt=0, le=MAX_WAIT_SECONDS)
    minimum: int = Field(default=0, ge=-PRIORITY_LIMIT, le=PRIORITY_LIMIT)
    maximum: int = Field(default=1000, ge=-PRIORITY_LIMIT, le=PRIORITY_LIMIT)
    overdue: int | None = Field(default=None, ge=-PRIORITY_LIMIT, le=PRIORITY_LIMIT)
    reach_maximum_at_due: bool = False
    priority_at_due: int | None = None
    stages: tuple[Stage, ...] = ()
    windows: tuple[Window, ...] = ()
    adjustment: Adjustment | None = None
    calendar: str | None = None

    @property
    def due_target(self) -> int | None:
        """Return the priority the curve arrives at on the due date, if any."""
        if self.reach_maximum_at_due:
            return self.maximum
        return self.priority_at_due

    @model_validator(mode="after")
    def _check_scheme(self) -> PriorityScheme:
        label = f"priority scheme {self.name!r}"
        if self.minimum > self.maximum:
            raise ValueError(
                f"{label}: minimum {self.minimum} is above maximum {self.maximum}"
            )
        if self.priority_at_due is not None:
            if self.reach_maximum_at_due:
                raise ValueError(
                    f"{label}: set either reach_maximum_at_due or "
                    "priority_at_due, not both"
                )
            if not self.minimum <= self.priority_at_due <= self.maximum:
                raise ValueError(
                    f"{label}: field 'priority_at_due': {self.priority_at_due} is "
                    f"outside [minimum {self.minimum}, maximum {self.maximum}]"
                )
        self._check_stages(label)
        self._check_windows(label)
        return self

    def _check_stages(self, label: str) -> None:
        if not self.stages:
            return
        if self.increment != 0:
            raise ValueError(
                f"{label}: field 'increment': a scheme with 'stages' takes its "
                "increments from the stages; remove 'increment'"
            )
        scaled = self.due_target is not None
        for index, stage in enumerate(self.stages):
            field = f"stages[{index}]"
            if scaled and stage.after_percent_of_sla is None:
                raise ValueError(
                    f"{label}: field '{field}.after_seconds': a scheme that "
                    "climbs to a priority at the due date must place its stages "
                    "with after_percent_of_sla, because a fixed offset may lie "
                    "past a short SLA"
                )
            if not scaled and stage.after_seconds is None:
                raise ValueError(
                    f"{label}: field '{field}.after_percent_of_sla': only a "
                    "scheme with reach_maximum_at_due or priority_at_due may "
                    "place stages by share of the SLA; use after_seconds"
                )
            if scaled and stage.increment < 0:
                raise ValueError(
                    f"{label}: field '{field}.increment': a scheme that climbs "
                    "to a priority at the due date needs increments of 0 or "
                    f"more, got {stage.increment}"
                )
        starts = [_stage_start(stage) for stage in self.stages]
        for index in range(1, len(starts)):
            if starts[index] <= starts[index - 1]:
                raise ValueError(
                    f"{label}: field 'stages[{index}]': stages must be listed in "
                    f"order of their start, and {starts[index]} does not come "
                    f"after {starts[index - 1]}"
                )
        if scaled:
            if starts[0] != 0:
                raise ValueError(
                    f"{label}: field 'stages[0].after_percent_of_sla': the first "
                    "stage must start at 0, so the curve is defined from the start"
                )
            if not any(stage.increment > 0 for stage in self.stages):
                field = "reach_maximum_at_due" if self.reach_maximum_at_due else (
                    "priority_at_due"
                )
                raise ValueError(
                    f"{label}: field 'stages': no stage has a positive "
                    f"increment, so the curve cannot climb as {field} requires"
                )

    def _check_windows(self, label: str) -> None:
        ordered = sorted(
            enumerate(self.windows), key=lambda pair: pair[1].from_seconds
        )
        for (first, earlier), (second, later) in zip(ordered, ordered[1:]):
            if later.from_seconds < earlier.until_seconds:
                raise ValueError(
                    f"{label}: field 'windows': windows {first} and {second} "
                    "overlap; merge them into one window per time span"
                )


def _stage_start(stage: Stage) -> float:
    if stage.after_seconds is not None:
        return stage.after_seconds
    return stage.after_percent_of_sla


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
    after_seconds: float = Field(ge=0, le=MAX_WAIT_SECONDS)


Target.model_rebuild()
