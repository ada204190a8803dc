"""Printing an item's history for people and for programs."""

from __future__ import annotations

import sys
from datetime import timedelta

import orjson

from projections.history import History
from schemas.routing import Target

__all__ = ["print_history"]

_SKIP = {"attributes", "scheme", "target"}


def print_history(history: History, as_json: bool = False) -> None:
    if as_json:
        document = {
            "task_id": history.task_id,
            "events": [event.model_dump(mode="json") for event in history.events],
            "state": history.state.model_dump(mode="json", exclude={"seen_ids"}),
        }
        sys.stdout.write(
            orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n"
        )
        return
    print(f"task {history.task_id}: {len(history.events)} events")
    for event in history.events:
        details = ", ".join(
            f"{key}={_readable(key, value)}"
            for key, value in event.data.items()
            if key not in _SKIP and value not in (None, {}, [])
        )
        version = (
            f" [rules v{event.rule_set_version}]" if event.rule_set_version else ""
        )
        print(f"  {event.time:%Y-%m-%d %H:%M:%S} {event.type:<22} {details}{version}")
    state = history.state
    print(
        f"now {state.status}: {state.department} / {state.process}, queue {state.queue}, "
        f"priority {state.priority}, due {state.due_at:%Y-%m-%d %H:%M}"
        if state.due_at
        else f"now {state.status}"
    )


def _readable(key: str, value: object) -> object:
    """Write tiers as "TARGET after DURATION" instead of raw documents."""
    if key != "tiers" or not isinstance(value, list):
        return value
    parts = []
    for tier in value:
        target = Target.model_validate(tier["target"]).key
        parts.append(f"{target} after {timedelta(seconds=tier['after_seconds'])}")
    return "[" + "; ".join(parts) + "]"
