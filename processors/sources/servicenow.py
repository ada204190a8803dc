"""ServiceNow incident event log replayed as capture commands.

Each row of the log is one update of one incident. Rows are replayed in the
order of their update time, so a source system's create, updates, completions
and reopenings arrive as they happened.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from processors.sources.capture_traffic import (
    FALLBACK_SKILL,
    SourceCapture,
    TrafficProfile,
    load_rows,
    paused_gc,
    present,
)

__all__ = [
    "ATTRIBUTE_COLUMNS",
    "BUNDLED_FILE",
    "DATE_FORMAT",
    "SKILL_ATTRIBUTE",
    "SOURCE_SYSTEM",
    "servicenow_captures",
    "servicenow_profile",
]

log = logging.getLogger(__name__)

SOURCE_SYSTEM = "servicenow"
BUNDLED_FILE = "servicenow-incident-event-log.csv.zip"
DATE_FORMAT = "%d/%m/%Y %H:%M"
MISSING = "?"
SKILL_ATTRIBUTE = "assignment_group"
ATTRIBUTE_COLUMNS = (
    "priority",
    "assignment_group",
    "contact_type",
    "category",
    "subcategory",
    "impact",
    "urgency",
    "location",
    "caller_id",
    "made_sla",
    "reassignment_count",
    "reopen_count",
    "assigned_to",
)
COMPLETED_STATES = frozenset({"Resolved", "Closed"})
RESOLVED_STATE = "Resolved"
SHORT_DESCRIPTION_LENGTH = 30


@dataclass(frozen=True, slots=True)
class _Row:
    at: datetime
    mod_count: int
    index: int
    fields: dict[str, str]

    @property
    def number(self) -> str:
        return self.fields["number"]


def servicenow_captures(
    path: Path | str | None = None, limit: int | None = None
) -> list[SourceCapture]:
    """Turn an incident event log into captures sorted by update time.

    `path` is a CSV file or a zip holding one, by default the log shipped in
    `processors/sources/data`. `limit` keeps the first that many incidents by
    their first update time, with all their rows.
    """
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be zero or more incidents, got {limit}")
    with paused_gc():
        rows = _sorted_rows(load_rows(path, BUNDLED_FILE))
        if limit is not None:
            rows = _first_incidents(rows, limit)
        captures = _captures(rows)
    log.debug("read %d ServiceNow captures", len(captures))
    return captures


def servicenow_profile(captures: Iterable[SourceCapture]) -> TrafficProfile:
    """Measure the skills ServiceNow captures target and how long incidents take.

    The skill is the `assignment_group` attribute, or the fallback skill when it
    is missing. The handling time of an incident runs from its create to its
    first Resolved row, so an incident created as Resolved yields zero.
    """
    demand: dict[str, int] = {}
    skills: set[str] = set()
    created: dict[str, datetime] = {}
    durations: dict[str, float] = {}
    for capture in captures:
        if capture.source_system != SOURCE_SYSTEM:
            continue
        document = capture.document()
        kind = document["type"]
        if kind in ("create", "update", "restart"):
            skills.add(_skill(document))
        if kind == "create":
            skill = _skill(document)
            demand[skill] = demand.get(skill, 0) + 1
            created.setdefault(capture.key, capture.at)
        if document.get("status") == RESOLVED_STATE and capture.key in created:
            elapsed = (capture.at - created[capture.key]).total_seconds()
            durations.setdefault(capture.key, elapsed)
    return TrafficProfile(demand, frozenset(skills), tuple(durations.values()))


def _skill(document: dict[str, Any]) -> str:
    return document.get("attributes", {}).get(SKILL_ATTRIBUTE) or FALLBACK_SKILL


def _sorted_rows(records: list[dict[str, str]]) -> list[_Row]:
    parsed: dict[str, datetime] = {}
    rows = []
    for index, fields in enumerate(records):
        text = fields["sys_updated_at"]
        at = parsed.get(text)
        if at is None:
            at = datetime.strptime(text, DATE_FORMAT).replace(tzinfo=UTC)
            parsed[text] = at
        rows.append(_Row(at, int(fields["sys_mod_count"]), index, fields))
    rows.sort(key=lambda row: (row.at, row.mod_count, row.index))
    return rows


def _first_incidents(rows: list[_Row], limit: int) -> list[_Row]:
    # Rows are in time order, so an incident's first row is its earliest.
    incidents: set[str] = set()
    for row in rows:
        if len(incidents) == limit:
            break
        incidents.add(row.number)
    return [row for row in rows if row.number in incidents]


def _captures(rows: list[_Row]) -> list[SourceCapture]:
    completed: dict[str, bool] = {}
    captures = []
    for row in rows:
        state = row.fields["incident_state"]
        kind = _capture_type(completed.get(row.number), state)
        if kind == "complete":
            completed[row.number] = True
        elif kind in ("create", "restart"):
            completed[row.number] = False
        captures.append(SourceCapture.build(row.at, _document(row, kind)))
    return captures


def _capture_type(completed: bool | None, state: str) -> str:
    """Choose the capture type of a row from the incident's state so far.

    `completed` is None before the incident's first row.
    """
    if completed is None:
        return "create"
    if state in COMPLETED_STATES:
        return "complete"
    if completed and _is_active(state):
        return "restart"
    return "update"


def _is_active(state: str) -> bool:
    return state in ("New", "Active") or state.startswith("Awaiting ")


def _document(row: _Row, kind: str) -> dict[str, Any]:
    fields = row.fields
    return {
        "type": kind,
        "capture_id": f"{row.number}/{row.mod_count}/{row.index}",
        "source_system": SOURCE_SYSTEM,
        "external_id": row.number,
        "occurred_at": fields["sys_updated_at"],
        "status": fields["incident_state"],
        "attributes": _attributes(fields),
    }


def _attributes(fields: dict[str, str]) -> dict[str, str | None]:
    attributes = {name: present(fields[name], MISSING) for name in ATTRIBUTE_COLUMNS}
    attributes["short_description"] = _short_description(fields)
    return attributes


def _short_description(fields: dict[str, str]) -> str | None:
    parts = [present(fields[name], MISSING) for name in ("category", "subcategory")]
    text = " / ".join(part for part in parts if part is not None)
    return text[:SHORT_DESCRIPTION_LENGTH] or None
