"""Capture-to-offer latency through Kafka at rising capture rates.

The benchmark starts one stack (the embedded broker unless
KAFKA_BOOTSTRAP_SERVERS is set, and one worker) and logs in one employee
with every skill and room for every item, so each item is offered on
arrival. For each rate it sends captures at that pace for a few seconds and
measures, per capture, the wall time from its send to the broker timestamp
of its `assignment.offer` record. It stops after the first rate the
pipeline cannot keep up with.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import Consumer, Producer

from processors.benchmarks import publish
from processors.benchmarks.pipeline import log_creates, log_in_bench_agent
from processors.stack import Stack
from projections.summary import percentile
from schemas.codec import decode
from topics import catalog
from topics.consume import consumer_at_end

__all__ = ["SECONDS_PER_RATE", "WARM_UP", "measure_rising_rates", "run_latency_bench"]

RESULTS = Path("results/bench-latency.json")
RATES = (5, 10, 20, 40, 80, 160)
SECONDS_PER_RATE = 8.0
DRAIN_SECONDS = 20.0
WARM_UP = 10


def run_latency_bench(as_json: bool) -> int:
    creates = log_creates(int(sum(RATES) * SECONDS_PER_RATE) + WARM_UP)
    with Stack(workers=1) as stack:
        settings = stack.settings
        producer = Producer(settings.producer_config())
        watcher = consumer_at_end(settings, [catalog.ASSIGNMENTS], "bench-latency")
        log_in_bench_agent(producer, creates, watcher)
        steps = measure_rising_rates(producer, watcher, creates, RATES)
        watcher.close()
        producer.flush(10)
        del producer  # close the client while the broker still runs
    result = {
        "steps": steps,
        "saturation_per_s": next((s["rate"] for s in steps if not s["kept_up"]), None),
        "broker": "embedded" if settings.embedded else settings.bootstrap_servers,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    lines = [
        f"{step['rate']:>4}/s offered {step['offered']}/{step['sent']} "
        f"p50 {step['p50_ms']} ms p99 {step['p99_ms']} ms "
        f"achieved {step['achieved_per_s']}/s"
        + ("" if step["kept_up"] else "  <- saturated")
        for step in steps
    ]
    publish(result, RESULTS, as_json, "\n".join(lines))
    return 0


def measure_rising_rates(
    producer: Producer, watcher: Consumer, creates: list, rates: tuple[int, ...]
) -> list[dict]:
    """Warm up, then send `creates` at each rate in turn for SECONDS_PER_RATE,
    stopping after the first rate the pipeline does not keep up with."""
    # The first captures also wait for partition assignment.
    measure_rate(producer, watcher, creates[:WARM_UP], rates[0])
    position = WARM_UP
    steps = []
    for rate in rates:
        count = int(rate * SECONDS_PER_RATE)
        batch = creates[position : position + count]
        position += count
        step = measure_rate(producer, watcher, batch, rate)
        steps.append(step)
        if not step["kept_up"]:
            break
    return steps


def measure_rate(producer: Producer, watcher: Consumer, batch, rate: int) -> dict:
    """Send `batch` at `rate` per second and collect each offer's latency."""
    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    offered_at: list[float] = []
    started = time.time()
    for number, capture in enumerate(batch):
        pause = started + number / rate - time.time()
        if pause > 0:
            _collect(watcher, sent_at, latencies, offered_at, pause)
        producer.produce(
            catalog.CAPTURE, key=capture.key.encode(), value=capture.payload
        )
        producer.poll(0)
        sent_at[capture.key] = time.time()
    producer.flush(30)
    deadline = time.time() + DRAIN_SECONDS
    while sent_at and time.time() < deadline:
        _collect(watcher, sent_at, latencies, offered_at, 0.2)
    elapsed = max(offered_at, default=started) - started
    latencies_ms = [value * 1000 for value in latencies]
    achieved = len(latencies) / max(elapsed, 1e-9)
    p99 = percentile(latencies_ms, 0.99)
    return {
        "rate": rate,
        "sent": len(batch),
        "offered": len(latencies),
        "p50_ms": _round(percentile(latencies_ms, 0.50)),
        "p99_ms": _round(p99),
        "achieved_per_s": round(achieved, 1),
        "kept_up": len(latencies) == len(batch) and (p99 or 0) < 1000.0,
    }


def _collect(
    watcher: Consumer,
    sent_at: dict,
    latencies: list,
    offered_at: list,
    seconds: float,
) -> None:
    deadline = time.time() + seconds
    while True:
        remaining = deadline - time.time()
        if remaining <= 0:
            return
        for message in watcher.consume(num_messages=500, timeout=min(remaining, 0.05)):
            if message.error():
                continue
            envelope = decode(message.value())
            if envelope.type != "assignment.offer":
                continue
            sent = sent_at.pop(envelope.data["task_id"], None)
            if sent is not None:
                offered = message.timestamp()[1] / 1000
                latencies.append(max(0.0, offered - sent))
                offered_at.append(offered)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
