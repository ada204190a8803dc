"""Several routing domains on one and on two workers, through Kafka.

Captures of the shipped incident log are spread over `domains` routing
domains (round robin), each domain with one employee who has every skill
and room for every item. For each worker count, the benchmark starts a
stack, sends the captures at rising rates as `bench latency` does, and
reports capture-to-offer latency and the offer rate achieved. Routing
domains are keys of the distribution topics, so the partitions, and the
domains with them, are shared out among the workers of the consumer group.
Each worker's /metrics page shows which domains it routed.
"""

from __future__ import annotations

import re
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import orjson
from confluent_kafka import Producer

from processors.benchmarks import publish
from processors.benchmarks.latency import (
    SECONDS_PER_RATE,
    WARM_UP,
    measure_rising_rates,
)
from processors.benchmarks.pipeline import log_creates, log_in_bench_agent
from processors.sources.capture_traffic import SourceCapture
from processors.stack import Stack
from topics import catalog
from topics.consume import consumer_at_end

__all__ = ["run_domains_bench"]

RESULTS = Path("results/bench-domains.json")
RATES = (40, 80, 160, 240)
DOMAIN_METRIC = re.compile(r'^workstream_agents\{domain="([^"]+)"')


def run_domains_bench(domains: int, worker_counts: list[int], as_json: bool) -> int:
    names = [f"domain-{number}" for number in range(domains)]
    count = int(sum(RATES) * SECONDS_PER_RATE) + WARM_UP
    creates = _spread(log_creates(count), names)
    runs = [_run(workers, names, creates) for workers in worker_counts]
    result = {
        "domains": domains,
        "runs": runs,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    lines = []
    for run in runs:
        lines.append(
            f"{run['workers']} worker(s), domains per worker "
            f"{run['domains_per_worker']}, saturation {run['saturation_per_s']}/s"
        )
        for step in run["steps"]:
            lines.append(
                f"  {step['rate']:>4}/s offered {step['offered']}/{step['sent']} "
                f"p50 {step['p50_ms']} ms p99 {step['p99_ms']} ms "
                f"achieved {step['achieved_per_s']}/s"
            )
    publish(result, RESULTS, as_json, "\n".join(lines))
    return 0


def _spread(creates: list[SourceCapture], names: list[str]) -> list[SourceCapture]:
    """Assign the captures to the routing domains in turn."""
    spread = []
    for number, capture in enumerate(creates):
        document = capture.document()
        document["routing_domain"] = names[number % len(names)]
        spread.append(SourceCapture(capture.at, capture.key, orjson.dumps(document)))
    return spread


def _run(workers: int, names: list[str], creates: list[SourceCapture]) -> dict:
    with Stack(workers=workers) as stack:
        producer = Producer(stack.settings.producer_config())
        watcher = consumer_at_end(stack.settings, [catalog.ASSIGNMENTS], "bench-dom")
        for name in names:
            log_in_bench_agent(producer, creates, watcher, name, f"bench-{name}")
        steps = measure_rising_rates(producer, watcher, creates, RATES)
        routed = [_domains_of(port) for _, port in stack.workers]
        watcher.close()
        producer.flush(10)
        del producer  # close the client while the broker still runs
    return {
        "workers": workers,
        "domains_per_worker": [len(domains) for domains in routed],
        "domains_by_worker": routed,
        "steps": steps,
        "saturation_per_s": next((s["rate"] for s in steps if not s["kept_up"]), None),
    }


def _domains_of(port: int) -> list[str]:
    """Return the routing domains a worker reports employees for."""
    url = f"http://127.0.0.1:{port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    found = {
        match.group(1)
        for line in text.splitlines()
        if (match := DOMAIN_METRIC.match(line))
    }
    return sorted(found)
