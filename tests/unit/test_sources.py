"""Capture traffic replayed from the shipped ServiceNow and Boston 311 exports."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from processors.domain.rulesets import default_rules
from processors.domain.validation import CaptureError, parse_capture
from processors.sources.boston import boston_captures
from processors.sources.capture_traffic import SourceCapture
from processors.sources.servicenow import servicenow_captures
from schemas.capture import RejectionReason
from schemas.rules import RuleSet

SERVICENOW_INCIDENTS = 20_769
SERVICENOW_ROWS = 119_998


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return default_rules()


@pytest.fixture(scope="module")
def servicenow_all() -> list[SourceCapture]:
    return servicenow_captures()


@pytest.fixture(scope="module")
def servicenow_200() -> list[SourceCapture]:
    return servicenow_captures(limit=200)


@pytest.fixture(scope="module")
def boston_all() -> list[SourceCapture]:
    return boston_captures()


@pytest.fixture(scope="module")
def boston_100() -> list[SourceCapture]:
    return boston_captures(limit=100)


def documents_of(captures: list[SourceCapture], key: str) -> list[dict[str, Any]]:
    return [capture.document() for capture in captures if capture.key == key]


def only(documents: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    [document] = [document for document in documents if document["type"] == kind]
    return document


def capture_by_id(captures: list[SourceCapture], capture_id: str) -> SourceCapture:
    [capture] = [c for c in captures if c.document()["capture_id"] == capture_id]
    return capture


def is_time_ordered(captures: list[SourceCapture]) -> bool:
    return all(a.at <= b.at for a, b in zip(captures, captures[1:]))


# ServiceNow


def test_servicenow_first_200_parse(
    servicenow_200: list[SourceCapture], rules: RuleSet
) -> None:
    failures = []
    mismatched = []
    for capture in servicenow_200:
        try:
            command = parse_capture(capture.payload, rules)
        except CaptureError as error:
            failures.append((capture.key, error.reason))
            continue
        occurred_at = command.occurred_at.astimezone(UTC)
        if (command.task_id, occurred_at) != (capture.key, capture.at):
            mismatched.append(capture.key)
    assert failures == []
    assert mismatched == []


def test_servicenow_unknown_status_rejected(
    servicenow_all: list[SourceCapture], rules: RuleSet
) -> None:
    rejected = []
    for capture in servicenow_all:
        try:
            parse_capture(capture.payload, rules)
        except CaptureError as error:
            rejected.append((error.external_id, error.reason, error.capture_id))
    assert len(rejected) == 2
    assert {external_id for external_id, _, _ in rejected} == {"INC0028089"}
    assert {reason for _, reason, _ in rejected} == {RejectionReason.UNKNOWN_STATUS}
    capture_ids = [capture_id for _, _, capture_id in rejected]
    assert [capture_id.split("/")[1] for capture_id in capture_ids] == ["1", "2"]


def test_servicenow_unknown_status_verbatim(
    servicenow_all: list[SourceCapture],
) -> None:
    documents = documents_of(servicenow_all, "servicenow:INC0028089")
    statuses = [document["status"] for document in documents]
    assert statuses == ["New", "-100", "-100", "Resolved", "Resolved", "Closed"]
    assert [document["type"] for document in documents[1:3]] == ["update", "update"]


def test_servicenow_counts(servicenow_all: list[SourceCapture]) -> None:
    creates = [c for c in servicenow_all if c.document()["type"] == "create"]
    assert len(servicenow_all) == SERVICENOW_ROWS
    assert len(creates) == SERVICENOW_INCIDENTS
    assert len({capture.key for capture in creates}) == SERVICENOW_INCIDENTS


def test_servicenow_limit_counts(servicenow_200: list[SourceCapture]) -> None:
    creates = [c for c in servicenow_200 if c.document()["type"] == "create"]
    assert len(creates) == 200
    assert len({capture.key for capture in servicenow_200}) == 200


def test_servicenow_limit_earliest(
    servicenow_all: list[SourceCapture], servicenow_200: list[SourceCapture]
) -> None:
    first_keys = list(dict.fromkeys(capture.key for capture in servicenow_all))
    assert {capture.key for capture in servicenow_200} == set(first_keys[:200])


def test_servicenow_limit_keeps_rows(
    servicenow_all: list[SourceCapture], servicenow_200: list[SourceCapture]
) -> None:
    keys = {capture.key for capture in servicenow_200}
    expected = [capture for capture in servicenow_all if capture.key in keys]
    assert servicenow_200 == expected


def test_servicenow_time_order(servicenow_all: list[SourceCapture]) -> None:
    assert is_time_ordered(servicenow_all)


def test_servicenow_capture_ids_unique(servicenow_all: list[SourceCapture]) -> None:
    capture_ids = [capture.document()["capture_id"] for capture in servicenow_all]
    assert len(set(capture_ids)) == SERVICENOW_ROWS


def test_servicenow_reopened_restart(servicenow_200: list[SourceCapture]) -> None:
    documents = documents_of(servicenow_200, "servicenow:INC0000102")
    kinds = [document["type"] for document in documents]
    assert kinds[-4:] == ["complete", "restart", "complete", "complete"]
    assert kinds.count("restart") == 1
    restart = only(documents, "restart")
    assert restart["status"] == "Active"
    assert restart["attributes"]["reopen_count"] == "1"


def test_servicenow_reopened_twice(servicenow_all: list[SourceCapture]) -> None:
    documents = documents_of(servicenow_all, "servicenow:INC0000715")
    restarts = [document for document in documents if document["type"] == "restart"]
    assert len(restarts) == 2
    assert [r["attributes"]["reopen_count"] for r in restarts] == ["1", "2"]


def test_servicenow_resolved_complete(servicenow_200: list[SourceCapture]) -> None:
    documents = documents_of(servicenow_200, "servicenow:INC0000045")
    kinds = [document["type"] for document in documents]
    statuses = [document["status"] for document in documents]
    assert kinds == ["create", "complete", "complete", "complete"]
    assert statuses == ["New", "Resolved", "Resolved", "Closed"]


def test_servicenow_create_fields(servicenow_200: list[SourceCapture]) -> None:
    capture = servicenow_200[0]
    document = capture.document()
    attributes = document["attributes"]
    assert capture.key == "servicenow:INC0000045"
    assert capture.at == datetime(2016, 2, 29, 1, 23, tzinfo=UTC)
    assert document["type"] == "create"
    assert document["occurred_at"] == "29/2/2016 01:23"
    assert document["capture_id"] == "INC0000045/0/0"
    assert attributes["assignment_group"] == "Group 56"
    assert attributes["priority"] == "3 - Moderate"
    assert attributes["assigned_to"] is None
    assert attributes["short_description"] == "Category 55 / Subcategory 170"


def test_servicenow_mapped_attributes(
    servicenow_200: list[SourceCapture], rules: RuleSet
) -> None:
    command = parse_capture(servicenow_200[0].payload, rules)
    assert command.attributes["priority_label"] == "3 - Moderate"
    assert command.attributes["channel"] == "Phone"
    assert command.attributes["assignment_group"] == "Group 56"
    assert command.status == "New"


def test_servicenow_rows_out_of_order(servicenow_200: list[SourceCapture]) -> None:
    # The log lists the 11:10 row before the 09:52 row, both as sys_mod_count 1.
    documents = documents_of(servicenow_200, "servicenow:INC0000137")
    assert documents[0]["occurred_at"] == "29/2/2016 09:52"
    assert documents[0]["capture_id"] == "INC0000137/1/358"
    assert [document["type"] for document in documents] == [
        "create",
        "complete",
        "restart",
        "complete",
    ]


def test_servicenow_plain_csv(
    tmp_path: Path, servicenow_all: list[SourceCapture]
) -> None:
    source = resources.files("processors") / "sources" / "data"
    archive_path = source / "servicenow-incident-event-log.csv.zip"
    with resources.as_file(archive_path) as local, zipfile.ZipFile(local) as archive:
        text = io.TextIOWrapper(archive.open("incident_event_log.csv"), "utf-8")
        head = [next(text) for _ in range(14)]
    path = tmp_path / "incidents.csv"
    path.write_text("".join(head), encoding="utf-8")

    captures = servicenow_captures(path)
    keys = {capture.key for capture in captures}
    assert keys == {"servicenow:INC0000045", "servicenow:INC0000047"}
    assert captures == [c for c in servicenow_all if c.key in keys]


def test_servicenow_negative_limit() -> None:
    with pytest.raises(ValueError, match="limit"):
        servicenow_captures(limit=-1)


# Boston 311


def test_boston_all_parse(boston_100: list[SourceCapture], rules: RuleSet) -> None:
    failures = []
    mismatched = []
    for capture in boston_100:
        try:
            command = parse_capture(capture.payload, rules)
        except CaptureError as error:
            failures.append((capture.key, error.reason))
            continue
        occurred_at = command.occurred_at.astimezone(UTC)
        if (command.task_id, occurred_at) != (capture.key, capture.at):
            mismatched.append(capture.key)
    assert failures == []
    assert mismatched == []


def test_boston_counts(boston_100: list[SourceCapture]) -> None:
    kinds = [capture.document()["type"] for capture in boston_100]
    assert kinds.count("create") == 100
    assert kinds.count("complete") == 100
    assert len({capture.key for capture in boston_100}) == 100


def test_boston_time_order(boston_all: list[SourceCapture]) -> None:
    assert len(boston_all) == 2 * 4995
    assert is_time_ordered(boston_all)


def test_boston_create_before_complete(boston_all: list[SourceCapture]) -> None:
    first_kind: dict[str, str] = {}
    for capture in boston_all:
        first_kind.setdefault(capture.key, capture.document()["type"])
    assert set(first_kind.values()) == {"create"}


def test_boston_winter_open(boston_100: list[SourceCapture]) -> None:
    capture = boston_100[0]
    assert capture.key == "boston311:101001242696"
    assert capture.document()["occurred_at"] == "2015-01-05 15:22:38"
    assert capture.at == datetime(2015, 1, 5, 20, 22, 38, tzinfo=UTC)


def test_boston_summer_open(boston_100: list[SourceCapture]) -> None:
    capture = capture_by_id(boston_100, "101001327338/create")
    assert capture.document()["occurred_at"] == "2015-03-09 04:03:33"
    assert capture.at == datetime(2015, 3, 9, 8, 3, 33, tzinfo=UTC)


def test_boston_due_across_dst(boston_100: list[SourceCapture], rules: RuleSet) -> None:
    # Due exactly 90 days after opening, so the EDT wall clock shows one hour more.
    capture = capture_by_id(boston_100, "101001288815/create")
    command = parse_capture(capture.payload, rules)
    assert capture.document()["due_at"] == "2015-05-12 10:54:56"
    due_at = command.due_at.astimezone(UTC)
    assert due_at == datetime(2015, 5, 12, 14, 54, 56, tzinfo=UTC)
    assert due_at - capture.at == timedelta(days=90)


def test_boston_ambiguous_close(
    boston_all: list[SourceCapture], rules: RuleSet
) -> None:
    # 01:56 on 2023-11-05 happens twice in Boston, and both sides read the first.
    capture = capture_by_id(boston_all, "101005154529/complete")
    command = parse_capture(capture.payload, rules)
    assert capture.at == datetime(2023, 11, 5, 5, 56, tzinfo=UTC)
    assert command.occurred_at.astimezone(UTC) == capture.at


def test_boston_missing_due_omitted(
    boston_100: list[SourceCapture], rules: RuleSet
) -> None:
    capture = capture_by_id(boston_100, "101001252365/create")
    assert "due_at" not in capture.document()
    assert parse_capture(capture.payload, rules).due_at is None


def test_boston_blank_attribute_null(boston_100: list[SourceCapture]) -> None:
    create = only(documents_of(boston_100, "boston311:101001243399"), "create")
    assert create["attributes"]["neighborhood"] is None
    assert create["attributes"]["QUEUE"] == "PWDx_Street Light Outages"


def test_boston_statuses(boston_100: list[SourceCapture]) -> None:
    documents = documents_of(boston_100, "boston311:101001242696")
    create = only(documents, "create")
    complete = only(documents, "complete")
    assert create["status"] == "Open"
    assert complete["status"] == "Closed"
    assert complete["occurred_at"] == "2015-01-05 16:37:37"
    assert "attributes" not in complete


def test_boston_mapped_attributes(
    boston_100: list[SourceCapture], rules: RuleSet
) -> None:
    command = parse_capture(boston_100[0].payload, rules)
    assert command.attributes["team"] == "PWDx_District 10A: Roxbury"
    assert command.attributes["subject"] == "Public Works Department"
    assert command.attributes["channel"] == "Citizens Connect App"
