"""The distributor's records of items in routing and of employees.

Both are slotted classes, not pydantic models: a routing domain may hold a
million waiting items, so each record keeps its fields flat and shares its
target, tiers and scheme with every other item of the same queue (see
`Interner`). `to_record` and `from_record` convert to and from the JSON
documents kept in the distributor's tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

from schemas.calendar import Calendar
from schemas.distribution import RouteTask
from schemas.routing import Capacity, PriorityScheme, Target, Tier

__all__ = ["AgentRecord", "AgentStatus", "Interner", "WaitingItem"]

AgentStatus = Literal["logged_out", "ready", "not_ready"]


class Interner:
    """Hands out one shared instance per distinct frozen value."""

    def __init__(self) -> None:
        self._values: dict[Any, Any] = {}

    def __call__(self, value):
        try:
            return self._values.setdefault(value, value)
        except TypeError:  # an unhashable value is kept as it is
            return value


@dataclass(slots=True, eq=False)
class WaitingItem:
    """A task in the routing domain: waiting, offered or in an employee's hands."""

    task_id: str
    media: str
    target: Target
    tiers: tuple[Tier, ...]
    scheme: PriorityScheme
    # Seconds since the epoch: the start of the priority curve, of the wait
    # in routing, and the due date. The backlog shares these float objects,
    # and they convert back to the exact microsecond (see `_time_of`).
    start: float
    queued: float
    due: float | None
    initial_priority: int | None = None
    priority_adjustment: int = 0
    calendar: Calendar | None = None
    preferred_agent: str | None = None
    summary: dict[str, Any] | None = None
    offer_id: str | None = None
    agent_id: str | None = None
    accepted: bool = False
    offer_expires_at: datetime | None = None
    offers_made: int = 0
    # The employee who last rejected or let the offer ring, and until when
    # the item is not offered to it again.
    rejected_by: str | None = None
    rejected_until: datetime | None = None
    # 0 for the primary target; widen_at is when the next tier starts.
    tier: int = 0
    widen_at: datetime | None = None

    @classmethod
    def from_route(cls, route: RouteTask, intern: Interner) -> WaitingItem:
        item = cls(
            task_id=route.task_id,
            media=route.media,
            target=intern(route.target),
            tiers=intern(route.tiers),
            scheme=intern(route.scheme),
            start=0.0,
            queued=0.0,
            due=None,
        )
        item.take_route(route, intern)
        return item

    def take_route(self, route: RouteTask, intern: Interner) -> None:
        """Replace the routing request's fields, keeping the routing state."""
        self.media = route.media
        self.target = intern(route.target)
        self.tiers = intern(route.tiers)
        self.scheme = intern(route.scheme)
        queued = route.queued_at.timestamp()
        if queued != self.queued:
            # A new wait in routing starts again at the primary target.
            self.tier = 0
        self.start = route.priority_start_at.timestamp()
        self.queued = queued
        self.due = None if route.due_at is None else route.due_at.timestamp()
        self.initial_priority = route.initial_priority
        self.priority_adjustment = route.priority_adjustment
        self.calendar = None if route.calendar is None else intern(route.calendar)
        self.preferred_agent = route.preferred_agent
        self.summary = dict(route.summary) or None
        self.tier = min(self.tier, len(self.tiers))

    @property
    def priority_start_at(self) -> datetime:
        return _time_of(self.start)

    @property
    def queued_at(self) -> datetime:
        return _time_of(self.queued)

    @property
    def due_at(self) -> datetime | None:
        return None if self.due is None else _time_of(self.due)

    @property
    def route(self) -> RouteTask:
        """Return the routing request the item was last routed with."""
        return RouteTask.model_construct(
            task_id=self.task_id,
            media=self.media,
            target=self.target,
            tiers=self.tiers,
            scheme=self.scheme,
            priority_start_at=self.priority_start_at,
            queued_at=self.queued_at,
            due_at=self.due_at,
            initial_priority=self.initial_priority,
            priority_adjustment=self.priority_adjustment,
            calendar=self.calendar,
            preferred_agent=self.preferred_agent,
            summary=self.summary or {},
        )

    @property
    def waiting(self) -> bool:
        return self.agent_id is None

    def to_record(self) -> dict[str, Any]:
        return {
            "route": self.route.model_dump(mode="json"),
            "offer_id": self.offer_id,
            "agent_id": self.agent_id,
            "accepted": self.accepted,
            "offer_expires_at": _iso(self.offer_expires_at),
            "offers_made": self.offers_made,
            "rejected_by": self.rejected_by,
            "rejected_until": _iso(self.rejected_until),
            "tier": self.tier,
            "widen_at": _iso(self.widen_at),
        }

    @classmethod
    def from_record(cls, record: dict[str, Any], intern: Interner) -> WaitingItem:
        item = cls.from_route(RouteTask.model_validate(record["route"]), intern)
        item.offer_id = record.get("offer_id")
        item.agent_id = record.get("agent_id")
        item.accepted = bool(record.get("accepted"))
        item.offer_expires_at = _time(record.get("offer_expires_at"))
        item.offers_made = int(record.get("offers_made") or 0)
        item.rejected_by = record.get("rejected_by")
        item.rejected_until = _time(record.get("rejected_until"))
        item.tier = min(int(record.get("tier") or 0), len(item.tiers))
        item.widen_at = _time(record.get("widen_at"))
        return item


@dataclass(slots=True, eq=False)
class AgentRecord:
    """An employee as the distributor records it."""

    agent_id: str
    name: str | None = None
    status: AgentStatus = "logged_out"
    reason: str | None = None
    skills: dict[str, int] = field(default_factory=dict)
    groups: tuple[str, ...] = ()
    capacity: Capacity = field(default_factory=Capacity)
    auto_answer: tuple[str, ...] = ()
    # Task id to media of the items offered to or held by the employee.
    in_hand: dict[str, str] = field(default_factory=dict)
    free_since: datetime | None = None
    # Items finished on `handled_on`, the employee's current business day.
    handled: int = 0
    handled_on: date | None = None

    def load(self, media: str) -> int:
        return sum(1 for held in self.in_hand.values() if held == media)

    def has_room(self, media: str) -> bool:
        return self.capacity.has_room(media, self.in_hand.values())

    def rooms(self) -> dict[str, bool]:
        """Return, per media, whether one more item of it fits."""
        return self.capacity.rooms(self.in_hand.values())

    def handled_on_day(self, day: date) -> int:
        return self.handled if self.handled_on == day else 0

    def count_handled(self, day: date) -> None:
        self.handled = self.handled_on_day(day) + 1
        self.handled_on = day

    def to_record(self) -> dict[str, Any]:
        return {
            "agent_id": self.agent_id,
            "name": self.name,
            "status": self.status,
            "reason": self.reason,
            "skills": self.skills,
            "groups": list(self.groups),
            "capacity": self.capacity.model_dump(mode="json"),
            "auto_answer": list(self.auto_answer),
            "in_hand": self.in_hand,
            "free_since": _iso(self.free_since),
            "handled": self.handled,
            "handled_on": None if self.handled_on is None else str(self.handled_on),
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> AgentRecord:
        handled_on = record.get("handled_on")
        return cls(
            agent_id=record["agent_id"],
            name=record.get("name"),
            status=record.get("status", "logged_out"),
            reason=record.get("reason"),
            skills={str(k): int(v) for k, v in (record.get("skills") or {}).items()},
            groups=tuple(record.get("groups") or ()),
            capacity=Capacity.model_validate(record.get("capacity") or {}),
            auto_answer=tuple(record.get("auto_answer") or ()),
            in_hand=dict(record.get("in_hand") or {}),
            free_since=_time(record.get("free_since")),
            handled=int(record.get("handled") or 0),
            handled_on=None if handled_on is None else date.fromisoformat(handled_on),
        )


def _time_of(seconds: float) -> datetime:
    """Convert seconds since the epoch to an aware UTC datetime. A double
    resolves today's timestamps to about 0.24 microseconds, so the round trip
    from a datetime is exact."""
    return datetime.fromtimestamp(seconds, UTC)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
