"""The envelope every message on a Workstream topic travels in."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Envelope", "new_event_id"]


def new_event_id() -> str:
    return uuid.uuid4().hex


class Envelope(BaseModel):
    """Metadata of one event plus its payload in `data`.

    `time` is the business time of the event: the time the domain logic used
    as "now" when it produced the event. Replays read it instead of a clock.
    """

    model_config = ConfigDict(frozen=True)

    event_id: str = Field(default_factory=new_event_id)
    type: str
    schema_version: int = 1
    time: datetime
    subject_id: str = Field(description="Task id or agent id the event is about")
    causation_id: str | None = None
    correlation_id: str | None = None
    producer: str
    rule_set_version: int | None = None
    data: dict[str, Any] = Field(default_factory=dict)
