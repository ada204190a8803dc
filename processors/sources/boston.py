"""Boston 311 service requests replayed as capture commands.

Each closed case becomes a create at its open time and a complete at its
close time. The export's dates are America/New_York local times.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from processors.sources.capture_traffic import (
    FALLBACK_SKILL,
    SourceCapture,
    TrafficProfile,
    load_rows,
    present,
    to_utc,
)

__all__ = [
    "ATTRIBUTE_COLUMNS",
    "BUNDLED_FILE",
    "DATE_FORMAT",
    "SKILL_ATTRIBUTE",
    "SOURCE_SYSTEM",
    "TIMEZONE",
    "boston_captures",
    "boston_profile",
]

log = logging.getLogger(__name__)

SOURCE_SYSTEM = "boston311"
BUNDLED_FILE = "boston-311-cases.csv"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
TIMEZONE = ZoneInfo("America/New_York")
SKILL_ATTRIBUTE = "QUEUE"
ATTRIBUTE_COLUMNS = (
    "SUBJECT",
    "REASON",
    "TYPE",
    "QUEUE",
    "Source",
    "neighborhood",
    "CASE_TITLE",
)
OPEN_STATUS = "Open"


def boston_captures(
    path: Path | str | None = None, limit: int | None = None
) -> list[SourceCapture]:
    """Turn a 311 case export into captures sorted by business time.

    `path` is a CSV file or a zip holding one, by default the export shipped in
    `processors/sources/data`. `limit` keeps the first that many cases in file
    order. A create and a complete at the same time keep that order.
    """
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be zero or more cases, got {limit}")
    rows = load_rows(path, BUNDLED_FILE)[:limit]
    captures = [capture for row in rows for capture in _case_captures(row)]
    captures.sort(key=lambda capture: capture.at)
    log.debug("read %d Boston 311 captures", len(captures))
    return captures


def boston_profile(captures: Iterable[SourceCapture]) -> TrafficProfile:
    """Measure the queues Boston 311 captures target and how long cases stay open.

    The skill is the `QUEUE` attribute, or the fallback skill when it is missing.
    The handling time of a case runs from its create to its complete.
    """
    demand: dict[str, int] = {}
    opened: dict[str, datetime] = {}
    durations: dict[str, float] = {}
    for capture in captures:
        if capture.source_system != SOURCE_SYSTEM:
            continue
        document = capture.document()
        if document["type"] == "create":
            queue = document.get("attributes", {}).get(SKILL_ATTRIBUTE)
            skill = queue or FALLBACK_SKILL
            demand[skill] = demand.get(skill, 0) + 1
            opened.setdefault(capture.key, capture.at)
        elif document["type"] == "complete" and capture.key in opened:
            elapsed = (capture.at - opened[capture.key]).total_seconds()
            durations.setdefault(capture.key, elapsed)
    return TrafficProfile(demand, frozenset(demand), tuple(durations.values()))


def _case_captures(row: dict[str, str]) -> tuple[SourceCapture, SourceCapture]:
    case_id = row["CASE_ENQUIRY_ID"]
    common = {"source_system": SOURCE_SYSTEM, "external_id": case_id}
    create = {
        "type": "create",
        "capture_id": f"{case_id}/create",
        **common,
        "occurred_at": row["OPEN_DT"],
        "due_at": present(row["TARGET_DT"]),
        "status": OPEN_STATUS,
        "attributes": _attributes(row),
    }
    complete = {
        "type": "complete",
        "capture_id": f"{case_id}/complete",
        **common,
        "occurred_at": row["CLOSED_DT"],
        "status": row["CASE_STATUS"],
    }
    return (
        SourceCapture.build(_parse(row["OPEN_DT"]), create),
        SourceCapture.build(_parse(row["CLOSED_DT"]), complete),
    )


def _attributes(row: dict[str, str]) -> dict[str, Any]:
    return {name: present(row[name]) for name in ATTRIBUTE_COLUMNS}


def _parse(text: str) -> datetime:
    return to_utc(datetime.strptime(text, DATE_FORMAT), TIMEZONE)
