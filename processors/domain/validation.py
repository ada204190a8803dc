"""Capture validation: raw bytes from a source system to a capture command."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from schemas.capture import (
    CAPTURE_TYPES,
    MAX_ATTRIBUTE_DEPTH,
    MAX_CAPTURE_BYTES,
    MAX_ID_CHARS,
    CaptureCommand,
    RejectionReason,
)
from schemas.rules import RuleSet, SourceMapping

__all__ = ["CaptureError", "parse_capture", "parse_date"]

_DATE_FIELDS = ("occurred_at", "due_at", "activate_at")
_TEXT_FIELDS = (
    "capture_id",
    "status",
    "preferred_agent",
    "department",
    "process",
    "routing_domain",
)
_MEDIA = ("workitem", "voice", "chat", "email")
_KNOWN_FIELDS = frozenset(
    {
        "type",
        "source_system",
        "external_id",
        "attributes",
        "priority",
        "media",
        *_DATE_FIELDS,
        *_TEXT_FIELDS,
    }
)
# Dates outside these years are taken for typing errors, and would overflow
# the arithmetic of due dates and priority curves near datetime's limits.
FIRST_YEAR = 1900
LAST_YEAR = 2999


@dataclass(frozen=True)
class CaptureError(Exception):
    """A rejected capture, with a reason a source developer can act on."""

    reason: RejectionReason
    message: str
    field: str | None = None
    source_system: str | None = None
    external_id: str | None = None
    capture_id: str | None = None

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"


def parse_capture(raw: bytes, rules: RuleSet) -> CaptureCommand:
    """Parse and validate one capture message, or raise CaptureError."""
    document = _load_object(raw)
    capture_type = document.get("type")
    if capture_type not in CAPTURE_TYPES:
        raise CaptureError(
            RejectionReason.UNKNOWN_TYPE,
            f"capture type {capture_type!r} is not one of {', '.join(CAPTURE_TYPES)}",
            field="type",
        )

    source_system = _required_text(document, "source_system")
    mapping = rules.sources.get(source_system)
    if mapping is None:
        raise CaptureError(
            RejectionReason.UNKNOWN_SOURCE_SYSTEM,
            f"source system {source_system!r} has no attribute mapping in rule set "
            f"version {rules.version}; known: {sorted(rules.sources)}",
            field="source_system",
            source_system=source_system,
        )

    external_id = _external_id(document, source_system)
    context = {"source_system": source_system, "external_id": external_id}
    try:
        _check_fields(document)
        return _build_command(document, capture_type, mapping, raw, context)
    except CaptureError as error:
        raise CaptureError(
            error.reason,
            error.message,
            field=error.field,
            capture_id=_text_or_none(document.get("capture_id")),
            **context,
        ) from None


def _load_object(raw: bytes) -> dict[str, Any]:
    if len(raw) > MAX_CAPTURE_BYTES:
        raise CaptureError(
            RejectionReason.TOO_LARGE,
            f"the payload is {len(raw)} bytes, above the limit of "
            f"{MAX_CAPTURE_BYTES}; keep large content in the source system and "
            "send a reference to it",
        )
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise CaptureError(
            RejectionReason.MALFORMED_JSON,
            f"the payload is not valid JSON ({error}); send one UTF-8 JSON object",
        ) from None
    if not isinstance(document, dict):
        raise CaptureError(
            RejectionReason.NOT_AN_OBJECT,
            f"the payload is a JSON {type(document).__name__}; send one JSON object",
        )
    return document


def _check_fields(document: dict[str, Any]) -> None:
    """Reject top-level fields the capture format does not have, so that a
    misspelt field is not silently dropped."""
    unknown = sorted(str(name) for name in document if name not in _KNOWN_FIELDS)
    if unknown:
        raise CaptureError(
            RejectionReason.UNKNOWN_FIELD,
            f"unknown field(s) {', '.join(map(repr, unknown))}; a capture has "
            f"{', '.join(sorted(_KNOWN_FIELDS))}, and item data goes into "
            "'attributes'",
            field=unknown[0],
        )


def _required_text(document: dict[str, Any], field: str) -> str:
    value = document.get(field)
    if value is None or value == "":
        raise CaptureError(
            RejectionReason.MISSING_FIELD, f"{field!r} is missing", field=field
        )
    if not isinstance(value, str):
        raise CaptureError(
            RejectionReason.INVALID_TYPE,
            f"{field!r} must be a string, got {type(value).__name__}",
            field=field,
        )
    if len(value) > MAX_ID_CHARS:
        raise CaptureError(
            RejectionReason.TOO_LARGE,
            f"{field!r} has {len(value)} characters, above the limit of {MAX_ID_CHARS}",
            field=field,
        )
    return value


def _external_id(document: dict[str, Any], source_system: str) -> str:
    value = document.get("external_id")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise CaptureError(
            RejectionReason.MISSING_EXTERNAL_ID,
            "'external_id' is missing or empty; every capture must carry the "
            "item's id in the source system",
            field="external_id",
            source_system=source_system,
        )
    if not isinstance(value, str):
        raise CaptureError(
            RejectionReason.INVALID_TYPE,
            f"'external_id' must be a string, got {type(value).__name__}",
            field="external_id",
            source_system=source_system,
        )
    if len(value) > MAX_ID_CHARS:
        raise CaptureError(
            RejectionReason.TOO_LARGE,
            f"'external_id' has {len(value)} characters, above the limit of "
            f"{MAX_ID_CHARS}",
            field="external_id",
            source_system=source_system,
        )
    return value


def _build_command(
    document: dict[str, Any],
    capture_type: str,
    mapping: SourceMapping,
    raw: bytes,
    context: dict[str, str],
) -> CaptureCommand:
    fields: dict[str, Any] = {"type": capture_type, **context}

    # Dates: occurred_at is mandatory, the others optional.
    for name in _DATE_FIELDS:
        value = document.get(name)
        if value is None:
            if name == "occurred_at":
                raise CaptureError(
                    RejectionReason.MISSING_FIELD,
                    "'occurred_at' is missing; send the time the change happened "
                    "in the source system",
                    field=name,
                )
            continue
        fields[name] = parse_date(value, mapping, name)

    for name in _TEXT_FIELDS:
        value = document.get(name)
        if value is not None and not isinstance(value, str):
            raise CaptureError(
                RejectionReason.INVALID_TYPE,
                f"{name!r} must be a string, got {type(value).__name__}",
                field=name,
            )
        if value is not None and len(value) > MAX_ID_CHARS:
            raise CaptureError(
                RejectionReason.TOO_LARGE,
                f"{name!r} has {len(value)} characters, above the limit of "
                f"{MAX_ID_CHARS}",
                field=name,
            )
        if value:
            fields[name] = value
    fields.setdefault("capture_id", _content_id(raw))

    if fields.get("status") and mapping.statuses:
        if fields["status"] not in mapping.statuses:
            raise CaptureError(
                RejectionReason.UNKNOWN_STATUS,
                f"status {fields['status']!r} is not a known status of source "
                f"system {context['source_system']!r}; known: "
                f"{', '.join(mapping.statuses)}",
                field="status",
            )

    fields["priority"] = _optional_int(document, "priority")
    fields["media"] = _media(document)
    fields["attributes"] = _mapped_attributes(document, mapping)
    return CaptureCommand(**{k: v for k, v in fields.items() if v is not None})


def parse_date(value: Any, mapping: SourceMapping, field: str) -> datetime:
    """Parse ISO 8601 or one of the source's date formats into an aware datetime."""
    if not isinstance(value, str):
        raise CaptureError(
            RejectionReason.INVALID_TYPE,
            f"{field!r} must be a date string, got {type(value).__name__}",
            field=field,
        )
    parsed = _try_formats(value.strip(), mapping.date_formats)
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(mapping.timezone))
    if parsed is None:
        formats = ", ".join(("ISO 8601", *mapping.date_formats))
        raise CaptureError(
            RejectionReason.INVALID_DATE,
            f"{field!r} value {value!r} is not a date in any accepted format "
            f"({formats})",
            field=field,
        )
    if not _in_range(parsed):
        raise CaptureError(
            RejectionReason.INVALID_DATE,
            f"{field!r} value {value!r} is outside the accepted years "
            f"{FIRST_YEAR} to {LAST_YEAR}",
            field=field,
        )
    # UTC, so that durations across a daylight-saving change come out right.
    return parsed.astimezone(UTC)


def _try_formats(text: str, formats: tuple[str, ...]) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    for date_format in formats:
        try:
            return datetime.strptime(text, date_format)
        except ValueError:
            continue
    return None


def _in_range(parsed: datetime) -> bool:
    """Check that the date converts to UTC without leaving datetime's range."""
    try:
        year = parsed.astimezone(UTC).year
    except (OverflowError, ValueError):
        return False
    return FIRST_YEAR <= year <= LAST_YEAR


def _optional_int(document: dict[str, Any], field: str) -> int | None:
    value = document.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise CaptureError(
            RejectionReason.INVALID_TYPE,
            f"{field!r} must be an integer, got {value!r}",
            field=field,
        )
    return value


def _media(document: dict[str, Any]) -> str:
    value = document.get("media", "workitem")
    if value not in _MEDIA:
        raise CaptureError(
            RejectionReason.INVALID_TYPE,
            f"'media' must be one of {', '.join(_MEDIA)}, got {value!r}",
            field="media",
        )
    return value


def _mapped_attributes(document: dict[str, Any], mapping: SourceMapping) -> dict:
    attributes = document.get("attributes", {})
    if not isinstance(attributes, dict):
        raise CaptureError(
            RejectionReason.INVALID_TYPE,
            f"'attributes' must be an object, got {type(attributes).__name__}",
            field="attributes",
        )
    if _depth(attributes) > MAX_ATTRIBUTE_DEPTH:
        raise CaptureError(
            RejectionReason.INVALID_TYPE,
            f"'attributes' nest deeper than {MAX_ATTRIBUTE_DEPTH} levels; send "
            "flat attributes",
            field="attributes",
        )
    mapped = {
        mapping.fields.get(name, name): value for name, value in attributes.items()
    }
    for name, kind in mapping.types.items():
        if mapped.get(name) is not None:
            mapped[name] = _converted(mapped[name], kind, name, mapping)
    return mapped


_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


def _converted(value: Any, kind: str, name: str, mapping: SourceMapping) -> Any:
    """Convert one attribute to the type the source mapping gives it."""
    field = f"attributes.{name}"
    text = value.strip() if isinstance(value, str) else value
    try:
        if kind == "text":
            return value if isinstance(value, str) else orjson.dumps(value).decode()
        if kind == "date":
            return parse_date(value, mapping, field).isoformat()
        if isinstance(text, bool):
            raise ValueError
        if kind == "integer":
            number = float(text)
            if not number.is_integer():
                raise ValueError
            return int(number)
        if kind == "number":
            number = float(text)
            if not math.isfinite(number):
                raise ValueError
            return number
        lowered = str(text).lower()
        if lowered in _TRUE or lowered in _FALSE:
            return lowered in _TRUE
        raise ValueError
    except (TypeError, ValueError):
        raise CaptureError(
            RejectionReason.INVALID_TYPE,
            f"attribute {name!r} value {value!r} is not a valid {kind}; the "
            "source mapping converts it to that type",
            field=field,
        ) from None


def _depth(value: Any, limit: int = MAX_ATTRIBUTE_DEPTH + 1) -> int:
    """Return how many objects and arrays nest in `value`: 0 for a scalar, 1
    for a flat object. Counting stops once `limit` is reached."""
    if isinstance(value, dict):
        children = value.values()
    elif isinstance(value, list):
        children = value
    else:
        return 0
    if limit <= 1:
        return 1
    return 1 + max((_depth(child, limit - 1) for child in children), default=0)


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _content_id(raw: bytes) -> str:
    """Derive a capture id from the payload, so a resent copy is a duplicate."""
    return hashlib.sha256(raw).hexdigest()[:32]
