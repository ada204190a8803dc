"""Pipeline throughput at saturation, against the broker's raw rate.

Both figures come from one run on one broker. The raw rate is that of a
confluent-kafka consumer that reads records and produces each to another
topic (one hop). The pipeline rate is captures per second from the first
capture sent to the last `task.offered` event in the log, four hops:
capture, tasks, distributor and tasks again.
"""

from __future__ import annotations

import logging
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from processors.benchmarks import publish
from processors.simulation.demo import load_captures
from processors.sources.capture_traffic import SourceCapture
from processors.stack import Stack
from schemas.agents import LogIn, Ready
from schemas.codec import decode, encode, make_envelope
from schemas.routing import Capacity
from topics import catalog
from topics.consume import consumer_at_end
from topics.settings import BrokerSettings

__all__ = ["log_creates", "log_in_bench_agent", "run_pipeline_bench"]

log = logging.getLogger(__name__)

RESULTS = Path("results/bench-pipeline.json")
BENCH_AGENT = "bench-agent"


def run_pipeline_bench(count: int, as_json: bool) -> int:
    creates = log_creates(count)
    with Stack(workers=1) as stack:
        raw_per_s = _raw_rate(stack.settings, creates)
        pipeline_per_s = _pipeline_rate(stack.settings, creates)
    result = {
        "captures": len(creates),
        "pipeline_per_s": round(pipeline_per_s, 1),
        "raw_per_s": round(raw_per_s, 1),
        "ratio": round(pipeline_per_s / raw_per_s, 4),
        "broker": "embedded"
        if stack.settings.embedded
        else stack.settings.bootstrap_servers,
        "one_record_batches": stack.settings.one_record_batches,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    text = (
        f"pipeline {result['pipeline_per_s']} captures/s, raw consume-and-produce "
        f"{result['raw_per_s']} records/s, ratio {result['ratio']} "
        f"({result['captures']} captures; written to {RESULTS})"
    )
    publish(result, RESULTS, as_json, text)
    return 0


def log_creates(count: int) -> list[SourceCapture]:
    """Return the first `count` creates of the shipped incident log."""
    creates = []
    for capture in load_captures("servicenow", None, 10 * count):
        if capture.document()["type"] == "create":
            creates.append(capture)
            if len(creates) == count:
                break
    return creates


def _raw_rate(settings: BrokerSettings, creates: list[SourceCapture]) -> float:
    """Records per second that one consumer reads and produces onward."""
    suffix = uuid.uuid4().hex[:8]
    source, sink = f"bench.raw.in.{suffix}", f"bench.raw.out.{suffix}"
    admin = AdminClient(settings.confluent())
    for future in admin.create_topics(
        [NewTopic(t, catalog.PARTITIONS, 1) for t in (source, sink)]
    ).values():
        future.result()

    producer = Producer(settings.producer_config())
    for capture in creates:
        producer.produce(source, key=capture.key.encode(), value=capture.payload)
        producer.poll(0)
    producer.flush(60)

    consumer = Consumer(
        settings.consumer_config(
            **{"group.id": f"bench-{suffix}", "auto.offset.reset": "earliest"}
        )
    )
    consumer.assign([TopicPartition(source, p, 0) for p in range(catalog.PARTITIONS)])
    seen = 0
    started = None
    while seen < len(creates):
        for message in consumer.consume(num_messages=500, timeout=5.0):
            if message.error():
                continue
            started = started or time.perf_counter()
            producer.produce(sink, key=message.key(), value=message.value())
            producer.poll(0)
            seen += 1
    producer.flush(60)
    elapsed = time.perf_counter() - started
    consumer.close()
    return seen / elapsed


def _pipeline_rate(settings: BrokerSettings, creates: list[SourceCapture]) -> float:
    producer = Producer(settings.producer_config())
    watcher = consumer_at_end(settings, [catalog.TASK_EVENTS], "bench-pipeline")
    log_in_bench_agent(producer, creates, watcher)

    started = time.time()
    for capture in creates:
        producer.produce(
            catalog.CAPTURE, key=capture.key.encode(), value=capture.payload
        )
        producer.poll(0)
    producer.flush(60)

    offered: set[str] = set()
    last = started
    deadline = time.time() + 600
    while len(offered) < len(creates) and time.time() < deadline:
        for message in watcher.consume(num_messages=500, timeout=1.0):
            if message.error():
                continue
            envelope = decode(message.value())
            if envelope.type == "task.offered":
                offered.add(envelope.subject_id)
                last = max(last, message.timestamp()[1] / 1000)
    watcher.close()
    if len(offered) < len(creates):
        print(
            f"only {len(offered)} of {len(creates)} captures were offered within 600 s",
            file=sys.stderr,
        )
    return len(offered) / (last - started)


def log_in_bench_agent(
    producer: Producer,
    creates: list[SourceCapture],
    watcher: Consumer,
    domain: str = "default",
    agent_id: str = BENCH_AGENT,
) -> None:
    """Log in one employee of routing domain `domain` with every skill and
    room for every item, so the distributor offers each item at once."""
    skills = {"reception": 5}
    for capture in creates:
        group = capture.document().get("attributes", {}).get("assignment_group")
        if group:
            skills[group] = 5
    now = datetime.now(UTC)
    commands = [
        (
            "agent.log_in",
            LogIn(
                name="bench",
                skills=skills,
                capacity=Capacity(workitem=len(creates) + 1),
            ),
        ),
        ("agent.ready", Ready()),
    ]
    for command_type, body in commands:
        envelope = make_envelope(
            body,
            event_type=command_type,
            time=now,
            subject_id=agent_id,
            producer="bench",
        )
        producer.produce(
            catalog.AGENT_COMMANDS, key=domain.encode(), value=encode(envelope)
        )
    producer.flush(10)
    time.sleep(1.0)
