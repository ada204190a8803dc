"""One item's whole life, rebuilt from the task event log."""

from __future__ import annotations

from dataclasses import dataclass

from processors.domain.task import TaskState, evolve
from schemas.codec import decode, payload
from schemas.envelope import Envelope
from topics import catalog
from topics.consume import read_topics
from topics.settings import BrokerSettings

__all__ = ["History", "fold_history", "read_history"]


@dataclass
class History:
    task_id: str
    events: list[Envelope]
    state: TaskState | None


def fold_history(task_id: str, events: list[Envelope]) -> History:
    """Fold a task's events, in log order, into its state.

    Copies of an event (the same event id, written again after a crash) are
    dropped and not listed.
    """
    state = None
    seen: set[str] = set()
    unique = []
    for envelope in events:
        if envelope.event_id in seen:
            continue
        seen.add(envelope.event_id)
        unique.append(envelope)
        state = evolve(
            state,
            envelope.type,
            payload(envelope),
            envelope.time,
            envelope.rule_set_version,
        )
    return History(task_id, unique, state)


def read_history(settings: BrokerSettings, task_id: str) -> History:
    """Read every event of one task from the log and fold it."""
    key = task_id.encode()
    events = [
        decode(message.value())
        for message in read_topics(settings, [catalog.TASK_EVENTS])
        if message.key() == key
    ]
    return fold_history(task_id, events)
