"""RONA through Kafka: an unanswered offer goes to someone else, and the
employee who let it ring is set not ready with reason RONA."""

from __future__ import annotations

import functools
import time
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from confluent_kafka import Producer

from processors.clock import ScaledClock
from processors.stack import Stack
from schemas.agents import AcceptOffer, LogIn, Ready
from schemas.codec import decode, encode, make_envelope
from schemas.distribution import WithdrawTask
from tests.e2e.support import (
    explain_item,
    send_agent_command,
    wait_for,
    wait_for_dead_letter,
)
from topics import catalog
from topics.consume import read_topics

pytestmark = pytest.mark.e2e

SPEED = 100.0  # the 600 s offer timeout of the shipped rules takes 6 s


@pytest.fixture(scope="module")
def rona_run(tmp_path_factory):
    clock = ScaledClock(datetime(2016, 3, 1, 9, tzinfo=UTC), time.time(), SPEED)
    with Stack(
        workers=1, clock=clock, run_dir=tmp_path_factory.mktemp("rona")
    ) as stack:
        settings = stack.settings
        producer = Producer(settings.producer_config())
        send_agent = functools.partial(send_agent_command, producer, clock)

        # The silent employee has the better skill, so it gets the first offer.
        send_agent("silent", "agent.log_in", LogIn(skills={"Group 7": 9}))
        send_agent("silent", "agent.ready", Ready())
        send_agent("answering", "agent.log_in", LogIn(skills={"Group 7": 3}))
        send_agent("answering", "agent.ready", Ready())
        wait_for(
            settings,
            catalog.AGENT_EVENTS,
            lambda e: e.subject_id == "answering" and e.type == "agent.became_ready",
        )

        capture = {
            "type": "create",
            "source_system": "servicenow",
            "external_id": "INC-RONA",
            "occurred_at": "1/3/2016 09:00",
            "status": "New",
            "attributes": {"priority": "2 - High", "assignment_group": "Group 7"},
        }
        producer.produce(
            catalog.CAPTURE, key=b"servicenow:INC-RONA", value=orjson.dumps(capture)
        )
        producer.flush(10)

        offer = wait_for(
            settings,
            catalog.ASSIGNMENTS,
            lambda e: e.subject_id == "answering" and e.type == "assignment.offer",
        )
        send_agent(
            "answering",
            "agent.accept",
            AcceptOffer(task_id=offer.data["task_id"], offer_id=offer.data["offer_id"]),
        )
        wait_for(settings, catalog.TASK_EVENTS, lambda e: e.type == "task.accepted")

        # A desktop must not be able to pull the item out of routing.
        injected = make_envelope(
            WithdrawTask(task_id="servicenow:INC-RONA", reason="injected"),
            event_type="route.withdraw",
            time=clock.now(),
            subject_id="default",
            producer="desktop",
        )
        producer.produce(catalog.AGENT_COMMANDS, key=b"default", value=encode(injected))
        # Nor may a malformed command make the distributor lose the domain.
        malformed = {**orjson.loads(encode(injected)), "type": "agent.accept"}
        malformed.update(subject_id="answering", data={})
        producer.produce(
            catalog.AGENT_COMMANDS, key=b"default", value=orjson.dumps(malformed)
        )
        producer.flush(10)
        dead = wait_for_dead_letter(settings, count=2)
        # Release the client while the broker is still up.
        del producer, send_agent
        yield {
            "task_events": [
                decode(m.value()) for m in read_topics(settings, [catalog.TASK_EVENTS])
            ],
            "agent_events": [
                decode(m.value()) for m in read_topics(settings, [catalog.AGENT_EVENTS])
            ],
            "state": stack.task_state("servicenow:INC-RONA"),
            "dead": dead,
            "explain": explain_item(stack, "servicenow:INC-RONA"),
        }


def test_rona_sequence_in_log(rona_run):
    steps = [
        (e.type, e.data.get("agent_id"))
        for e in rona_run["task_events"]
        if e.type in ("task.offered", "task.offer_timed_out", "task.accepted")
    ]
    assert steps == [
        ("task.offered", "silent"),
        ("task.offer_timed_out", "silent"),
        ("task.offered", "answering"),
        ("task.accepted", "answering"),
    ]


def test_silent_employee_not_ready_rona(rona_run):
    last = [e for e in rona_run["agent_events"] if e.subject_id == "silent"][-1]
    assert last.type == "agent.became_not_ready"
    assert last.data["reason"] == "rona"


def test_timeout_after_offer_timeout(rona_run):
    offered = next(e for e in rona_run["task_events"] if e.type == "task.offered")
    timed_out = next(
        e for e in rona_run["task_events"] if e.type == "task.offer_timed_out"
    )
    assert timed_out.time - offered.time >= timedelta(seconds=600)


def test_item_assigned_to_answering(rona_run):
    assert rona_run["state"]["status"] == "assigned"
    assert rona_run["state"]["agent_id"] == "answering"


def test_routing_request_from_desktop_refused(rona_run):
    errors = [record["error"] for record in rona_run["dead"]]
    assert rona_run["dead"][0]["processor"] == "distributor"
    assert "not accepted on workstream.agent.commands" in errors[0]
    assert rona_run["state"]["status"] == "assigned"


def test_malformed_command_keeps_domain(rona_run):
    errors = [record["error"] for record in rona_run["dead"]]
    assert "ValidationError" in errors[1]
    assert rona_run["explain"]["state"] == "held by answering"


def test_explain_shows_holder_and_rona(rona_run):
    explanation = rona_run["explain"]
    reasons = {row["agent_id"]: row["reasons"] for row in explanation["employees"]}
    timed_out = [
        d for d in explanation["decisions"] if d["type"] == "task.offer_timed_out"
    ]

    assert explanation["state"] == "held by answering"
    assert reasons["answering"] == ["holds it"]
    assert "not ready (rona)" in reasons["silent"]
    assert timed_out[0]["agent_id"] == "silent"
