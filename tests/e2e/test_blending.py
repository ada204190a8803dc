"""Blending through Kafka: a call accepted automatically holds back work
items while it lasts, and a waiting item's priority steps reach the log."""

from __future__ import annotations

import functools
import time
from datetime import UTC, datetime

import orjson
import pytest
from confluent_kafka import Producer

from processors.clock import ScaledClock
from processors.stack import Stack
from schemas.agents import LogIn, MarkDone, Ready
from schemas.codec import decode
from schemas.routing import Capacity
from tests.e2e.support import explain_item, send_agent_command, wait_for
from topics import catalog
from topics.consume import read_topics

pytestmark = pytest.mark.e2e

# The critical scheme steps every 900 s of business time: 9 s here.
SPEED = 100.0
CALL = "servicenow:CALL-1"
WORK = "servicenow:INC-WORK"


def _capture(external_id: str, media: str) -> bytes:
    return orjson.dumps(
        {
            "type": "create",
            "source_system": "servicenow",
            "external_id": external_id,
            "occurred_at": "1/3/2016 09:00",
            "status": "New",
            "media": media,
            "attributes": {"priority": "1 - Critical", "assignment_group": "Group 7"},
        }
    )


def _task_event(task_id: str, event_type: str):
    return lambda e: e.subject_id == task_id and e.type == event_type


@pytest.fixture(scope="module")
def blending_run(tmp_path_factory):
    clock = ScaledClock(datetime(2016, 3, 1, 9, tzinfo=UTC), time.time(), SPEED)
    with Stack(
        workers=1, clock=clock, run_dir=tmp_path_factory.mktemp("blending")
    ) as stack:
        settings = stack.settings
        producer = Producer(settings.producer_config())
        send = functools.partial(send_agent_command, producer, clock, "ann")
        capacity = Capacity(workitem=1, voice=1, while_holding={"voice": ("workitem",)})
        log_in = LogIn(skills={"Group 7": 5}, capacity=capacity, auto_answer=("voice",))
        send("agent.log_in", log_in)
        send("agent.ready", Ready())
        wait_for(
            settings, catalog.AGENT_EVENTS, lambda e: e.type == "agent.became_ready"
        )

        producer.produce(
            catalog.CAPTURE, key=CALL.encode(), value=_capture("CALL-1", "voice")
        )
        producer.flush(10)
        wait_for(settings, catalog.TASK_EVENTS, _task_event(CALL, "task.accepted"))
        producer.produce(
            catalog.CAPTURE, key=WORK.encode(), value=_capture("INC-WORK", "workitem")
        )
        producer.flush(10)
        step = wait_for(
            settings, catalog.TASK_EVENTS, _task_event(WORK, "task.prioritised")
        )
        # The first prioritised event is the initial priority; wait for a step.
        if step.data.get("changed_at") is None:
            step = wait_for(
                settings,
                catalog.TASK_EVENTS,
                lambda e: (
                    _task_event(WORK, "task.prioritised")(e)
                    and e.data.get("changed_at") is not None
                ),
            )
        during_call = explain_item(stack, WORK)

        send("agent.mark_done", MarkDone(task_id=CALL))
        wait_for(
            settings,
            catalog.ASSIGNMENTS,
            lambda e: e.type == "assignment.offer" and e.data["task_id"] == WORK,
        )
        del producer, send
        yield {
            "task_events": [
                decode(m.value()) for m in read_topics(settings, [catalog.TASK_EVENTS])
            ],
            "offers": [
                decode(m.value()) for m in read_topics(settings, [catalog.ASSIGNMENTS])
            ],
            "during_call": during_call,
            "step": step,
        }


def test_call_answered_automatically(blending_run):
    steps = [
        e.type
        for e in blending_run["task_events"]
        if e.subject_id == CALL and e.type in ("task.offered", "task.accepted")
    ]
    offer = next(e for e in blending_run["offers"] if e.data["task_id"] == CALL)
    assert steps == ["task.offered", "task.accepted"]
    assert offer.data["auto_answered"] is True


def test_work_item_held_back_during_call(blending_run):
    reasons = blending_run["during_call"]["employees"][0]["reasons"]
    assert blending_run["during_call"]["state"] == "waiting"
    assert "no workitem while holding voice" in reasons


def test_work_item_offered_after_call(blending_run):
    done = next(
        e
        for e in blending_run["task_events"]
        if e.subject_id == CALL and e.type == "task.marked_done"
    )
    offered = next(
        e
        for e in blending_run["task_events"]
        if e.subject_id == WORK and e.type == "task.offered"
    )
    assert offered.time >= done.time
    assert offered.data["agent_id"] == "ann"


def test_priority_step_logged(blending_run):
    step = blending_run["step"]
    queued = next(
        e
        for e in blending_run["task_events"]
        if e.subject_id == WORK and e.type == "task.queued"
    )
    assert step.data["priority"] > queued.data["priority"]
    changed_at = datetime.fromisoformat(step.data["changed_at"])
    assert changed_at > queued.time
