"""The distributor of one routing domain: backlog, agents, offers and matching.

All methods take the current time and return effects; the caller sends them.
The distributor keeps every waiting item of its domain and matches it
globally: when an employee is free it gets the best item from the whole
backlog it may take, not the head of one queue.
"""

from __future__ import annotations

import heapq
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from processors.domain.backlog import Backlog
from processors.domain.priority import priority_at
from processors.domain.records import AgentRecord, Interner, WaitingItem
from processors.domain.targets import match_score, qualifies
from schemas.agents import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentNotReady,
    AgentReady,
    LogIn,
    NotReadyReason,
)
from schemas.codec import MESSAGE_TYPES
from schemas.distribution import (
    DecisionAccepted,
    DecisionOfferTimedOut,
    DecisionRejected,
    DecisionWidened,
    OfferWithdrawn,
    RouteTask,
)
from schemas.routing import Target
from schemas.rules import RuleSet

__all__ = ["AgentRecord", "Distributor", "Effect", "WaitingItem", "distributor_for"]

log = logging.getLogger(__name__)

Fairness = Literal["longest_idle", "least_handled"]
EffectKind = Literal["task", "assignment", "agent"]


@dataclass(frozen=True, eq=False)
class Effect:
    """A message to send: `kind` selects the topic, `key` the message key.

    `payload` is the message, or the fields of a message of `type` that is
    built only when `body` is read: most decisions are made many times more
    often than their messages are inspected in the core.
    """

    kind: EffectKind
    key: str
    type: str
    payload: BaseModel | dict[str, Any]

    @property
    def body(self) -> BaseModel:
        if isinstance(self.payload, dict):
            return MESSAGE_TYPES[self.type].model_construct(**self.payload)
        return self.payload

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Effect):
            return NotImplemented
        mine = (self.kind, self.key, self.type, self.body.model_dump())
        return mine == (other.kind, other.key, other.type, other.body.model_dump())

    __hash__ = None


@dataclass
class Distributor:
    """Routing state of one domain, changed only through its methods."""

    domain: str
    offer_timeout: timedelta
    fairness: Fairness = "longest_idle"
    # Media whose offers every employee of the domain accepts at once.
    auto_answer_media: frozenset[str] = frozenset()
    # Time zone of the business day over which least_handled counts work.
    day_zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    items: dict[str, WaitingItem] = field(default_factory=dict)
    agents: dict[str, AgentRecord] = field(default_factory=dict)
    dirty_items: set[str] = field(default_factory=set)
    dirty_agents: set[str] = field(default_factory=set)
    backlog: Backlog = field(default_factory=Backlog)
    queue_targets: dict[str, tuple[Target, str]] = field(default_factory=dict)
    free_agents: dict[str, AgentRecord] = field(default_factory=dict)
    deadlines: list[tuple[datetime, int, str]] = field(default_factory=list)
    _deadline_sequence: int = 0
    queue_free: dict[str, set[str]] = field(default_factory=dict)
    # Queues with at least one free employee who qualifies and has room.
    open_queues: set[str] = field(default_factory=set)
    _skill_queues: dict[str, list[str]] = field(default_factory=dict)
    intern: Interner = field(default_factory=Interner)
    _day_cache: tuple | None = None
    # The rule set version whose settings `configure` took last.
    rules_version: int | None = None

    def configure(self, rules: RuleSet) -> None:
        """Take the routing settings of a rule set; offers already made keep
        their expiry. A version already taken is skipped, because workers
        call this before every message."""
        if rules.version == self.rules_version:
            return
        self.rules_version = rules.version
        self.offer_timeout = timedelta(seconds=rules.offer_timeout_seconds)
        self.fairness = rules.fairness
        self.auto_answer_media = frozenset(rules.auto_answer_media)
        self.day_zone = ZoneInfo(rules.business_day_timezone)
        self._day_cache = None

    def load(
        self, items: list[WaitingItem], agents: list[AgentRecord], now: datetime
    ) -> None:
        """Restore items and agents saved earlier, rebuilding the backlog index."""
        for agent in agents:
            self.agents[agent.agent_id] = agent
            self._touch_agent(agent.agent_id)
        self.dirty_agents.clear()
        for item in items:
            self.items[item.task_id] = item
            self._index(item, now)
            if not item.waiting:
                self._schedule(item)

    # Backlog.

    def route(self, request: RouteTask, now: datetime) -> list[Effect]:
        item = self.items.get(request.task_id)
        if item is None:
            item = WaitingItem.from_route(request, self.intern)
            self.items[item.task_id] = item
        else:
            item.take_route(request, self.intern)
        self._index(item, now)
        self._touch_item(request.task_id)
        return self._widen_if_due(item, now) + self.dispatch(now)

    def withdraw(self, task_id: str, reason: str, now: datetime) -> list[Effect]:
        item = self.items.pop(task_id, None)
        if item is None:
            return []
        self.backlog.remove(task_id)
        self._touch_item(task_id)
        effects: list[Effect] = []
        if item.agent_id is not None:
            agent = self.agents.get(item.agent_id)
            if agent is not None:
                self._release(agent, task_id, now)
                effects.append(self._withdrawn(agent.agent_id, item, reason))
        return effects + self.dispatch(now)

    # Agent states.

    def log_in(self, agent_id: str, command: LogIn, now: datetime) -> list[Effect]:
        agent = self.agents.get(agent_id) or AgentRecord(agent_id=agent_id)
        for queue in self._skill_queues_of(agent):
            self._close(queue, agent_id)
        self._skill_queues.pop(agent_id, None)
        agent.name = command.name
        agent.skills = dict(command.skills)
        agent.groups = tuple(command.groups)
        agent.capacity = command.capacity
        agent.auto_answer = tuple(command.auto_answer)
        agent.status = "not_ready"
        agent.reason = NotReadyReason.LOGIN.value
        agent.free_since = now
        self.agents[agent_id] = agent
        self._touch_agent(agent_id)
        body = AgentLoggedIn(
            name=command.name,
            skills=agent.skills,
            groups=agent.groups,
            capacity=agent.capacity,
            auto_answer=agent.auto_answer,
        )
        return [Effect("agent", agent_id, "agent.logged_in", body)]

    def ready(self, agent_id: str, now: datetime) -> list[Effect]:
        agent = self._known_agent(agent_id)
        if agent is None:
            return []
        if agent.status != "ready" and not agent.in_hand:
            agent.free_since = now
        agent.status, agent.reason = "ready", None
        self._touch_agent(agent_id)
        return [
            Effect("agent", agent_id, "agent.became_ready", AgentReady())
        ] + self.dispatch(now)

    def not_ready(
        self, agent_id: str, reason: NotReadyReason, now: datetime
    ) -> list[Effect]:
        agent = self._known_agent(agent_id)
        if agent is None:
            return []
        agent.status, agent.reason = "not_ready", reason.value
        self._touch_agent(agent_id)
        return [
            Effect(
                "agent",
                agent_id,
                "agent.became_not_ready",
                AgentNotReady(reason=reason),
            )
        ]

    def log_out(self, agent_id: str, now: datetime) -> list[Effect]:
        agent = self._known_agent(agent_id)
        if agent is None:
            return []
        # Open offers go back to the backlog; accepted items stay in hand.
        effects: list[Effect] = []
        for task_id in list(agent.in_hand):
            item = self.items.get(task_id)
            if item is not None and not item.accepted:
                effects += self._requeue(item, agent, "employee logged out", now)
        agent.status, agent.reason = "logged_out", None
        self._touch_agent(agent_id)
        effects.append(Effect("agent", agent_id, "agent.logged_out", AgentLoggedOut()))
        return effects + self.dispatch(now)

    # Offers.

    def accept(
        self, agent_id: str, task_id: str, offer_id: str, now: datetime
    ) -> list[Effect]:
        item = self.items.get(task_id)
        if (
            item is None
            or item.offer_id != offer_id
            or item.agent_id != agent_id
            or item.accepted
        ):
            log.info(
                "ignored accept of %s offer %s by %s: no such open offer",
                task_id,
                offer_id,
                agent_id,
            )
            return []
        item.accepted = True
        item.offer_expires_at = None
        self._touch_item(task_id)
        body = DecisionAccepted(agent_id=agent_id, offer_id=offer_id)
        return [Effect("task", task_id, "distribution.accepted", body)]

    def reject(
        self, agent_id: str, task_id: str, offer_id: str, now: datetime
    ) -> list[Effect]:
        item = self.items.get(task_id)
        agent = self.agents.get(agent_id)
        if (
            item is None
            or agent is None
            or item.offer_id != offer_id
            or item.agent_id != agent_id
            or item.accepted
        ):
            log.info(
                "ignored reject of %s offer %s by %s: no such open offer",
                task_id,
                offer_id,
                agent_id,
            )
            return []
        body = DecisionRejected(agent_id=agent_id, offer_id=offer_id)
        effects = [Effect("task", task_id, "distribution.rejected", body)]
        effects += self._requeue(item, agent, None, now)
        return effects + self.dispatch(now)

    def mark_done(self, agent_id: str, task_id: str, now: datetime) -> list[Effect]:
        item = self.items.get(task_id)
        agent = self.agents.get(agent_id)
        if (
            item is None
            or agent is None
            or item.agent_id != agent_id
            or not item.accepted
        ):
            log.info(
                "ignored mark done of %s by %s: the task is not in its hands",
                task_id,
                agent_id,
            )
            return []
        del self.items[task_id]
        self.backlog.remove(task_id)
        self._touch_item(task_id)
        agent.count_handled(self._day(now))
        self._release(agent, task_id, now)
        effects = [
            Effect(
                "task",
                task_id,
                "distribution.marked_done",
                {"agent_id": agent_id},
            )
        ]
        return effects + self.dispatch(now)

    def tick(self, now: datetime) -> list[Effect]:
        """Fire every deadline due at `now`: offers not accepted in time (RONA),
        ends of rejection windows and tier widenings."""
        due: dict[str, datetime] = {}
        while self.deadlines and self.deadlines[0][0] <= now:
            moment, _, task_id = heapq.heappop(self.deadlines)
            due.setdefault(task_id, moment)
        effects: list[Effect] = []
        for task_id in sorted(due, key=lambda t: (due[t], t)):
            item = self.items.get(task_id)
            if item is not None:
                effects += self._fire(item, now)
        return effects + self.dispatch(now)

    def _fire(self, item: WaitingItem, now: datetime) -> list[Effect]:
        effects: list[Effect] = []
        if item.offer_expires_at is not None and item.offer_expires_at <= now:
            effects += self._time_out(item, now)
        if item.rejected_until is not None and item.rejected_until <= now:
            item.rejected_until = None
            self._touch_item(item.task_id)
        return effects + self._widen_if_due(item, now)

    def _widen_if_due(self, item: WaitingItem, now: datetime) -> list[Effect]:
        if item.waiting and item.widen_at is not None and item.widen_at <= now:
            return self._widen(item, now)
        return []

    def _widen(self, item: WaitingItem, now: datetime) -> list[Effect]:
        """Move an item past every tier whose wait has passed."""
        tiers = item.tiers
        while item.tier < len(tiers) and self._tier_starts(item, item.tier) <= now:
            item.tier += 1
        self._index(item, now)
        self._touch_item(item.task_id)
        queue = self._queue_name(item)
        body = DecisionWidened(tier=item.tier, queue=queue)
        return [Effect("task", item.task_id, "distribution.widened", body)]

    def next_deadline(self) -> datetime | None:
        """Return the earliest offer expiry, end of a rejection window, tier
        widening or priority step. Entries made stale by later changes are
        dropped on the way."""
        moment = None
        while self.deadlines:
            moment, _, task_id = self.deadlines[0]
            item = self.items.get(task_id)
            if item is not None and moment in _deadlines_of(item):
                break
            heapq.heappop(self.deadlines)
            moment = None
        step = self.backlog.next_change()
        if step is not None:
            stepped = datetime.fromtimestamp(step, UTC)
            moment = stepped if moment is None else min(moment, stepped)
        return moment

    def _schedule(self, item: WaitingItem) -> None:
        for moment in _deadlines_of(item):
            self._deadline_sequence += 1
            entry = (moment, self._deadline_sequence, item.task_id)
            heapq.heappush(self.deadlines, entry)

    def current_target(self, item: WaitingItem) -> Target:
        """Return who may take the item now: its primary target widened by
        every tier it has reached."""
        if item.tier == 0:
            return item.target
        reached = (item.target, *(t.target for t in item.tiers[: item.tier]))
        return self.intern(Target(any_of=reached))

    def _tier_starts(self, item: WaitingItem, index: int) -> datetime:
        """Return when the item reaches tier `index + 1`."""
        seconds = item.tiers[index].after_seconds
        return item.queued_at + timedelta(seconds=seconds)

    def _queue_name(self, item: WaitingItem) -> str:
        return f"{self.current_target(item).key}|{item.media}"

    # Matching.

    def dispatch(self, now: datetime) -> list[Effect]:
        """Offer waiting items to free employees, best item first, until no
        free employee can take any waiting item.

        Only the heads of queues with a free qualified employee are compared,
        so the cost depends on the number of queues and free employees, not
        on the size of the backlog.
        """
        effects = self.advance(now)
        held_back: list[WaitingItem] = []
        while True:
            waiting = self.backlog.best(self.open_queues)
            if waiting is None:
                break
            item = self.items[waiting.task_id]
            eligible = [
                self.agents[agent_id]
                for agent_id in self.queue_free[waiting.queue]
                if self.can_take(self.agents[agent_id], item, now)
            ]
            if not eligible:
                # Only employees who just rejected it are free: skip it this round.
                self.backlog.remove(item.task_id)
                held_back.append(item)
                continue
            day = self._day(now) if self.fairness == "least_handled" else None
            agent = min(eligible, key=lambda a: self._agent_rank(a, item, day))
            effects += self._offer(item, agent, now)
        for item in held_back:
            self._index(item, now)
        return effects

    def advance(self, now: datetime) -> list[Effect]:
        """Re-rank the items whose priority stepped by `now`, one event a step.
        Every decision does this first, so callers need it only to let time
        pass on its own."""
        effects = []
        for step in self.backlog.advance(now.timestamp()):
            body = {
                "priority": step.priority,
                "previous": step.previous,
                "changed_at": datetime.fromtimestamp(step.moment, UTC),
            }
            effects.append(
                Effect("task", step.task_id, "distribution.priority_changed", body)
            )
        return effects

    def _skill_queues_of(self, agent: AgentRecord) -> list[str]:
        """Return the queues whose target the agent meets, cached per agent
        until it logs in again or a new queue appears."""
        queues = self._skill_queues.get(agent.agent_id)
        if queues is None:
            queues = [
                queue
                for queue, (target, _) in self.queue_targets.items()
                if _meets(agent, target)
            ]
            self._skill_queues[agent.agent_id] = queues
        return queues

    def _add_queue(self, queue: str, target: Target, media: str) -> None:
        """Register a new queue and the free employees who qualify for it."""
        self.queue_targets[queue] = (target, media)
        self._skill_queues.clear()
        self.queue_free[queue] = {
            agent.agent_id
            for agent in self.free_agents.values()
            if _meets(agent, target) and agent.has_room(media)
        }
        if self.queue_free[queue]:
            self.open_queues.add(queue)

    def _index(self, item: WaitingItem, now: datetime) -> None:
        """Keep the backlog index in step with the item: in it while waiting."""
        if not item.waiting:
            self.backlog.remove(item.task_id)
            return
        target = self.current_target(item)
        queue = f"{target.key}|{item.media}"
        if queue not in self.queue_targets:
            self._add_queue(queue, target, item.media)
        tiers = item.tiers
        item.widen_at = (
            self._tier_starts(item, item.tier) if item.tier < len(tiers) else None
        )
        if _deadlines_of(item):
            self._schedule(item)
        self.backlog.add(
            item.task_id,
            queue,
            item.scheme,
            item.start,
            item.due,
            item.queued,
            item.initial_priority,
            now.timestamp(),
            adjustment=item.priority_adjustment,
            calendar=item.calendar,
        )

    def order_key(self, item: WaitingItem, now: datetime) -> tuple:
        """Sort key of waiting items: highest priority, then longest in routing."""
        return (-self.priority(item, now), item.queued_at, item.task_id)

    def priority(self, item: WaitingItem, now: datetime) -> int:
        return priority_at(
            item.scheme,
            item.priority_start_at,
            item.due_at,
            now,
            item.initial_priority,
            adjustment=item.priority_adjustment,
            calendar=item.calendar,
        )

    def can_take(
        self, agent: AgentRecord, item: WaitingItem, now: datetime | None = None
    ) -> bool:
        """Check whether `agent` may be offered `item`. Without `now`, a recent
        rejection by the agent still excludes it."""
        if not agent.has_room(item.media):
            return False
        if item.rejected_by == agent.agent_id and item.rejected_until is not None:
            if now is None or now < item.rejected_until:
                return False
        return _meets(agent, self.current_target(item))

    def _agent_rank(
        self, agent: AgentRecord, item: WaitingItem, day: date | None
    ) -> tuple:
        """Best skill match first, then the fewest items in hand, then by the
        domain's fairness: the employee idle longest, or the one who finished
        the fewest items on the current business day."""
        score = match_score(self.current_target(item), agent.skills)
        idle_since = agent.free_since or datetime.min.replace(tzinfo=UTC)
        if self.fairness == "least_handled":
            return (
                -score,
                len(agent.in_hand),
                agent.handled_on_day(day),
                idle_since,
                agent.agent_id,
            )
        return (-score, len(agent.in_hand), idle_since, agent.agent_id)

    def _day(self, now: datetime) -> date:
        """Return the business day of `now`, reusing the last one found while
        `now` stays between its local midnights."""
        cached = self._day_cache
        if cached is not None and cached[0] <= now < cached[1]:
            return cached[2]
        day = now.astimezone(self.day_zone).date()
        midnight = datetime.combine(day, time(0), tzinfo=self.day_zone)
        following = datetime.combine(day + timedelta(days=1), time(0), self.day_zone)
        self._day_cache = (midnight, following, day)
        return day

    def _offer(
        self, item: WaitingItem, agent: AgentRecord, now: datetime
    ) -> list[Effect]:
        """Offer the item to the employee, or hand it over at once when the
        employee accepts its media automatically."""
        item.offers_made += 1
        # Unique across withdrawals: a restarted task is queued at a new time.
        queued_ms = int(item.queued * 1000)
        waiting = self.backlog.get(item.task_id)
        priority = self.priority(item, now) if waiting is None else waiting.priority
        item.offer_id = f"{item.task_id}#{queued_ms}-{item.offers_made}"
        item.agent_id = agent.agent_id
        automatic = item.media in self.auto_answer_media or item.media in (
            agent.auto_answer
        )
        item.accepted = automatic
        expires_at = now + self.offer_timeout
        item.offer_expires_at = None if automatic else expires_at
        if not automatic:
            self._schedule(item)
        self.backlog.remove(item.task_id)
        agent.in_hand[item.task_id] = item.media
        self._touch_item(item.task_id)
        self._touch_agent(agent.agent_id)
        decision = {
            "agent_id": agent.agent_id,
            "offer_id": item.offer_id,
            "expires_at": now if automatic else expires_at,
        }
        offer = {
            "task_id": item.task_id,
            "offer_id": item.offer_id,
            "media": item.media,
            "priority": priority,
            "expires_at": now if automatic else expires_at,
            "summary": item.summary or {},
            "auto_answered": automatic,
        }
        effects = [
            Effect("task", item.task_id, "distribution.offered", decision),
            Effect("assignment", agent.agent_id, "assignment.offer", offer),
        ]
        if automatic:
            accepted = {"agent_id": agent.agent_id, "offer_id": item.offer_id}
            effects.append(
                Effect("task", item.task_id, "distribution.accepted", accepted)
            )
        return effects

    def _time_out(self, item: WaitingItem, now: datetime) -> list[Effect]:
        agent = self.agents[item.agent_id]
        offer_id = item.offer_id
        log.info("offer %s to %s timed out: RONA", offer_id, agent.agent_id)
        effects = [
            Effect(
                "task",
                item.task_id,
                "distribution.offer_timed_out",
                DecisionOfferTimedOut(agent_id=agent.agent_id, offer_id=offer_id),
            ),
            self._withdrawn(agent.agent_id, item, "offer timed out"),
        ]
        effects += self._requeue(item, agent, None, now)
        effects += self.not_ready(agent.agent_id, NotReadyReason.RONA, now)
        return effects

    def _requeue(
        self, item: WaitingItem, agent: AgentRecord, reason: str | None, now: datetime
    ) -> list[Effect]:
        """Take an item back from an employee and put it back in the backlog."""
        effects = []
        if reason is not None:
            effects.append(self._withdrawn(agent.agent_id, item, reason))
            if item.offer_id is not None and not item.accepted:
                body = DecisionRejected(agent_id=agent.agent_id, offer_id=item.offer_id)
                effects.append(
                    Effect("task", item.task_id, "distribution.rejected", body)
                )
        item.rejected_by = agent.agent_id
        item.rejected_until = now + self.offer_timeout
        item.agent_id = None
        item.offer_id = None
        item.accepted = False
        item.offer_expires_at = None
        self._touch_item(item.task_id)
        self._release(agent, item.task_id, now)
        self._index(item, now)
        # Tiers due while the item was offered apply as it comes back.
        effects += self._widen_if_due(item, now)
        return effects

    def _release(self, agent: AgentRecord, task_id: str, now: datetime) -> None:
        agent.in_hand.pop(task_id, None)
        if not agent.in_hand:
            agent.free_since = now
        self._touch_agent(agent.agent_id)

    def _withdrawn(self, agent_id: str, item: WaitingItem, reason: str) -> Effect:
        body = OfferWithdrawn(
            task_id=item.task_id, offer_id=item.offer_id or "", reason=reason
        )
        return Effect("assignment", agent_id, "assignment.offer_withdrawn", body)

    def _known_agent(self, agent_id: str) -> AgentRecord | None:
        agent = self.agents.get(agent_id)
        if agent is None or agent.status == "logged_out":
            log.info("ignored command for agent %s: not logged in", agent_id)
            return None
        return agent

    def _touch_item(self, task_id: str) -> None:
        self.dirty_items.add(task_id)

    def _touch_agent(self, agent_id: str) -> None:
        """Mark an agent changed, keeping the free agents and open queues current."""
        self.dirty_agents.add(agent_id)
        agent = self.agents.get(agent_id)
        if agent is None:
            return
        ready = agent.status == "ready"
        rooms = agent.rooms()
        if ready and any(rooms.values()):
            self.free_agents[agent_id] = agent
        else:
            self.free_agents.pop(agent_id, None)
        for queue in self._skill_queues_of(agent):
            if ready and rooms[self.queue_targets[queue][1]]:
                self.queue_free[queue].add(agent_id)
                self.open_queues.add(queue)
            else:
                self._close(queue, agent_id)

    def _close(self, queue: str, agent_id: str) -> None:
        """Take an employee off a queue's free list."""
        free = self.queue_free[queue]
        free.discard(agent_id)
        if not free:
            self.open_queues.discard(queue)


def _deadlines_of(item: WaitingItem) -> tuple[datetime, ...]:
    """Return the moments at which something happens to the item by itself."""
    moments = (item.offer_expires_at, item.rejected_until, item.widen_at)
    return tuple(moment for moment in moments if moment is not None)


def _meets(agent: AgentRecord, target: Target) -> bool:
    return qualifies(target, agent.agent_id, agent.skills, frozenset(agent.groups))


def distributor_for(domain: str, rules: RuleSet) -> Distributor:
    """Build an empty distributor with the routing settings of a rule set."""
    distributor = Distributor(domain=domain, offer_timeout=timedelta(0))
    distributor.configure(rules)
    return distributor
