"""The tasks processor: the task aggregate, writer of the task event log."""

from __future__ import annotations

import logging

import orjson

from processors.app import Runtime
from processors.domain.task import Decision, TaskState, decide
from processors.envelopes import dead_letter
from processors.metrics import PROCESSING_SECONDS, TASK_EVENTS
from schemas.capture import CaptureCommand
from schemas.codec import DISTRIBUTION_DECISIONS, decode, encode, make_envelope, payload
from schemas.envelope import Envelope
from topics import catalog

__all__ = ["register"]

log = logging.getLogger(__name__)

PROCESSOR = "tasks"


def register(runtime: Runtime) -> None:
    commands = runtime.topic(catalog.TASK_COMMANDS)
    task_events = runtime.topic(catalog.TASK_EVENTS)
    distribution = runtime.topic(catalog.DISTRIBUTION)
    tasks = runtime.table("tasks")
    producer = f"{PROCESSOR}/{runtime.producer_name}"

    def load(key: bytes) -> TaskState | None:
        stored = tasks.get(key)
        return None if stored is None else TaskState.model_validate_json(stored)

    def command_of(envelope: Envelope) -> CaptureCommand | Decision:
        if envelope.type == "capture.accepted":
            return payload(envelope, CaptureCommand)
        if envelope.type in DISTRIBUTION_DECISIONS:
            return Decision(event_id=envelope.event_id, body=payload(envelope))
        raise ValueError(f"unexpected message type {envelope.type!r} on task commands")

    async def handle(key: bytes, envelope: Envelope) -> None:
        state = load(key)
        outcome = decide(state, command_of(envelope), envelope.time, runtime.rules)
        if outcome.duplicate:
            log.info("ignored duplicate %s %s", envelope.type, envelope.event_id)
            return
        correlation = envelope.correlation_id or envelope.event_id
        for event_type, body in outcome.events:
            event = make_envelope(
                body,
                event_type=event_type,
                time=envelope.time,
                subject_id=envelope.subject_id,
                producer=producer,
                causation_id=envelope.event_id,
                correlation_id=correlation,
                rule_set_version=runtime.rules.version,
            )
            await task_events.send(key=key, value=encode(event))
            TASK_EVENTS.labels(event_type).inc()
        for request_type, body in outcome.requests:
            request = make_envelope(
                body,
                event_type=request_type,
                time=envelope.time,
                subject_id=envelope.subject_id,
                producer=producer,
                causation_id=envelope.event_id,
                correlation_id=correlation,
                rule_set_version=runtime.rules.version,
            )
            domain = outcome.state.routing_domain.encode()
            await distribution.send(key=domain, value=encode(request))
        if outcome.state is not None:
            tasks[key] = orjson.dumps(outcome.state.model_dump(mode="json"))

    @runtime.app.agent(commands, name="tasks")
    async def tasks_agent(stream):
        async for event in stream.events():
            try:
                with PROCESSING_SECONDS.labels(PROCESSOR).time():
                    await handle(event.key, decode(event.value))
            except Exception as error:  # noqa: BLE001 - parked, never lost
                await dead_letter(runtime, PROCESSOR, event, error)
