"""The task aggregate: decides task events from commands and folds them into state.

`decide` takes the current state, a command and the time, and returns the
events plus the routing requests for the distributor. `evolve` applies one
event to a state; the live processor and `history` both fold with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from processors.domain.classification import Classification, classify
from processors.domain.priority import priority_at
from schemas.calendar import Calendar
from schemas.capture import MAX_ITEM_ATTRIBUTE_BYTES, CaptureCommand, task_id_for
from schemas.distribution import (
    DecisionAccepted,
    DecisionMarkedDone,
    DecisionOffered,
    DecisionOfferTimedOut,
    DecisionPriorityChanged,
    DecisionRejected,
    DecisionWidened,
    RouteTask,
    WithdrawTask,
)
from schemas.routing import PriorityScheme, Target, Tier
from schemas.rules import RuleSet
from schemas.tasks import (
    TaskAccepted,
    TaskCancelled,
    TaskCaptured,
    TaskClassified,
    TaskCompleted,
    TaskMarkedDone,
    TaskOffered,
    TaskOfferTimedOut,
    TaskPrioritised,
    TaskQueued,
    TaskRejected,
    TaskRestarted,
    TaskUpdated,
    TaskWidened,
)

__all__ = ["Decision", "Outcome", "TaskState", "decide", "evolve"]

Status = Literal["queued", "offered", "assigned", "done", "completed", "cancelled"]
TERMINAL = ("completed", "cancelled")
# Capture and decision ids remembered per item to drop resent copies.
_DEDUPE_WINDOW = 256


class TaskState(BaseModel):
    """Current state of one task, rebuilt by folding its events."""

    model_config = ConfigDict(frozen=True)

    task_id: str
    status: Status = "queued"
    source_system: str = ""
    external_id: str = ""
    media: str = "workitem"
    routing_domain: str = "default"
    source_status: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    captured_at: datetime | None = None
    sla_started_at: datetime | None = Field(
        default=None, description="Start of the SLA: capture, or the last restart"
    )
    queued_at: datetime | None = None
    due_at: datetime | None = None
    source_due_at: datetime | None = None
    initial_priority: int | None = None
    preferred_agent: str | None = None
    source_department: str | None = None
    source_process: str | None = None
    department: str | None = None
    process: str | None = None
    rule: str | None = None
    scheme: PriorityScheme | None = None
    priority_adjustment: int = 0
    calendar: Calendar | None = None
    target: Target | None = None
    tiers: tuple[Tier, ...] = ()
    tier: int = 0
    queue: str | None = None
    priority: int | None = None
    agent_id: str | None = None
    offer_id: str | None = None
    offers: int = 0
    completed_at: datetime | None = None
    completed_by: str | None = None
    rule_set_version: int | None = None
    events: int = 0
    seen_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decision:
    """A distributor decision about one task, as received by the aggregate."""

    event_id: str
    body: (
        DecisionOffered
        | DecisionAccepted
        | DecisionRejected
        | DecisionOfferTimedOut
        | DecisionMarkedDone
        | DecisionWidened
        | DecisionPriorityChanged
    )


@dataclass
class Outcome:
    events: list[tuple[str, BaseModel]] = field(default_factory=list)
    requests: list[tuple[str, BaseModel]] = field(default_factory=list)
    state: TaskState | None = None
    duplicate: bool = False
    # Why the capture was not applied, when it was not.
    rejection: str | None = None


def decide(
    state: TaskState | None,
    command: CaptureCommand | Decision,
    now: datetime,
    rules: RuleSet,
) -> Outcome:
    """Decide the events one command causes; the returned state has them applied."""
    command_id = (
        command.capture_id if isinstance(command, CaptureCommand) else command.event_id
    )
    if state is not None and command_id in state.seen_ids:
        return Outcome(state=state, duplicate=True)

    builder = _Builder(state, now, rules)
    if isinstance(command, CaptureCommand):
        builder.capture(command)
    else:
        builder.decision(command.body)
    outcome = builder.outcome
    if outcome.state is not None:
        seen = (*outcome.state.seen_ids, command_id)[-_DEDUPE_WINDOW:]
        outcome.state = outcome.state.model_copy(update={"seen_ids": seen})
    return outcome


class _Builder:
    """Collects events for one command, applying each to the state at once."""

    def __init__(self, state: TaskState | None, now: datetime, rules: RuleSet) -> None:
        self.now = now
        self.rules = rules
        self.outcome = Outcome(state=state)

    @property
    def state(self) -> TaskState | None:
        return self.outcome.state

    def emit(self, event_type: str, body: BaseModel) -> None:
        self.outcome.events.append((event_type, body))
        self.outcome.state = evolve(
            self.outcome.state, event_type, body, self.now, self.rules.version
        )

    def request(self, request_type: str, body: BaseModel) -> None:
        self.outcome.requests.append((request_type, body))

    # Captures from source systems.

    def capture(self, command: CaptureCommand) -> None:
        if self.state is None:
            if command.type != "create":
                return  # NOTE: the capture processor rejects these as unknown_item.
            self.create(command)
            return
        match command.type:
            case "create" | "update":
                self.update(command)
            case "complete":
                self.complete(command)
            case "cancel":
                self.cancel(command)
            case "restart":
                self.restart(command)

    def create(self, command: CaptureCommand) -> None:
        self.emit(
            "task.captured",
            TaskCaptured(
                source_system=command.source_system,
                external_id=command.external_id,
                capture_id=command.capture_id,
                media=command.media,
                routing_domain=command.routing_domain,
                status=command.status,
                due_at=command.due_at,
                activate_at=command.activate_at,
                priority=command.priority,
                preferred_agent=command.preferred_agent,
                department=command.department,
                process=command.process,
                attributes=command.attributes,
            ),
        )
        self.classify_and_queue()

    def too_large(self, command: CaptureCommand) -> bool:
        """Record a rejection when the merged attributes would exceed the limit."""
        merged = {**self.state.attributes, **command.attributes}
        size = len(orjson.dumps(merged))
        if size <= MAX_ITEM_ATTRIBUTE_BYTES:
            return False
        self.outcome.rejection = (
            f"the item's attributes would grow to {size} bytes, above the limit "
            f"of {MAX_ITEM_ATTRIBUTE_BYTES}; send smaller attributes or keep large "
            "content in the source system"
        )
        return True

    def update(self, command: CaptureCommand) -> None:
        if self.too_large(command):
            return
        self.emit(
            "task.updated",
            TaskUpdated(
                capture_id=command.capture_id,
                status=command.status,
                due_at=command.due_at,
                attributes=command.attributes,
            ),
        )
        if self.state.status != "queued":
            return  # NOTE: items in an employee's hands keep their routing.
        before = (self.state.target, self.state.scheme, self.state.due_at)
        classification = self._classification()
        after = (classification.target, classification.scheme, classification.due_at)
        if before != after:
            self.classify_and_queue(classification)

    def complete(self, command: CaptureCommand) -> None:
        if self.state.status in TERMINAL:
            return
        was = self.state.status
        self.emit(
            "task.completed",
            TaskCompleted(
                capture_id=command.capture_id,
                status=command.status,
                agent_id=self.state.agent_id,
            ),
        )
        self.request(
            "route.withdraw",
            WithdrawTask(task_id=self.state.task_id, reason=f"completed while {was}"),
        )

    def cancel(self, command: CaptureCommand) -> None:
        if self.state.status in TERMINAL:
            return
        was = self.state.status
        self.emit(
            "task.cancelled",
            TaskCancelled(capture_id=command.capture_id, status=command.status),
        )
        self.request(
            "route.withdraw",
            WithdrawTask(task_id=self.state.task_id, reason=f"cancelled while {was}"),
        )

    def restart(self, command: CaptureCommand) -> None:
        if self.state.status not in TERMINAL:
            self.update(command)
            return
        if self.too_large(command):
            return
        self.emit(
            "task.restarted",
            TaskRestarted(capture_id=command.capture_id, status=command.status),
        )
        if command.attributes or command.due_at is not None:
            self.emit(
                "task.updated",
                TaskUpdated(
                    capture_id=command.capture_id,
                    due_at=command.due_at,
                    attributes=command.attributes,
                ),
            )
        self.classify_and_queue()

    # Classification, priority and routing.

    def _classification(self) -> Classification:
        state = self.state
        attributes = {
            **state.attributes,
            "source_system": state.source_system,
            "media": state.media,
        }
        sla_start = state.sla_started_at or state.captured_at or self.now
        return classify(self.rules, attributes, sla_start, state.source_due_at)

    def classify_and_queue(self, classification: Classification | None = None) -> None:
        state = self.state
        classification = classification or self._classification()
        self.emit(
            "task.classified",
            TaskClassified(
                department=state.source_department or classification.department,
                process=state.source_process or classification.process,
                rule=classification.rule,
                scheme=classification.scheme,
                target=classification.target,
                tiers=classification.tiers,
                due_at=classification.due_at,
                priority_adjustment=classification.priority_adjustment,
                calendar=classification.calendar,
            ),
        )
        priority = priority_at(
            classification.scheme,
            self.now,
            classification.due_at,
            self.now,
            self.state.initial_priority,
            adjustment=classification.priority_adjustment,
            calendar=classification.calendar,
        )
        self.emit(
            "task.prioritised",
            TaskPrioritised(priority=priority, scheme=classification.scheme.name),
        )
        self.emit(
            "task.queued",
            TaskQueued(queue=classification.target.key, priority=priority),
        )
        self.request("route.task", self._route_request())

    def _route_request(self) -> RouteTask:
        state = self.state
        target, tiers = self._targets()
        return RouteTask(
            task_id=state.task_id,
            media=state.media,
            target=target,
            tiers=tiers,
            scheme=state.scheme,
            priority_start_at=state.queued_at,
            queued_at=state.queued_at,
            due_at=state.due_at,
            initial_priority=state.initial_priority,
            priority_adjustment=state.priority_adjustment,
            calendar=state.calendar,
            preferred_agent=state.preferred_agent,
            summary={
                "department": state.department,
                "process": state.process,
                "source_system": state.source_system,
                "external_id": state.external_id,
                **{k: v for k, v in state.attributes.items() if k in _SUMMARY_KEYS},
            },
        )

    def _targets(self) -> tuple[Target, tuple[Tier, ...]]:
        """Return the primary target and tiers; a preferred employee comes
        first, for a share of the SLA, then the classified targets."""
        state = self.state
        if state.preferred_agent is None:
            return state.target, state.tiers
        wait = self.rules.preferred_agent_wait_seconds
        if state.due_at is not None and state.queued_at is not None:
            sla = max(0.0, (state.due_at - state.queued_at).total_seconds())
            wait = sla * self.rules.preferred_agent_wait_percent / 100
        later = tuple(
            Tier(target=tier.target, after_seconds=tier.after_seconds + wait)
            for tier in state.tiers
        )
        first = Tier(target=state.target, after_seconds=wait)
        return Target(agent_id=state.preferred_agent), (first, *later)

    # Decisions from the distributor.

    def decision(self, body: BaseModel) -> None:
        state = self.state
        if state is None:
            return
        match body:
            case DecisionOffered() if state.status == "queued":
                self.emit(
                    "task.offered",
                    TaskOffered(
                        agent_id=body.agent_id,
                        offer_id=body.offer_id,
                        expires_at=body.expires_at,
                    ),
                )
            case DecisionAccepted() if self._is_current_offer(body.offer_id):
                self.emit(
                    "task.accepted",
                    TaskAccepted(agent_id=body.agent_id, offer_id=body.offer_id),
                )
            case DecisionRejected() if self._is_current_offer(body.offer_id):
                self.emit(
                    "task.rejected",
                    TaskRejected(agent_id=body.agent_id, offer_id=body.offer_id),
                )
            case DecisionOfferTimedOut() if self._is_current_offer(body.offer_id):
                self.emit(
                    "task.offer_timed_out",
                    TaskOfferTimedOut(agent_id=body.agent_id, offer_id=body.offer_id),
                )
            case DecisionPriorityChanged() if state.status == "queued":
                scheme = state.scheme.name if state.scheme else ""
                self.emit(
                    "task.prioritised",
                    TaskPrioritised(
                        priority=body.priority,
                        scheme=scheme,
                        changed_at=body.changed_at,
                    ),
                )
            case DecisionWidened() if state.status == "queued":
                self.emit("task.widened", TaskWidened(tier=body.tier, queue=body.queue))
            case DecisionMarkedDone() if (
                state.status == "assigned" and state.agent_id == body.agent_id
            ):
                self.emit("task.marked_done", TaskMarkedDone(agent_id=body.agent_id))

    def _is_current_offer(self, offer_id: str) -> bool:
        return self.state.status == "offered" and self.state.offer_id == offer_id


_SUMMARY_KEYS = (
    "short_description",
    "category",
    "priority_label",
    "customer_segment",
    "assignment_group",
)


def evolve(
    state: TaskState | None,
    event_type: str,
    body: BaseModel,
    time: datetime,
    rule_set_version: int | None = None,
) -> TaskState:
    """Apply one task event to the state."""
    if state is None:
        if not isinstance(body, TaskCaptured):
            raise ValueError(
                f"the first event of a task must be task.captured, got {event_type}"
            )
        return _captured(body, time)

    changes: dict[str, Any] = {"events": state.events + 1}
    match body:
        case TaskUpdated():
            changes["attributes"] = {**state.attributes, **body.attributes}
            if body.status is not None:
                changes["source_status"] = body.status
            if body.due_at is not None:
                changes["source_due_at"] = body.due_at
        case TaskClassified():
            changes.update(
                department=body.department,
                process=body.process,
                rule=body.rule,
                scheme=body.scheme,
                target=body.target,
                tiers=body.tiers,
                tier=0,
                due_at=body.due_at,
                priority_adjustment=body.priority_adjustment,
                calendar=body.calendar,
                rule_set_version=rule_set_version,
            )
        case TaskPrioritised():
            changes["priority"] = body.priority
        case TaskQueued():
            changes.update(
                status="queued",
                queue=body.queue,
                priority=body.priority,
                queued_at=time,
                agent_id=None,
                offer_id=None,
            )
        case TaskOffered():
            changes.update(
                status="offered",
                agent_id=body.agent_id,
                offer_id=body.offer_id,
                offers=state.offers + 1,
            )
        case TaskAccepted():
            changes.update(status="assigned")
        case TaskRejected() | TaskOfferTimedOut():
            changes.update(status="queued", agent_id=None, offer_id=None)
        case TaskWidened():
            changes.update(tier=body.tier, queue=body.queue)
        case TaskMarkedDone():
            changes.update(status="done")
        case TaskCompleted():
            changes.update(
                status="completed",
                completed_at=time,
                completed_by=body.agent_id,
                source_status=body.status or state.source_status,
            )
        case TaskCancelled():
            changes.update(
                status="cancelled",
                completed_at=time,
                source_status=body.status or state.source_status,
            )
        case TaskRestarted():
            # A reopened item gets a new SLA: the old source due date is gone
            # unless the restart sends a new one.
            changes.update(
                sla_started_at=time,
                source_due_at=None,
                completed_at=None,
                completed_by=None,
                agent_id=None,
                offer_id=None,
                source_status=body.status or state.source_status,
            )
        case _:
            raise ValueError(f"unknown task event {event_type}")
    return state.model_copy(update=changes)


def _captured(body: TaskCaptured, time: datetime) -> TaskState:
    return TaskState(
        task_id=task_id_for(body.source_system, body.external_id),
        source_system=body.source_system,
        external_id=body.external_id,
        media=body.media,
        routing_domain=body.routing_domain,
        source_status=body.status,
        attributes=dict(body.attributes),
        captured_at=time,
        sla_started_at=time,
        queued_at=time,
        source_due_at=body.due_at,
        initial_priority=body.priority,
        preferred_agent=body.preferred_agent,
        source_department=body.department,
        source_process=body.process,
        events=1,
    )
