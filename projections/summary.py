"""The live summary of a run: captures, rejections, queues, agents, service level.

It folds task events, capture rejections and agent events as they arrive,
so it works on a live stream and on a replay of the whole log alike.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from schemas.envelope import Envelope

__all__ = ["Summary", "percentile"]

ACTIVE = ("queued", "offered", "assigned", "done")


def percentile(values: list[float], fraction: float) -> float | None:
    """Return the nearest-rank percentile, or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


@dataclass
class _Item:
    status: str = "queued"
    queue: str | None = None
    queued_at: datetime | None = None
    due_at: datetime | None = None
    first_accept_wait: float | None = None
    completed_at: datetime | None = None
    distributed: bool = False


@dataclass
class Summary:
    items: dict[str, _Item] = field(default_factory=dict)
    rejected: Counter = field(default_factory=Counter)
    agents: dict[str, dict] = field(default_factory=dict)
    rona: int = 0
    capture_sent_at: dict[str, float] = field(default_factory=dict)
    first_offers: dict[str, tuple[float, str | None]] = field(default_factory=dict)
    route_requests: set[str] = field(default_factory=set)
    last_time: datetime | None = None
    seen_events: set[str] = field(default_factory=set)

    # Folding.

    def apply(self, envelope: Envelope) -> None:
        # Redelivery after a crash may repeat an event with the same id.
        if envelope.event_id in self.seen_events:
            return
        self.seen_events.add(envelope.event_id)
        if self.last_time is None or envelope.time > self.last_time:
            self.last_time = envelope.time
        if envelope.type == "route.task":
            self.route_requests.add(envelope.event_id)
        elif envelope.type == "capture.rejected":
            self.rejected[envelope.data["reason"]] += 1
        elif envelope.type.startswith("task."):
            self._apply_task(envelope)
        elif envelope.type.startswith("agent."):
            self._apply_agent(envelope)

    def _apply_task(self, envelope: Envelope) -> None:
        data, time = envelope.data, envelope.time
        item = self.items.setdefault(envelope.subject_id, _Item())
        match envelope.type:
            case "task.captured":
                item.queued_at = time
            case "task.classified":
                item.due_at = _parse(data.get("due_at"))
            case "task.queued":
                item.status, item.queue = "queued", data["queue"]
                item.queued_at = item.queued_at or time
            case "task.widened":
                item.queue = data["queue"]
            case "task.offered":
                item.status = "offered"
            case "task.accepted":
                item.status, item.distributed = "assigned", True
                if item.first_accept_wait is None and item.queued_at is not None:
                    item.first_accept_wait = (time - item.queued_at).total_seconds()
            case "task.rejected":
                item.status = "queued"
            case "task.offer_timed_out":
                item.status = "queued"
                self.rona += 1
            case "task.marked_done":
                item.status = "done"
            case "task.completed":
                item.status, item.completed_at = "completed", time
            case "task.cancelled":
                item.status, item.completed_at = "cancelled", time
            case "task.restarted":
                item.status, item.completed_at = "queued", None

    def _apply_agent(self, envelope: Envelope) -> None:
        agent = self.agents.setdefault(envelope.subject_id, {"state": "logged_out"})
        match envelope.type:
            case "agent.logged_in":
                agent.update(state="not_ready", reason="login")
            case "agent.became_ready":
                agent.update(state="ready", reason=None)
            case "agent.became_not_ready":
                agent.update(state="not_ready", reason=envelope.data["reason"])
            case "agent.logged_out":
                agent.update(state="logged_out", reason=None)

    def note_capture_sent(self, task_id: str, wall_seconds: float) -> None:
        self.capture_sent_at.setdefault(task_id, wall_seconds)

    def note_offer_seen(
        self, task_id: str, wall_seconds: float, causation_id: str | None
    ) -> None:
        """Record the first offer of a task and the message that caused it."""
        sent = self.capture_sent_at.pop(task_id, None)
        if sent is not None:
            self.first_offers[task_id] = (max(0.0, wall_seconds - sent), causation_id)

    def offer_latencies(self) -> list[float]:
        """Return capture-to-offer seconds of tasks offered on arrival.

        An offer caused by the task's own route request found a free employee
        at once, so its latency is the pipeline's. Offers made later, when an
        employee became free, measure waiting for staff instead.
        """
        return [
            latency
            for latency, cause in self.first_offers.values()
            if cause in self.route_requests
        ]

    # Reading.

    @property
    def captured(self) -> int:
        return len(self.items)

    def count(self, *statuses: str) -> int:
        return sum(1 for item in self.items.values() if item.status in statuses)

    def queues(self, now: datetime) -> dict[str, dict]:
        waiting: dict[str, dict] = {}
        for item in self.items.values():
            if item.status != "queued" or item.queue is None:
                continue
            entry = waiting.setdefault(
                item.queue, {"waiting": 0, "oldest_seconds": 0.0}
            )
            entry["waiting"] += 1
            if item.queued_at is not None:
                age = (now - item.queued_at).total_seconds()
                entry["oldest_seconds"] = max(entry["oldest_seconds"], age)
        return waiting

    def report(self) -> dict:
        completed = [i for i in self.items.values() if i.status == "completed"]
        with_due = [i for i in completed if i.due_at is not None]
        in_sla = [i for i in with_due if i.completed_at <= i.due_at]
        waits = [
            i.first_accept_wait
            for i in self.items.values()
            if i.first_accept_wait is not None
        ]
        latencies_ms = [value * 1000 for value in self.offer_latencies()]
        agent_states = Counter(agent["state"] for agent in self.agents.values())
        return {
            "captured": self.captured,
            "rejected": dict(sorted(self.rejected.items())),
            "rejected_total": sum(self.rejected.values()),
            "distributed": sum(1 for i in self.items.values() if i.distributed),
            "completed": len(completed),
            "cancelled": self.count("cancelled"),
            "open": self.count(*ACTIVE),
            "rona": self.rona,
            "sla_attainment": round(len(in_sla) / len(with_due), 4)
            if with_due
            else None,
            "wait_seconds_p50": _rounded(percentile(waits, 0.50)),
            "wait_seconds_p95": _rounded(percentile(waits, 0.95)),
            "wait_seconds_mean": _rounded(statistics.fmean(waits)) if waits else None,
            "capture_to_offer_ms_p50": _rounded(percentile(latencies_ms, 0.50)),
            "capture_to_offer_ms_p99": _rounded(percentile(latencies_ms, 0.99)),
            "offered_on_arrival": len(latencies_ms),
            "agents": dict(agent_states),
        }


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
