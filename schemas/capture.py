"""Capture commands sent by source systems, and the rejections sent back."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.routing import Media

__all__ = [
    "CAPTURE_TYPES",
    "MAX_ATTRIBUTE_DEPTH",
    "MAX_CAPTURE_BYTES",
    "MAX_ID_CHARS",
    "MAX_ITEM_ATTRIBUTE_BYTES",
    "MAX_ORIGINAL_CHARS",
    "CaptureCommand",
    "CaptureRejected",
    "RejectionReason",
    "task_id_for",
]

CAPTURE_TYPES = ("create", "update", "complete", "cancel", "restart")

# Limits that keep every message derived from a capture well under Kafka's
# default maximum message size of 1 MB.
MAX_CAPTURE_BYTES = 64 * 1024
MAX_ITEM_ATTRIBUTE_BYTES = 256 * 1024
MAX_ORIGINAL_CHARS = 64 * 1024
MAX_ATTRIBUTE_DEPTH = 16
# Ids (external id, capture id, source system, agent ids) and message keys.
MAX_ID_CHARS = 200


def task_id_for(source_system: str, external_id: str) -> str:
    """Build the task id: one item per source system and external id."""
    return f"{source_system}:{external_id}"


class CaptureCommand(BaseModel):
    """A validated capture command.

    Dates are parsed and timezone-aware. `attributes` contains the custom
    attributes after the source system's field mapping.
    """

    model_config = ConfigDict(frozen=True)

    type: Literal["create", "update", "complete", "cancel", "restart"]
    capture_id: str
    source_system: str
    external_id: str
    occurred_at: datetime
    status: str | None = None
    due_at: datetime | None = None
    activate_at: datetime | None = None
    priority: int | None = None
    preferred_agent: str | None = None
    department: str | None = None
    process: str | None = None
    media: Media = "workitem"
    routing_domain: str = "default"
    attributes: dict[str, Any] = Field(default_factory=dict)

    @property
    def task_id(self) -> str:
        return task_id_for(self.source_system, self.external_id)


class RejectionReason(StrEnum):
    MALFORMED_JSON = "malformed_json"
    NOT_AN_OBJECT = "not_an_object"
    UNKNOWN_TYPE = "unknown_type"
    MISSING_EXTERNAL_ID = "missing_external_id"
    MISSING_FIELD = "missing_field"
    INVALID_DATE = "invalid_date"
    INVALID_TYPE = "invalid_type"
    UNKNOWN_SOURCE_SYSTEM = "unknown_source_system"
    UNKNOWN_STATUS = "unknown_status"
    UNKNOWN_ITEM = "unknown_item"
    UNKNOWN_FIELD = "unknown_field"
    TOO_LARGE = "too_large"
    WRONG_KEY = "wrong_key"


class CaptureRejected(BaseModel):
    """A capture the capture point could not accept, with the original bytes."""

    model_config = ConfigDict(frozen=True)

    reason: RejectionReason
    message: str
    field: str | None = None
    source_system: str | None = None
    external_id: str | None = None
    capture_id: str | None = None
    original: str = Field(
        description="The original payload decoded as UTF-8, cut at "
        "MAX_ORIGINAL_CHARS characters when longer"
    )
    original_bytes: int = Field(default=0, description="Size of the original payload")
    original_truncated: bool = False
    source_topic: str | None = None
    source_partition: int | None = None
    source_offset: int | None = None
    rejected_at: datetime
