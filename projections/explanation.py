"""The explain command: the live routing state of an item from its worker,
with the decisions already made about it from the log."""

from __future__ import annotations

import sys
import urllib.parse
import urllib.request
from typing import Any

import orjson

from projections.history import read_history
from topics.settings import BrokerSettings

__all__ = ["print_explanation", "read_explanation"]

DECISIONS = (
    "task.queued",
    "task.widened",
    "task.offered",
    "task.accepted",
    "task.rejected",
    "task.offer_timed_out",
    "task.marked_done",
    "task.completed",
    "task.cancelled",
    "task.restarted",
)


def read_explanation(
    settings: BrokerSettings, worker_url: str, task_id: str
) -> dict[str, Any] | None:
    """Return the explanation of one item, or None when the log has no such item."""
    history = read_history(settings, task_id)
    if not history.events:
        return None
    quoted = urllib.parse.quote(task_id, safe="")
    with urllib.request.urlopen(f"{worker_url}/explain/{quoted}/", timeout=10) as reply:
        routing = orjson.loads(reply.read())
    routing["status"] = history.state.status
    routing["decisions"] = [
        {"time": event.time.isoformat(), "type": event.type, **_brief(event.data)}
        for event in history.events
        if event.type in DECISIONS
    ]
    return routing


def print_explanation(explanation: dict[str, Any], as_json: bool = False) -> None:
    if as_json:
        sys.stdout.write(
            orjson.dumps(explanation, option=orjson.OPT_INDENT_2).decode() + "\n"
        )
        return
    print(f"task {explanation['task_id']}: {explanation['status']}")
    if not explanation["in_routing"]:
        print("  not in routing (completed, cancelled, or marked done)")
    else:
        _print_routing(explanation)
    print("decisions:")
    for decision in explanation["decisions"]:
        details = ", ".join(
            f"{k}={v}" for k, v in decision.items() if k not in ("time", "type")
        )
        print(f"  {decision['time']}  {decision['type']:<22} {details}")


def _print_routing(explanation: dict[str, Any]) -> None:
    tiers = f"tier {explanation['tier'] + 1} of {explanation['tiers']}"
    print(f"  {explanation['state']}, {tiers}: {explanation['target']}")
    print(
        f"  priority {explanation['priority']}, next change "
        f"{explanation['next_priority_change'] or 'none'}, due {explanation['due_at'] or 'none'}"
    )
    if explanation.get("calendar"):
        print(f"  priority steps on open time of calendar {explanation['calendar']}")
    upcoming = explanation.get("next_tier")
    if upcoming:
        print(f"  widens at {upcoming['at']} to add {upcoming['adds']}")
    if explanation.get("ahead_in_queue") is not None:
        print(f"  {explanation['ahead_in_queue']} items ahead of it in its queue")
    print("  employees:")
    for row in explanation["employees"]:
        print(f"    {row['agent_id']:<20} {'; '.join(row['reasons'])}")


def _brief(data: dict[str, Any]) -> dict[str, Any]:
    keys = ("agent_id", "queue", "priority", "tier")
    return {key: data[key] for key in keys if data.get(key) is not None}
