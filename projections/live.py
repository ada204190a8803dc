"""The live status command: the summary of queues and agents, from the log."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import orjson

from projections.summary import Summary
from schemas.codec import decode
from topics import catalog
from topics.consume import read_topics
from topics.settings import BrokerSettings

__all__ = ["build_summary", "print_status"]


def build_summary(settings: BrokerSettings) -> Summary:
    """Fold the whole log of tasks, rejections and agents into a summary."""
    summary = Summary()
    topics = [catalog.TASK_EVENTS, catalog.CAPTURE_REJECTED, catalog.AGENT_EVENTS]
    for message in read_topics(settings, topics):
        summary.apply(decode(message.value()))
    return summary


def print_status(
    settings: BrokerSettings, as_json: bool = False, agents: bool = False
) -> None:
    summary = build_summary(settings)
    # Ages count on the log's own clock, which a replay may run in the past.
    now = summary.last_time or datetime.now(UTC)
    report = summary.report()
    report["queues"] = summary.queues(now)
    report["agent_states"] = summary.agents
    if as_json:
        print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
        return
    open_items = ", ".join(
        f"{STATUS_LABELS[status]} {summary.count(status)}" for status in STATUS_LABELS
    )
    print(
        f"items: {report['captured']} captured, {report['open']} open ({open_items}), "
        f"{report['completed']} completed, {report['rejected_total']} captures rejected"
    )
    print(f"queues at {now:%Y-%m-%d %H:%M} (waiting items, longest wait):")
    if not report["queues"]:
        print("  no item is waiting")
    for queue, entry in sorted(report["queues"].items()):
        age = timedelta(seconds=round(entry["oldest_seconds"]))
        print(f"  {queue:<40} {entry['waiting']:>6}  {age}")
    states = Counter(
        agent["state"]
        if agent["state"] != "not_ready"
        else f"not ready ({agent.get('reason')})"
        for agent in summary.agents.values()
    )
    print(
        "agents: "
        + (
            ", ".join(f"{state} {count}" for state, count in sorted(states.items()))
            or "none"
        )
    )
    if agents:
        for agent_id, agent in sorted(summary.agents.items()):
            reason = f" ({agent['reason']})" if agent.get("reason") else ""
            print(f"  {agent_id:<20} {agent['state']}{reason}")


STATUS_LABELS = {
    "queued": "queued",
    "offered": "offered",
    "assigned": "in hand",
    "done": "done awaiting source",
}
