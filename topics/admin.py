"""Creating and checking the catalog's topics. Topics are never auto-created."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from topics.catalog import CATALOG, TopicSpec
from topics.settings import BrokerSettings

__all__ = ["TopicProblem", "check_topics", "create_topics"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TopicProblem:
    topic: str
    problem: str


def create_topics(settings: BrokerSettings, timeout: float = 30.0) -> list[str]:
    """Create every missing catalog topic; return the names created."""
    admin = AdminClient(settings.confluent())
    existing = set(admin.list_topics(timeout=timeout).topics)
    missing = [spec for spec in CATALOG if spec.name not in existing]
    if not missing:
        return []
    futures = admin.create_topics(
        [_new_topic(spec) for spec in missing], request_timeout=timeout
    )
    created = []
    for name, future in futures.items():
        try:
            future.result()
            created.append(name)
        except KafkaException as error:
            if "TOPIC_ALREADY_EXISTS" not in str(error):
                raise
    log.info("created %d topics: %s", len(created), ", ".join(sorted(created)))
    return created


def _new_topic(spec: TopicSpec) -> NewTopic:
    return NewTopic(
        spec.name,
        num_partitions=spec.partitions,
        replication_factor=int(os.environ.get("WORKSTREAM_REPLICATION_FACTOR", "1")),
        config=spec.topic_config(),
    )


def check_topics(settings: BrokerSettings, timeout: float = 30.0) -> list[TopicProblem]:
    """Compare the broker's topics with the catalog; return what differs."""
    admin = AdminClient(settings.confluent())
    metadata = admin.list_topics(timeout=timeout).topics
    problems = []
    for spec in CATALOG:
        topic = metadata.get(spec.name)
        if topic is None:
            problems.append(TopicProblem(spec.name, "missing"))
        elif len(topic.partitions) != spec.partitions:
            problems.append(
                TopicProblem(
                    spec.name,
                    f"has {len(topic.partitions)} partitions, expected "
                    f"{spec.partitions}",
                )
            )
    return problems
