"""Wire format: orjson-encoded envelopes, and typed access to their payloads."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel

from schemas.agents import AGENT_COMMANDS, AGENT_EVENTS
from schemas.capture import CaptureCommand, CaptureRejected
from schemas.distribution import (
    ASSIGNMENT_MESSAGES,
    DISTRIBUTION_DECISIONS,
    DISTRIBUTION_REQUESTS,
)
from schemas.envelope import Envelope
from schemas.rule_events import RULE_EVENTS
from schemas.tasks import TASK_EVENTS

__all__ = [
    "MESSAGE_TYPES",
    "UnknownMessageType",
    "decode",
    "encode",
    "make_envelope",
    "payload",
]

M = TypeVar("M", bound=BaseModel)

MESSAGE_TYPES: dict[str, type[BaseModel]] = {
    "capture.accepted": CaptureCommand,
    "capture.rejected": CaptureRejected,
    **TASK_EVENTS,
    **AGENT_COMMANDS,
    **AGENT_EVENTS,
    **DISTRIBUTION_REQUESTS,
    **DISTRIBUTION_DECISIONS,
    **ASSIGNMENT_MESSAGES,
    **RULE_EVENTS,
}


class UnknownMessageType(ValueError):
    pass


def make_envelope(
    body: BaseModel,
    *,
    event_type: str,
    time: datetime,
    subject_id: str,
    producer: str,
    causation_id: str | None = None,
    correlation_id: str | None = None,
    rule_set_version: int | None = None,
    event_id: str | None = None,
) -> Envelope:
    """Wrap a payload model in an envelope, checking its type name first."""
    expected = MESSAGE_TYPES.get(event_type)
    if expected is None:
        raise UnknownMessageType(f"unknown message type {event_type!r}")
    if not isinstance(body, expected):
        raise UnknownMessageType(
            f"message type {event_type!r} needs {expected.__name__}, "
            f"got {type(body).__name__}"
        )
    identity = {} if event_id is None else {"event_id": event_id}
    return Envelope(
        **identity,
        type=event_type,
        time=time,
        subject_id=subject_id,
        producer=producer,
        causation_id=causation_id,
        correlation_id=correlation_id,
        rule_set_version=rule_set_version,
        data=body.model_dump(mode="json"),
    )


def encode(envelope: Envelope) -> bytes:
    return orjson.dumps(envelope.model_dump(mode="json"))


def decode(raw: bytes | str) -> Envelope:
    return Envelope.model_validate(orjson.loads(raw))


def payload(envelope: Envelope, model: type[M] | None = None) -> Any:
    """Parse the envelope's data into the model registered for its type."""
    registered = MESSAGE_TYPES.get(envelope.type)
    if registered is None:
        raise UnknownMessageType(f"unknown message type {envelope.type!r}")
    if model is not None and registered is not model:
        raise UnknownMessageType(
            f"message type {envelope.type!r} carries {registered.__name__}, "
            f"not {model.__name__}"
        )
    return registered.model_validate(envelope.data)
