"""The live status command: the summary of queues and agents, from the log."""

from __future__ import annotations

from datetime import UTC, datetime

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


def print_status(settings: BrokerSettings, as_json: bool = False) -> None:
    summary = build_summary(settings)
    now = datetime.now(UTC)
    report = summary.report()
    report["queues"] = summary.queues(now)
    report["agent_states"] = summary.agents
    if as_json:
        print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
        return
    print(
        f"items: {report['captured']} captured, {report['open']} open, {report['completed']} completed, {report['rejected_total']} rejected"
    )
    print("queues:")
    for queue, entry in sorted(report["queues"].items()):
        print(f"  {queue:<40} waiting {entry['waiting']:>5}")
    print("agents:")
    for agent_id, agent in sorted(summary.agents.items()):
        reason = f" ({agent['reason']})" if agent.get("reason") else ""
        print(f"  {agent_id:<20} {agent['state']}{reason}")
