"""The capture processor: validates captures, rejects bad ones, forwards the rest.

Captures must be keyed by task id (`source_system:external_id`), so that
every change of one item is handled in order on one partition. A capture
with another key is rejected with reason `wrong_key`: re-sending it under
the right key could let it overtake, or be overtaken by, the item's other
changes.
"""

from __future__ import annotations

import logging

from processors.app import Runtime
from processors.domain.validation import CaptureError, parse_capture
from processors.envelopes import dead_letter
from processors.metrics import CAPTURES, PROCESSING_SECONDS
from schemas.capture import (
    MAX_ID_CHARS,
    MAX_ORIGINAL_CHARS,
    CaptureCommand,
    CaptureRejected,
    RejectionReason,
)
from schemas.codec import encode, make_envelope
from topics import catalog

__all__ = ["register"]

log = logging.getLogger(__name__)

PROCESSOR = "capture"


def register(runtime: Runtime) -> None:
    captures = runtime.topic(catalog.CAPTURE)
    rejected = runtime.topic(catalog.CAPTURE_REJECTED)
    commands = runtime.topic(catalog.TASK_COMMANDS)
    known = runtime.table("capture-items")

    async def reject(event, raw: bytes, error: CaptureError, version: int) -> None:
        message = event.message
        original = raw.decode("utf-8", "replace")
        body = CaptureRejected(
            reason=error.reason,
            message=error.message,
            field=error.field,
            source_system=error.source_system,
            external_id=error.external_id,
            capture_id=error.capture_id,
            original=original[:MAX_ORIGINAL_CHARS],
            original_bytes=len(raw),
            original_truncated=len(original) > MAX_ORIGINAL_CHARS,
            source_topic=message.topic,
            source_partition=message.partition,
            source_offset=message.offset,
            rejected_at=runtime.clock.now(),
        )
        key = (event.key or b"")[:MAX_ID_CHARS]
        envelope = make_envelope(
            body,
            event_type="capture.rejected",
            time=body.rejected_at,
            subject_id=key.decode("utf-8", "replace"),
            producer=f"{PROCESSOR}/{runtime.producer_name}",
            rule_set_version=version,
        )
        log.info(
            "rejected capture %s[%d]@%d key=%r: %s",
            message.topic,
            message.partition,
            message.offset,
            event.key,
            error,
        )
        CAPTURES.labels("rejected", error.reason.value).inc()
        await rejected.send(key=key, value=encode(envelope))

    async def accept(command: CaptureCommand, version: int) -> None:
        task_key = command.task_id.encode()
        if command.type != "create" and known.get(task_key) is None:
            raise CaptureError(
                RejectionReason.UNKNOWN_ITEM,
                f"{command.type} for unknown item {command.external_id!r} of "
                f"{command.source_system!r}; send a create first",
                field="external_id",
                source_system=command.source_system,
                external_id=command.external_id,
                capture_id=command.capture_id,
            )
        envelope = make_envelope(
            command,
            event_type="capture.accepted",
            time=runtime.clock.now(),
            subject_id=command.task_id,
            producer=f"{PROCESSOR}/{runtime.producer_name}",
            correlation_id=command.capture_id,
            # The tasks processor classifies a new item with this version.
            rule_set_version=version,
        )
        # The item counts as known only once its create is on its way.
        await commands.send(key=task_key, value=encode(envelope))
        if command.type == "create":
            known[task_key] = b"1"
        CAPTURES.labels("accepted", "").inc()

    async def handle_capture(event, raw: bytes) -> None:
        # One version for the whole capture, even if a new one arrives meanwhile.
        rules = runtime.rules
        try:
            command = parse_capture(raw, rules)
            if event.key != command.task_id.encode():
                raise CaptureError(
                    RejectionReason.WRONG_KEY,
                    f"the message key is {_shown(event.key)}; key every capture "
                    f"with its task id {command.task_id!r} "
                    "(SOURCE_SYSTEM:EXTERNAL_ID) so an item's changes stay in order",
                    source_system=command.source_system,
                    external_id=command.external_id,
                    capture_id=command.capture_id,
                )
            await accept(command, rules.version)
        except CaptureError as error:
            await reject(event, raw, error, rules.version)
        except Exception as error:  # noqa: BLE001 - parked, never lost
            await dead_letter(runtime, PROCESSOR, event, error)

    @runtime.app.agent(captures, name="capture")
    async def capture_agent(stream):
        await runtime.rule_sets.wait_ready()
        async for event in stream.events():
            raw: bytes = event.value or b""
            with PROCESSING_SECONDS.labels(PROCESSOR).time():
                await handle_capture(event, raw)


def _shown(key: bytes | None) -> str:
    if key is None:
        return "missing"
    return repr(key.decode("utf-8", "replace")[:200])
