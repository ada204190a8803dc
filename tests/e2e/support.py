"""Desktop commands, log waits and explain calls shared by end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import orjson
from confluent_kafka import Producer

from processors.stack import Stack
from schemas.codec import decode, encode, make_envelope
from topics import catalog
from topics.consume import read_topics


def _agent_command(clock, agent_id: str, command_type: str, body) -> bytes:
    envelope = make_envelope(
        body,
        event_type=command_type,
        time=clock.now(),
        subject_id=agent_id,
        producer="test",
    )
    return encode(envelope)


def send_agent_command(
    producer: Producer,
    clock,
    agent_id: str,
    command_type: str,
    body,
    domain: str = "default",
):
    """Send one desktop command to the routing domain and wait for the broker."""
    value = _agent_command(clock, agent_id, command_type, body)
    producer.produce(catalog.AGENT_COMMANDS, key=domain.encode(), value=value)
    producer.flush(10)


def explain_item(stack: Stack, task_id: str) -> dict:
    """Run the explain command against the stack's worker."""
    worker = f"http://127.0.0.1:{stack.workers[0][1]}"
    completed = subprocess.run(
        [sys.executable, "-m", "processors.cli", "explain", task_id, "--json"]
        + ["--worker", worker],
        env={**os.environ, **stack.settings.environment()},
        capture_output=True,
        timeout=120,
        check=True,
    )
    return orjson.loads(completed.stdout)


def wait_for(settings, topic: str, predicate, timeout: float = 60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for message in read_topics(settings, [topic], timeout=2.0):
            envelope = decode(message.value())
            if predicate(envelope):
                return envelope
        time.sleep(0.3)
    raise AssertionError(f"no matching message on {topic} within {timeout:.0f} s")


def wait_for_dead_letter(settings, count: int = 1, timeout: float = 30.0) -> list:
    deadline = time.time() + timeout
    while time.time() < deadline:
        records = list(read_topics(settings, [catalog.DEAD_LETTER], timeout=2.0))
        if len(records) >= count:
            return [orjson.loads(record.value()) for record in records]
        time.sleep(0.3)
    raise AssertionError("nothing reached the dead-letter topic")
