"""Helpers for processors: wrapping payloads in envelopes and dead-lettering."""

from __future__ import annotations

import logging
import traceback
from datetime import UTC, datetime

import orjson

from processors.app import Runtime
from topics import catalog

__all__ = ["dead_letter"]

# Longer values are cut, so a dead letter always fits in one Kafka message;
# topic, partition and offset point at the whole original.
MAX_FIELD_CHARS = 64 * 1024

log = logging.getLogger(__name__)


async def dead_letter(
    runtime: Runtime, processor: str, event, error: Exception
) -> None:
    """Park a message that crashed a processor, with its error, and go on."""
    from processors.metrics import DEAD_LETTERS

    DEAD_LETTERS.labels(processor).inc()
    message = event.message
    log.error(
        "%s failed on %s[%d]@%d key=%r: %s",
        processor,
        message.topic,
        message.partition,
        message.offset,
        message.key,
        error,
    )
    record = {
        "processor": processor,
        "topic": message.topic,
        "partition": message.partition,
        "offset": message.offset,
        "key": (message.key or b"").decode("utf-8", "replace")[:MAX_FIELD_CHARS],
        "value": (message.value or b"").decode("utf-8", "replace")[:MAX_FIELD_CHARS],
        "value_bytes": len(message.value or b""),
        "error": f"{type(error).__name__}: {error}"[:MAX_FIELD_CHARS],
        "traceback": traceback.format_exc(limit=8),
        "failed_at": datetime.now(UTC).isoformat(),
    }
    key = (message.key or b"")[:MAX_FIELD_CHARS]
    await runtime.topic(catalog.DEAD_LETTER).send(key=key, value=orjson.dumps(record))
