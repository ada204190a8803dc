"""The envelope every message on a Workstream topic travels in."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

__all__ = ["Envelope", "derived_event_id", "new_event_id"]

_DERIVED = uuid.UUID("6f1c1f1e-5d0c-4c55-9a34-3c2f8f0b6a10")


def new_event_id() -> str:
    return uuid.uuid4().hex


def derived_event_id(cause_id: str, index: int) -> str:
    """Return the id of the `index`-th event caused by `cause_id`.

    Handling the same message again yields the same ids, so consumers can
    drop the duplicates that redelivery after a crash produces.
    """
    return uuid.uuid5(_DERIVED, f"{cause_id}/{index}").hex


class Envelope(BaseModel):
    """Metadata of one event plus its payload in `data`.

    `time` is the business time of the event: the time the domain logic used
    as "now" when it produced the event. Replays read it instead of a clock.
    """

    model_config = ConfigDict(frozen=True)

    event_id: str = Field(default_factory=new_event_id)
    type: str
    schema_version: int = 1
    time: AwareDatetime
    subject_id: str = Field(description="Task id or agent id the event is about")
    causation_id: str | None = None
    correlation_id: str | None = None
    producer: str
    rule_set_version: int | None = None
    data: dict[str, Any] = Field(default_factory=dict)
