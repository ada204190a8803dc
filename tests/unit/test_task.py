"""Unit and property tests of the task aggregate: decide and evolve."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processors.domain.rulesets import default_rules
from processors.domain.task import Decision, Outcome, TaskState, decide, evolve
from schemas.capture import CaptureCommand
from schemas.distribution import (
    DecisionAccepted,
    DecisionMarkedDone,
    DecisionOffered,
    DecisionOfferTimedOut,
    DecisionPriorityChanged,
    DecisionRejected,
    RouteTask,
    WithdrawTask,
)
from schemas.routing import SkillRequirement, Target
from schemas.tasks import TaskCaptured

RULES = default_rules()
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
TASK_ID = "servicenow:INC0001"
QUEUE_EVENTS = ["task.classified", "task.prioritised", "task.queued"]


def capture(
    kind: str, capture_id: str, *, at: datetime = T0, **fields: Any
) -> CaptureCommand:
    return CaptureCommand(
        type=kind,
        capture_id=capture_id,
        source_system="servicenow",
        external_id="INC0001",
        occurred_at=at,
        **fields,
    )


def critical(group: str = "Network", **fields: Any) -> CaptureCommand:
    attributes = {"priority_label": "1 - Critical", "assignment_group": group}
    return capture("create", "c-create", attributes=attributes, **fields)


def event_types(outcome: Outcome) -> list[str]:
    return [event_type for event_type, _ in outcome.events]


def request_types(outcome: Outcome) -> list[str]:
    return [request_type for request_type, _ in outcome.requests]


def offered(event_id: str, offer_id: str, agent: str = "a1") -> Decision:
    body = DecisionOffered(
        agent_id=agent, offer_id=offer_id, expires_at=T0 + timedelta(minutes=10)
    )
    return Decision(event_id=event_id, body=body)


def accepted(event_id: str, offer_id: str, agent: str = "a1") -> Decision:
    return Decision(event_id, DecisionAccepted(agent_id=agent, offer_id=offer_id))


def rejected(event_id: str, offer_id: str, agent: str = "a1") -> Decision:
    return Decision(event_id, DecisionRejected(agent_id=agent, offer_id=offer_id))


def timed_out(event_id: str, offer_id: str, agent: str = "a1") -> Decision:
    body = DecisionOfferTimedOut(agent_id=agent, offer_id=offer_id)
    return Decision(event_id, body)


def marked_done(event_id: str, agent: str = "a1") -> Decision:
    return Decision(event_id, DecisionMarkedDone(agent_id=agent))


def created(at: datetime = T0, **fields: Any) -> TaskState:
    state = decide(None, critical(**fields), at, RULES).state
    assert state is not None
    return state


def assigned(at: datetime = T0) -> TaskState:
    state = created(at)
    state = decide(state, offered("d1", "X#1"), at, RULES).state
    return decide(state, accepted("d2", "X#1"), at, RULES).state


def completed() -> TaskState:
    return decide(created(), capture("complete", "c-done"), T0, RULES).state


# Create.


def test_create_emits_queue_events() -> None:
    outcome = decide(None, critical(), T0, RULES)

    assert event_types(outcome) == ["task.captured", *QUEUE_EVENTS]
    assert request_types(outcome) == ["route.task"]
    assert outcome.duplicate is False


def test_create_state() -> None:
    state = decide(None, critical(), T0, RULES).state

    assert state.task_id == TASK_ID
    assert state.status == "queued"
    assert state.department == "IT Operations"
    assert state.process == "Incident"
    assert state.rule == "incident-critical"
    assert state.rule_set_version == 1
    assert state.queue == "Network>=1"
    assert state.priority == 700
    assert state.due_at == T0 + timedelta(hours=4)
    assert state.captured_at == T0
    assert state.sla_started_at == T0
    assert state.queued_at == T0
    assert state.events == 4
    assert state.seen_ids == ("c-create",)


def test_create_route_request() -> None:
    outcome = decide(None, critical(), T0, RULES)
    request = outcome.requests[0][1]

    assert isinstance(request, RouteTask)
    assert request.task_id == TASK_ID
    assert request.media == "workitem"
    assert request.target == Target(skills=(SkillRequirement(skill="Network"),))
    assert request.scheme.name == "incident-critical"
    assert request.priority_start_at == T0
    assert request.queued_at == T0
    assert request.due_at == T0 + timedelta(hours=4)
    assert request.initial_priority is None
    assert request.summary == {
        "department": "IT Operations",
        "process": "Incident",
        "source_system": "servicenow",
        "external_id": "INC0001",
        "priority_label": "1 - Critical",
        "assignment_group": "Network",
    }


def test_create_with_source_values() -> None:
    command = critical(
        priority=950,
        department="Security",
        process="Breach",
        preferred_agent="a9",
        media="chat",
    )
    outcome = decide(None, command, T0, RULES)
    state = outcome.state
    request = outcome.requests[0][1]

    assert state.priority == 950
    assert state.department == "Security"
    assert state.process == "Breach"
    assert request.initial_priority == 950
    assert request.preferred_agent == "a9"
    assert request.media == "chat"


def test_source_due_date_kept() -> None:
    due = T0 + timedelta(minutes=45)
    state = created(due_at=due)

    assert state.due_at == due
    assert state.source_due_at == due


def test_update_of_unknown_item_ignored() -> None:
    outcome = decide(None, capture("update", "c-up"), T0, RULES)

    assert outcome.state is None
    assert outcome.events == []
    assert outcome.requests == []


# Duplicates.


def test_duplicate_capture_is_noop() -> None:
    state = created()
    outcome = decide(state, critical(group="Database"), T0 + timedelta(hours=1), RULES)

    assert outcome.duplicate is True
    assert outcome.events == []
    assert outcome.requests == []
    assert outcome.state == state


def test_duplicate_decision_is_noop() -> None:
    state = decide(created(), offered("d1", "X#1"), T0, RULES).state
    outcome = decide(state, offered("d1", "X#1"), T0, RULES)

    assert outcome.duplicate is True
    assert outcome.events == []
    assert outcome.state.offers == 1


# Updates.


def test_update_reroutes_queued_item() -> None:
    later = T0 + timedelta(minutes=20)
    command = capture("update", "c-up", attributes={"assignment_group": "Database"})
    outcome = decide(created(), command, later, RULES)

    assert event_types(outcome) == ["task.updated", *QUEUE_EVENTS]
    assert request_types(outcome) == ["route.task"]
    assert outcome.state.queue == "Database>=1"
    assert outcome.requests[0][1].target.key == "Database>=1"
    assert outcome.state.attributes["priority_label"] == "1 - Critical"


def test_update_changing_scheme() -> None:
    command = capture("update", "c-up", attributes={"priority_label": "2 - High"})
    outcome = decide(created(), command, T0, RULES)

    assert outcome.state.rule == "incident-high"
    assert outcome.state.priority == 500
    assert outcome.requests[0][1].scheme.name == "incident-high"


def test_update_same_time_no_reroute() -> None:
    command = capture("update", "c-up", attributes={"category": "Hardware"})
    outcome = decide(created(), command, T0, RULES)

    assert event_types(outcome) == ["task.updated"]
    assert outcome.requests == []
    assert outcome.state.attributes["category"] == "Hardware"


def test_unchanged_update_no_reroute() -> None:
    later = T0 + timedelta(hours=3)
    command = capture("update", "c-up", attributes={"category": "Hardware"})
    outcome = decide(created(), command, later, RULES)

    assert event_types(outcome) == ["task.updated"]
    assert outcome.requests == []


def test_reroute_keeps_sla_due_date() -> None:
    later = T0 + timedelta(hours=3)
    command = capture("update", "c-up", attributes={"assignment_group": "Database"})
    outcome = decide(created(), command, later, RULES)

    assert outcome.state.due_at == T0 + timedelta(hours=4)


def test_update_sets_source_due() -> None:
    due = T0 + timedelta(hours=1)
    command = capture("update", "c-up", due_at=due, status="Active")
    outcome = decide(created(), command, T0, RULES)

    assert event_types(outcome) == ["task.updated", *QUEUE_EVENTS]
    assert outcome.state.due_at == due
    assert outcome.state.source_status == "Active"


def test_update_of_assigned_item_keeps_route() -> None:
    state = assigned()
    command = capture("update", "c-up", attributes={"assignment_group": "Database"})
    outcome = decide(state, command, T0 + timedelta(minutes=5), RULES)

    assert event_types(outcome) == ["task.updated"]
    assert outcome.requests == []
    assert outcome.state.status == "assigned"
    assert outcome.state.queue == "Network>=1"
    assert outcome.state.attributes["assignment_group"] == "Database"


def test_create_of_known_item_updates() -> None:
    command = capture("create", "c-again", attributes={"assignment_group": "Database"})
    outcome = decide(created(), command, T0, RULES)

    assert event_types(outcome) == ["task.updated", *QUEUE_EVENTS]
    assert outcome.state.queue == "Database>=1"


# Complete, cancel and restart.


def test_complete_withdraws_item() -> None:
    later = T0 + timedelta(hours=1)
    command = capture("complete", "c-done", status="Resolved")
    outcome = decide(created(), command, later, RULES)

    assert event_types(outcome) == ["task.completed"]
    assert request_types(outcome) == ["route.withdraw"]
    assert outcome.requests[0][1] == WithdrawTask(
        task_id=TASK_ID, reason="completed while queued"
    )
    assert outcome.state.status == "completed"
    assert outcome.state.completed_at == later
    assert outcome.state.completed_by is None
    assert outcome.state.source_status == "Resolved"


def test_complete_records_agent() -> None:
    outcome = decide(assigned(), capture("complete", "c-done"), T0, RULES)

    assert outcome.state.completed_by == "a1"
    assert outcome.requests[0][1].reason == "completed while assigned"


def test_second_complete_is_noop() -> None:
    state = completed()
    outcome = decide(state, capture("complete", "c-done-2"), T0, RULES)

    assert outcome.events == []
    assert outcome.requests == []
    assert outcome.duplicate is False
    assert outcome.state.status == "completed"


def test_cancel_withdraws_item() -> None:
    command = capture("cancel", "c-cancel", status="Closed")
    outcome = decide(created(), command, T0, RULES)

    assert event_types(outcome) == ["task.cancelled"]
    assert outcome.requests[0][1] == WithdrawTask(
        task_id=TASK_ID, reason="cancelled while queued"
    )
    assert outcome.state.status == "cancelled"
    assert outcome.state.source_status == "Closed"


def test_cancel_after_complete_is_noop() -> None:
    outcome = decide(completed(), capture("cancel", "c-cancel"), T0, RULES)

    assert outcome.events == []
    assert outcome.requests == []
    assert outcome.state.status == "completed"


def test_restart_requeues_completed_item() -> None:
    later = T0 + timedelta(days=2)
    command = capture("restart", "c-restart", status="Active")
    outcome = decide(completed(), command, later, RULES)

    assert event_types(outcome) == ["task.restarted", *QUEUE_EVENTS]
    assert request_types(outcome) == ["route.task"]
    assert outcome.state.status == "queued"
    assert outcome.state.completed_at is None
    assert outcome.state.queued_at == later
    assert outcome.state.source_status == "Active"
    assert outcome.requests[0][1].queued_at == later


def test_restart_with_attributes() -> None:
    command = capture(
        "restart", "c-restart", attributes={"assignment_group": "Database"}
    )
    outcome = decide(completed(), command, T0, RULES)

    assert event_types(outcome) == ["task.restarted", "task.updated", *QUEUE_EVENTS]
    assert outcome.state.queue == "Database>=1"


def test_restart_of_cancelled_item() -> None:
    state = decide(created(), capture("cancel", "c-cancel"), T0, RULES).state
    outcome = decide(state, capture("restart", "c-restart"), T0, RULES)

    assert outcome.state.status == "queued"
    assert request_types(outcome) == ["route.task"]


def test_restart_of_open_item_updates() -> None:
    command = capture("restart", "c-restart", attributes={"category": "Disk"})
    outcome = decide(created(), command, T0, RULES)

    assert event_types(outcome) == ["task.updated"]
    assert outcome.state.attributes["category"] == "Disk"


def test_restart_applies_new_due_date() -> None:
    new_due = T0 + timedelta(days=3)
    command = capture("restart", "c-restart", due_at=new_due)
    outcome = decide(completed(), command, T0 + timedelta(days=2), RULES)

    assert outcome.state.due_at == new_due


def test_restart_restarts_sla() -> None:
    later = T0 + timedelta(days=2)
    outcome = decide(completed(), capture("restart", "c-restart"), later, RULES)

    assert outcome.state.sla_started_at == later
    assert outcome.state.due_at == later + timedelta(hours=4)
    assert outcome.requests[0][1].due_at == later + timedelta(hours=4)


def test_reroute_keeps_restarted_sla() -> None:
    restarted_at = T0 + timedelta(days=2)
    state = decide(completed(), capture("restart", "c-restart"), restarted_at, RULES)
    command = capture("update", "c-up", attributes={"assignment_group": "Database"})
    outcome = decide(state.state, command, restarted_at + timedelta(hours=3), RULES)

    assert outcome.state.queue == "Database>=1"
    assert outcome.state.due_at == restarted_at + timedelta(hours=4)


# Decisions from the distributor.


def test_offer_moves_to_offered() -> None:
    outcome = decide(created(), offered("d1", "X#1"), T0, RULES)

    assert event_types(outcome) == ["task.offered"]
    assert outcome.requests == []
    assert outcome.state.status == "offered"
    assert outcome.state.agent_id == "a1"
    assert outcome.state.offer_id == "X#1"
    assert outcome.state.offers == 1


def test_second_offer_ignored() -> None:
    state = decide(created(), offered("d1", "X#1"), T0, RULES).state
    outcome = decide(state, offered("d2", "X#2", agent="a2"), T0, RULES)

    assert outcome.events == []
    assert outcome.state.offer_id == "X#1"


def test_accept_moves_to_assigned() -> None:
    state = decide(created(), offered("d1", "X#1"), T0, RULES).state
    outcome = decide(state, accepted("d2", "X#1"), T0, RULES)

    assert event_types(outcome) == ["task.accepted"]
    assert outcome.state.status == "assigned"
    assert outcome.state.agent_id == "a1"


def test_reject_moves_to_queued() -> None:
    state = decide(created(), offered("d1", "X#1"), T0, RULES).state
    outcome = decide(state, rejected("d2", "X#1"), T0, RULES)

    assert event_types(outcome) == ["task.rejected"]
    assert outcome.state.status == "queued"
    assert outcome.state.agent_id is None
    assert outcome.state.offer_id is None


def test_timeout_moves_to_queued() -> None:
    state = decide(created(), offered("d1", "X#1"), T0, RULES).state
    outcome = decide(state, timed_out("d2", "X#1"), T0, RULES)

    assert event_types(outcome) == ["task.offer_timed_out"]
    assert outcome.state.status == "queued"
    assert outcome.state.offer_id is None


@pytest.mark.parametrize("stale", [accepted, rejected, timed_out])
def test_stale_offer_id_ignored(stale: Any) -> None:
    state = decide(created(), offered("d1", "X#2"), T0, RULES).state
    outcome = decide(state, stale("d2", "X#1"), T0, RULES)

    assert outcome.events == []
    assert outcome.state.status == "offered"
    assert outcome.state.offer_id == "X#2"


def test_accept_without_offer_ignored() -> None:
    outcome = decide(created(), accepted("d1", "X#1"), T0, RULES)

    assert outcome.events == []
    assert outcome.state.status == "queued"


def test_marked_done_moves_to_done() -> None:
    outcome = decide(assigned(), marked_done("d3"), T0, RULES)

    assert event_types(outcome) == ["task.marked_done"]
    assert outcome.state.status == "done"


def test_marked_done_by_other_ignored() -> None:
    outcome = decide(assigned(), marked_done("d3", agent="a2"), T0, RULES)

    assert outcome.events == []
    assert outcome.state.status == "assigned"


def test_marked_done_before_accept_ignored() -> None:
    state = decide(created(), offered("d1", "X#1"), T0, RULES).state
    outcome = decide(state, marked_done("d2"), T0, RULES)

    assert outcome.events == []
    assert outcome.state.status == "offered"


def test_decision_for_unknown_item() -> None:
    outcome = decide(None, offered("d1", "X#1"), T0, RULES)

    assert outcome.state is None
    assert outcome.events == []


def test_done_item_completes() -> None:
    state = decide(assigned(), marked_done("d3"), T0, RULES).state
    outcome = decide(state, capture("complete", "c-done"), T0, RULES)

    assert outcome.state.status == "completed"
    assert outcome.requests[0][1].reason == "completed while done"


# evolve on its own.


def test_evolve_needs_captured_first() -> None:
    body = DecisionAccepted(agent_id="a1", offer_id="X#1")

    with pytest.raises(ValueError, match="must be task.captured"):
        evolve(None, "task.accepted", body, T0)


def test_evolve_rejects_unknown_event() -> None:
    state = evolve(
        None,
        "task.captured",
        TaskCaptured(
            source_system="servicenow",
            external_id="INC0001",
            capture_id="c1",
            media="workitem",
            routing_domain="default",
        ),
        T0,
    )

    with pytest.raises(ValueError, match="unknown task event"):
        evolve(state, "route.task", WithdrawTask(task_id=TASK_ID, reason="x"), T0)


def test_seen_ids_window_bounded() -> None:
    state = created()
    for number in range(300):
        command = capture("update", f"c-{number}")
        state = decide(state, command, T0, RULES).state

    assert len(state.seen_ids) == 256
    assert state.seen_ids[-1] == "c-299"
    assert "c-43" not in state.seen_ids
    assert "c-44" in state.seen_ids


# Property: folding the emitted events reproduces the decided state.

groups = st.sampled_from(["Network", "Database", ""])
labels = st.sampled_from(["1 - Critical", "2 - High", "4 - Low"])
offer_ids = st.sampled_from(["X#1", "X#2", "X#3"])
agents = st.sampled_from(["a1", "a2"])


@st.composite
def commands(draw: st.DrawFn, number: int) -> CaptureCommand | Decision:
    kind = draw(
        st.sampled_from(
            [
                "create",
                "update",
                "complete",
                "cancel",
                "restart",
                "offered",
                "accepted",
                "rejected",
                "timed_out",
                "marked_done",
            ]
        )
    )
    # A small id pool makes some commands repeat an earlier id.
    event_id = f"id-{draw(st.integers(0, max(number, 1)))}"
    if kind in ("offered", "accepted", "rejected", "timed_out"):
        build_decision = {
            "offered": offered,
            "accepted": accepted,
            "rejected": rejected,
            "timed_out": timed_out,
        }[kind]
        return build_decision(event_id, draw(offer_ids), agent=draw(agents))
    if kind == "marked_done":
        return marked_done(event_id, agent=draw(agents))
    attributes = draw(
        st.fixed_dictionaries(
            {}, optional={"assignment_group": groups, "priority_label": labels}
        )
    )
    due = draw(st.none() | st.integers(1, 48).map(lambda h: T0 + timedelta(hours=h)))
    status = draw(st.none() | st.sampled_from(["New", "Active", "Resolved"]))
    return capture(kind, event_id, attributes=attributes, due_at=due, status=status)


@st.composite
def histories(draw: st.DrawFn) -> list[tuple[CaptureCommand | Decision, int]]:
    size = draw(st.integers(1, 25))
    return [
        (draw(commands(number)), draw(st.integers(0, 7200))) for number in range(size)
    ]


@settings(max_examples=200, deadline=None)
@given(histories())
def test_fold_reproduces_state(
    history: list[tuple[CaptureCommand | Decision, int]],
) -> None:
    now = T0
    state: TaskState | None = None
    folded: TaskState | None = None
    for command, advance in history:
        now += timedelta(seconds=advance)
        outcome = decide(state, command, now, RULES)
        for event_type, body in outcome.events:
            folded = evolve(folded, event_type, body, now, RULES.version)
        state = outcome.state

        if state is None:
            assert folded is None
            continue
        assert folded is not None
        assert folded.model_dump(exclude={"seen_ids"}) == state.model_dump(
            exclude={"seen_ids"}
        )
        assert state.events == folded.events


@settings(max_examples=200, deadline=None)
@given(histories())
def test_route_requests_match_state(
    history: list[tuple[CaptureCommand | Decision, int]],
) -> None:
    now = T0
    state: TaskState | None = None
    for command, advance in history:
        now += timedelta(seconds=advance)
        outcome = decide(state, command, now, RULES)
        state = outcome.state

        for request_type, request in outcome.requests:
            if request_type == "route.task":
                assert state.status == "queued"
                assert request.target == state.target
                assert request.scheme == state.scheme
                assert request.due_at == state.due_at
            else:
                assert request_type == "route.withdraw"
                assert state.status in ("completed", "cancelled")


def test_growing_attributes_rejected() -> None:
    state = created()
    for number in range(5):
        chunk = {f"notes-{number}": "x" * (60 * 1024)}
        outcome = decide(
            state, capture("update", f"u-{number}", attributes=chunk), T0, RULES
        )
        state = outcome.state

    assert outcome.rejection is not None
    assert "above the limit of 262144" in outcome.rejection
    assert outcome.events == []
    assert "notes-3" in state.attributes
    assert "notes-4" not in state.attributes


# Priority steps.


def test_priority_step_recorded() -> None:
    step_at = T0 + timedelta(minutes=15)
    body = DecisionPriorityChanged(priority=720, previous=700, changed_at=step_at)

    outcome = decide(created(), Decision("p1", body), step_at, RULES)

    assert event_types(outcome) == ["task.prioritised"]
    assert outcome.state.priority == 720
    assert outcome.events[0][1].changed_at == step_at


def test_priority_step_after_offer_ignored() -> None:
    body = DecisionPriorityChanged(priority=720, previous=700, changed_at=T0)

    outcome = decide(assigned(), Decision("p1", body), T0, RULES)

    assert event_types(outcome) == []
