"""The tasks processor: the task aggregate, writer of the task event log.

For each command it sends the events and routing requests, waits until the
broker has them, and only then stores the new state. A crash in between
makes the command run again after restart: the events then repeat with the
same event ids, which consumers drop, and nothing is missing from the log.
"""

from __future__ import annotations

import asyncio
import logging

import orjson

from processors.app import Runtime
from processors.domain.task import Decision, TaskState, decide
from processors.envelopes import dead_letter
from processors.metrics import CAPTURES, PROCESSING_SECONDS, TASK_EVENTS
from schemas.capture import CaptureCommand, CaptureRejected, RejectionReason
from schemas.codec import DISTRIBUTION_DECISIONS, decode, encode, make_envelope, payload
from schemas.envelope import Envelope, derived_event_id
from schemas.rules import RuleSet
from topics import catalog

__all__ = ["register"]

log = logging.getLogger(__name__)

PROCESSOR = "tasks"


def register(runtime: Runtime) -> None:
    commands = runtime.topic(catalog.TASK_COMMANDS)
    task_events = runtime.topic(catalog.TASK_EVENTS)
    distribution = runtime.topic(catalog.DISTRIBUTION)
    rejected = runtime.topic(catalog.CAPTURE_REJECTED)
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

    def wrap(
        body, message_type: str, cause: Envelope, index: int, version: int
    ) -> bytes:
        envelope = make_envelope(
            body,
            event_type=message_type,
            time=cause.time,
            subject_id=cause.subject_id,
            producer=producer,
            causation_id=cause.event_id,
            correlation_id=cause.correlation_id or cause.event_id,
            rule_set_version=version,
            event_id=derived_event_id(cause.event_id, index),
        )
        return encode(envelope)

    async def rules_for(state: TaskState | None, envelope: Envelope) -> RuleSet:
        """Return the rule set version an item lives by.

        A new item gets the version the capture point stamped on its create,
        which was active when it was captured. From then on the item keeps
        that version for its whole life, so a new version changes only items
        captured after it.
        """
        if state is not None and state.rule_set_version is not None:
            return await runtime.rule_sets.rules_for(state.rule_set_version)
        if envelope.type == "capture.accepted":
            return await runtime.rule_sets.rules_for(envelope.rule_set_version)
        return await runtime.rule_sets.rules_for(None)

    async def reject(event, envelope: Envelope, reason: str, version: int) -> None:
        key = event.key
        message = event.message
        command = payload(envelope, CaptureCommand)
        body = CaptureRejected(
            reason=RejectionReason.TOO_LARGE,
            message=reason,
            field="attributes",
            source_system=command.source_system,
            external_id=command.external_id,
            capture_id=command.capture_id,
            # The source's own bytes were checked and mapped by the capture
            # point; this is the command as accepted there.
            original=orjson.dumps(command.model_dump(mode="json")).decode()[:65536],
            original_bytes=len(message.value or b""),
            source_topic=message.topic,
            source_partition=message.partition,
            source_offset=message.offset,
            rejected_at=envelope.time,
        )
        log.info("rejected capture %s of %s: %s", command.capture_id, key, reason)
        CAPTURES.labels("rejected", RejectionReason.TOO_LARGE.value).inc()
        value = wrap(body, "capture.rejected", envelope, 0, version)
        await rejected.send(key=key, value=value)

    async def handle(event, envelope: Envelope) -> None:
        key = event.key
        state = load(key)
        rules = await rules_for(state, envelope)
        outcome = decide(state, command_of(envelope), envelope.time, rules)
        if outcome.duplicate:
            log.info("ignored duplicate %s %s", envelope.type, envelope.event_id)
            return
        if outcome.rejection is not None:
            await reject(event, envelope, outcome.rejection, rules.version)
            return

        deliveries = []
        for index, (event_type, body) in enumerate(outcome.events):
            value = wrap(body, event_type, envelope, index, rules.version)
            deliveries.append(await task_events.send(key=key, value=value))
            TASK_EVENTS.labels(event_type).inc()
        domain = outcome.state.routing_domain.encode() if outcome.state else b""
        for offset, (request_type, body) in enumerate(outcome.requests):
            index = len(outcome.events) + offset
            value = wrap(body, request_type, envelope, index, rules.version)
            deliveries.append(await distribution.send(key=domain, value=value))
        await asyncio.gather(*deliveries)

        if outcome.state is not None:
            tasks[key] = orjson.dumps(outcome.state.model_dump(mode="json"))

    @runtime.app.agent(commands, name="tasks")
    async def tasks_agent(stream):
        await runtime.rule_sets.wait_ready()
        async for event in stream.events():
            try:
                with PROCESSING_SECONDS.labels(PROCESSOR).time():
                    await handle(event, decode(event.value))
            except Exception as error:  # noqa: BLE001 - parked, never lost
                await dead_letter(runtime, PROCESSOR, event, error)
