"""Prometheus metrics of a worker, served at /metrics on its HTTP port."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "CAPTURES",
    "DEAD_LETTERS",
    "DECISIONS",
    "PROCESSING_SECONDS",
    "TASK_EVENTS",
    "AGENTS",
    "WAITING_ITEMS",
]

CAPTURES = Counter(
    "workstream_captures_total",
    "Captures handled by the capture point, by outcome and rejection reason",
    ["outcome", "reason"],
)
TASK_EVENTS = Counter(
    "workstream_task_events_total", "Task events appended to the log", ["type"]
)
DECISIONS = Counter(
    "workstream_distribution_effects_total",
    "Messages the distributor sent, by type",
    ["type"],
)
DEAD_LETTERS = Counter(
    "workstream_dead_letters_total",
    "Messages parked in the dead-letter topic, by processor",
    ["processor"],
)
PROCESSING_SECONDS = Histogram(
    "workstream_processing_seconds",
    "Time to handle one message, by processor",
    ["processor"],
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1.0),
)
WAITING_ITEMS = Gauge(
    "workstream_waiting_items",
    "Items waiting in routing (not offered, not in hand), by routing domain",
    ["domain"],
)
AGENTS = Gauge(
    "workstream_agents",
    "Employees by routing domain and state",
    ["domain", "state"],
)
