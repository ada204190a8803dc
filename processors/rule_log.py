"""The rules topic: publishing rule set versions and reading them back.

Used by the `workstream rules` commands and by each worker's rule set reader.
Records are `rules.applied` envelopes keyed by the version in decimal, on a
topic with one partition, so every reader sees the versions in one order.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from confluent_kafka import KafkaException, Producer

from processors.domain.rule_versions import RuleSetRegistry, VersionNotNew
from processors.domain.rulesets import RuleSetError, rules_from_document
from schemas.codec import decode, encode, make_envelope, payload
from schemas.rule_events import RuleSetApplied
from schemas.rules import RuleSet
from topics import catalog
from topics.consume import read_topics
from topics.settings import BrokerSettings

__all__ = [
    "ApplyConflict",
    "VersionNotNew",
    "apply_rule_set",
    "encode_record",
    "new_record",
    "publish",
    "read_registry",
    "record_from_value",
]

EVENT_TYPE = "rules.applied"

log = logging.getLogger(__name__)


class ApplyConflict(RuntimeError):
    """Another record took the version between the check and the publish."""


def new_record(
    rules: RuleSet, author: str, comment: str = "", at: datetime | None = None
) -> RuleSetApplied:
    return RuleSetApplied(
        version=rules.version,
        rule_set=rules,
        applied_by=author,
        applied_at=at or datetime.now(UTC),
        comment=comment,
    )


def encode_record(record: RuleSetApplied, producer_name: str) -> tuple[bytes, bytes]:
    """Return the key and value of `record` on the rules topic."""
    envelope = make_envelope(
        record,
        event_type=EVENT_TYPE,
        time=record.applied_at,
        subject_id=f"rule-set:{record.version}",
        producer=producer_name,
        rule_set_version=record.version,
    )
    return str(record.version).encode(), encode(envelope)


def record_from_value(value: bytes, origin: str) -> RuleSetApplied:
    """Decode and fully validate one record; raise ValueError when invalid."""
    envelope = decode(value)
    if envelope.type != EVENT_TYPE:
        raise ValueError(f"{origin}: unexpected message type {envelope.type!r}")
    record = payload(envelope, RuleSetApplied)
    # Checks beyond the model's own (skill expressions and the like).
    rules_from_document(record.rule_set.model_dump(mode="json"), origin)
    return record


def read_registry(settings: BrokerSettings) -> RuleSetRegistry:
    """Read every version from the rules topic, skipping invalid records."""
    registry = RuleSetRegistry()
    for message in read_topics(settings, [catalog.RULES]):
        origin = f"{catalog.RULES}@{message.offset()}"
        try:
            record = record_from_value(message.value(), origin)
        except (ValueError, RuleSetError) as error:
            log.warning("skipped invalid rule set record %s: %s", origin, error)
            continue
        rejected = registry.add(record)
        if rejected is not None:
            log.warning("skipped rule set record %s: %s", origin, rejected.reason)
    return registry


def publish(
    settings: BrokerSettings, record: RuleSetApplied, producer_name: str
) -> int:
    """Send `record` to the rules topic and return its offset once stored."""
    key, value = encode_record(record, producer_name)
    producer = Producer(settings.producer_config(acks="all"))
    outcome: dict = {}

    def delivered(error, message) -> None:
        outcome["error"] = error
        outcome["offset"] = None if message is None else message.offset()

    producer.produce(catalog.RULES, key=key, value=value, on_delivery=delivered)
    remaining = producer.flush(30)
    if remaining or "error" not in outcome:
        raise KafkaException(
            f"rule set version {record.version} was not confirmed by the broker "
            f"at {settings.bootstrap_servers} within 30 s"
        )
    if outcome["error"] is not None:
        raise KafkaException(outcome["error"])
    return outcome["offset"]


def apply_rule_set(
    settings: BrokerSettings,
    rules: RuleSet,
    author: str,
    comment: str = "",
    producer_name: str = "cli",
) -> RuleSetApplied:
    """Publish `rules` as the new version; raise VersionNotNew when it is not
    above the active version, or ApplyConflict when another record took the
    version first."""
    registry = read_registry(settings)
    registry.check_new(rules.version)
    record = new_record(rules, author, comment)
    publish(settings, record, producer_name)
    stored = read_registry(settings).get(rules.version)
    if stored != record:
        raise ApplyConflict(
            f"rule set version {rules.version} was applied by "
            f"{stored.applied_by if stored else 'another writer'} at the same time; "
            "read the history, raise the version and apply again"
        )
    return record
