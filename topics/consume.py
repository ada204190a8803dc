"""Reading whole topics from the start up to their current end."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition

from topics.settings import BrokerSettings

__all__ = ["consumer_at_end", "read_topics"]

log = logging.getLogger(__name__)


def read_topics(
    settings: BrokerSettings,
    topics: list[str],
    timeout: float = 10.0,
) -> Iterator[Message]:
    """Yield every record of `topics` that exists now, partition by partition."""
    consumer = Consumer(
        settings.consumer_config(
            **{
                "group.id": f"workstream-reader-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
            }
        )
    )
    try:
        assignment = []
        ends: dict[tuple[str, int], int] = {}
        metadata = consumer.list_topics(timeout=timeout).topics
        for topic in topics:
            if topic not in metadata:
                raise LookupError(
                    f"topic {topic!r} does not exist; run 'workstream topics create'"
                )
            for partition in metadata[topic].partitions:
                low, high = consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), timeout=timeout
                )
                if high > low:
                    ends[(topic, partition)] = high
                    assignment.append(
                        TopicPartition(topic, partition, OFFSET_BEGINNING)
                    )
        if not assignment:
            return
        consumer.assign(assignment)
        while ends:
            message = consumer.poll(timeout)
            if message is None:
                log.warning("no record within %.0f s; stopping early", timeout)
                return
            if message.error():
                raise RuntimeError(f"consume failed: {message.error()}")
            yield message
            position = (message.topic(), message.partition())
            if position in ends and message.offset() + 1 >= ends[position]:
                del ends[position]
    finally:
        consumer.close()


def consumer_at_end(
    settings: BrokerSettings, topics: list[str], group_prefix: str
) -> Consumer:
    """Create a consumer of `topics` that starts at their current end, so it
    reads only records produced from now on."""
    consumer = Consumer(
        settings.consumer_config(
            **{
                "group.id": f"{group_prefix}-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
            }
        )
    )
    metadata = consumer.list_topics(timeout=10).topics
    assignment = []
    for topic in topics:
        for partition in metadata[topic].partitions:
            _, high = consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=10
            )
            assignment.append(TopicPartition(topic, partition, high))
    consumer.assign(assignment)
    return consumer
