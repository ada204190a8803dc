"""Every topic Workstream uses, with its key, partitions and retention.

Keys decide co-partitioning. Captures and task commands are keyed by task id
so that all changes of one item stay in order on one partition. Distribution
requests and agent commands are keyed by routing domain, because one routing
domain is matched as a whole on one partition. Task events are the log of
record and are kept forever.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "APP_ID",
    "CATALOG",
    "PARTITIONS",
    "TopicSpec",
    "changelog_topic",
    "topic_names",
]

APP_ID = "workstream"
PARTITIONS = 4
FOREVER = -1
WEEK_MS = 7 * 24 * 3600 * 1000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    key: str
    value: str
    partitions: int = PARTITIONS
    retention_ms: int = WEEK_MS
    compacted: bool = False
    config: dict[str, str] = field(default_factory=dict)

    def topic_config(self) -> dict[str, str]:
        settings = {
            "retention.ms": str(self.retention_ms),
            "cleanup.policy": "compact" if self.compacted else "delete",
        }
        return {**settings, **self.config}


def changelog_topic(table: str) -> str:
    """Return the name Faust gives the changelog topic of a table."""
    return f"{APP_ID}-{table}-changelog"


CAPTURE = "workstream.capture"
CAPTURE_REJECTED = "workstream.capture.rejected"
TASK_COMMANDS = "workstream.task.commands"
TASK_EVENTS = "workstream.task.events"
DISTRIBUTION = "workstream.distribution.requests"
AGENT_COMMANDS = "workstream.agent.commands"
AGENT_EVENTS = "workstream.agent.events"
ASSIGNMENTS = "workstream.assignments"
DEAD_LETTER = "workstream.deadletter"
RULES = "workstream.rules"

TABLES = {
    "capture-items": CAPTURE,
    "tasks": TASK_COMMANDS,
    "distributor-items": DISTRIBUTION,
    "distributor-agents": DISTRIBUTION,
}

CATALOG: tuple[TopicSpec, ...] = (
    TopicSpec(CAPTURE, "task id", "capture command JSON from a source system"),
    TopicSpec(
        CAPTURE_REJECTED,
        "task id, or empty when the capture had none",
        "CaptureRejected in an envelope",
        retention_ms=FOREVER,
    ),
    TopicSpec(TASK_COMMANDS, "task id", "validated captures and distributor decisions"),
    TopicSpec(TASK_EVENTS, "task id", "task events: the log", retention_ms=FOREVER),
    TopicSpec(DISTRIBUTION, "routing domain", "route, withdraw and tick requests"),
    TopicSpec(AGENT_COMMANDS, "routing domain", "agent commands from desktops"),
    TopicSpec(AGENT_EVENTS, "agent id", "agent state events", retention_ms=FOREVER),
    TopicSpec(ASSIGNMENTS, "agent id", "offers and withdrawn offers for desktops"),
    TopicSpec(
        DEAD_LETTER,
        "key of the failed message",
        "messages that crashed a processor, with the error",
        retention_ms=FOREVER,
    ),
    # One partition keeps every version in one order that all workers share;
    # one key per version keeps every version through compaction.
    TopicSpec(
        RULES,
        "rule set version, in decimal",
        "rules.applied envelopes: the versions of the rule set",
        partitions=1,
        retention_ms=FOREVER,
        compacted=True,
    ),
    *(
        TopicSpec(
            changelog_topic(table),
            "table key",
            f"changelog of table {table}, co-partitioned with {source}",
            retention_ms=FOREVER,
            compacted=True,
        )
        for table, source in TABLES.items()
    ),
)


def topic_names() -> list[str]:
    return [spec.name for spec in CATALOG]
