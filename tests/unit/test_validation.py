"""Unit and property tests of capture validation (raw bytes to a capture command)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processors.domain.rulesets import default_rules
from processors.domain.validation import CaptureError, parse_capture
from schemas.capture import CaptureCommand, RejectionReason

RULES = default_rules()


def servicenow(**changes: Any) -> dict[str, Any]:
    """Return a valid servicenow create capture with `changes` applied."""
    document = {
        "type": "create",
        "capture_id": "cap-1",
        "source_system": "servicenow",
        "external_id": "INC0001",
        "occurred_at": "2024-03-01T09:00:00+00:00",
        "status": "New",
        "attributes": {"priority": "1 - Critical", "assignment_group": "Network"},
    }
    document.update(changes)
    return document


def boston(**changes: Any) -> dict[str, Any]:
    """Return a valid boston311 create capture with `changes` applied."""
    document = {
        "type": "create",
        "source_system": "boston311",
        "external_id": "101005000001",
        "occurred_at": "2024-07-01 09:00:00",
        "attributes": {"SUBJECT": "Public Works Department", "QUEUE": "PWDx_Pothole"},
    }
    document.update(changes)
    return document


def without(document: dict[str, Any], name: str) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != name}


def encode(document: Any) -> bytes:
    return orjson.dumps(document)


def rejection(raw: bytes) -> CaptureError:
    with pytest.raises(CaptureError) as caught:
        parse_capture(raw, RULES)
    return caught.value


# Rejections of the payload as a whole.


def test_malformed_json_rejected() -> None:
    error = rejection(b'{"type": "create", ')

    assert error.reason == RejectionReason.MALFORMED_JSON
    assert error.field is None
    assert "not valid JSON" in error.message


def test_invalid_utf8_rejected_as_malformed() -> None:
    error = rejection(b'{"type": "\xff"}')

    assert error.reason == RejectionReason.MALFORMED_JSON


def test_json_array_rejected() -> None:
    error = rejection(encode([servicenow()]))

    assert error.reason == RejectionReason.NOT_AN_OBJECT
    assert "JSON list" in error.message


@pytest.mark.parametrize(
    ("raw", "kind"), [(b'"create"', "str"), (b"42", "int"), (b"null", "NoneType")]
)
def test_json_scalar_rejected(raw: bytes, kind: str) -> None:
    error = rejection(raw)

    assert error.reason == RejectionReason.NOT_AN_OBJECT
    assert f"JSON {kind}" in error.message


# Rejections of the type, source system and external id.


def test_unknown_type_rejected() -> None:
    error = rejection(encode(servicenow(type="delete")))

    assert error.reason == RejectionReason.UNKNOWN_TYPE
    assert error.field == "type"
    assert "'delete'" in error.message
    assert "create, update, complete, cancel, restart" in error.message


def test_missing_type_rejected() -> None:
    error = rejection(encode(without(servicenow(), "type")))

    assert error.reason == RejectionReason.UNKNOWN_TYPE
    assert error.field == "type"
    assert "None" in error.message


def test_unknown_source_system_rejected() -> None:
    error = rejection(encode(servicenow(source_system="jira")))

    assert error.reason == RejectionReason.UNKNOWN_SOURCE_SYSTEM
    assert error.field == "source_system"
    assert error.source_system == "jira"
    assert "'jira'" in error.message
    assert "['boston311', 'crm', 'servicenow']" in error.message


def test_missing_source_system_rejected() -> None:
    error = rejection(encode(without(servicenow(), "source_system")))

    assert error.reason == RejectionReason.MISSING_FIELD
    assert error.field == "source_system"
    assert "'source_system'" in error.message


def test_source_system_number_rejected() -> None:
    error = rejection(encode(servicenow(source_system=7)))

    assert error.reason == RejectionReason.INVALID_TYPE
    assert error.field == "source_system"
    assert "int" in error.message


def test_missing_external_id_rejected() -> None:
    error = rejection(encode(without(servicenow(), "external_id")))

    assert error.reason == RejectionReason.MISSING_EXTERNAL_ID
    assert error.field == "external_id"
    assert error.source_system == "servicenow"
    assert "'external_id'" in error.message


@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
def test_blank_external_id_rejected(blank: str) -> None:
    error = rejection(encode(servicenow(external_id=blank)))

    assert error.reason == RejectionReason.MISSING_EXTERNAL_ID
    assert error.field == "external_id"


@pytest.mark.parametrize(
    ("value", "kind"), [(["INC1"], "list"), (True, "bool"), (1.5, "float")]
)
def test_external_id_wrong_type_rejected(value: Any, kind: str) -> None:
    error = rejection(encode(servicenow(external_id=value)))

    assert error.reason == RejectionReason.INVALID_TYPE
    assert error.field == "external_id"
    assert kind in error.message


def test_integer_external_id_becomes_text() -> None:
    command = parse_capture(encode(servicenow(external_id=4711)), RULES)

    assert command.external_id == "4711"
    assert command.task_id == "servicenow:4711"


def test_external_id_kept_as_sent() -> None:
    command = parse_capture(encode(servicenow(external_id="  INC0001 ")), RULES)

    assert command.external_id == "  INC0001 "
    assert command.task_id == "servicenow:  INC0001 "


# Rejections of single fields, which carry the item's identity.


def test_priority_string_rejected() -> None:
    error = rejection(encode(servicenow(priority="5")))

    assert error.reason == RejectionReason.INVALID_TYPE
    assert error.field == "priority"
    assert "'priority'" in error.message
    assert "'5'" in error.message


@pytest.mark.parametrize("value", [True, 2.5])
def test_priority_non_integer_rejected(value: Any) -> None:
    error = rejection(encode(servicenow(priority=value)))

    assert error.reason == RejectionReason.INVALID_TYPE
    assert error.field == "priority"
    assert repr(value) in error.message


def test_attributes_list_rejected() -> None:
    error = rejection(encode(servicenow(attributes=["priority", "1 - Critical"])))

    assert error.reason == RejectionReason.INVALID_TYPE
    assert error.field == "attributes"
    assert "'attributes' must be an object" in error.message
    assert "list" in error.message


def test_text_field_number_rejected() -> None:
    error = rejection(encode(servicenow(preferred_agent=12)))

    assert error.reason == RejectionReason.INVALID_TYPE
    assert error.field == "preferred_agent"
    assert "'preferred_agent'" in error.message
    assert "int" in error.message


def test_unknown_media_rejected() -> None:
    error = rejection(encode(servicenow(media="fax")))

    assert error.reason == RejectionReason.INVALID_TYPE
    assert error.field == "media"
    assert "'fax'" in error.message


def test_field_rejection_names_item() -> None:
    error = rejection(encode(servicenow(priority="high")))

    assert error.source_system == "servicenow"
    assert error.external_id == "INC0001"
    assert error.capture_id == "cap-1"


def test_rejection_text_starts_with_reason() -> None:
    error = rejection(encode(servicenow(priority="high")))

    assert str(error).startswith("invalid_type: ")


# Dates.


def test_missing_occurred_at_rejected() -> None:
    error = rejection(encode(without(servicenow(), "occurred_at")))

    assert error.reason == RejectionReason.MISSING_FIELD
    assert error.field == "occurred_at"
    assert "'occurred_at' is missing" in error.message


def test_null_occurred_at_rejected() -> None:
    error = rejection(encode(servicenow(occurred_at=None)))

    assert error.reason == RejectionReason.MISSING_FIELD
    assert error.field == "occurred_at"


def test_unparsable_date_rejected() -> None:
    error = rejection(encode(servicenow(occurred_at="yesterday at noon")))

    assert error.reason == RejectionReason.INVALID_DATE
    assert error.field == "occurred_at"
    assert "'yesterday at noon'" in error.message
    assert "ISO 8601, %d/%m/%Y %H:%M" in error.message


def test_unparsable_due_date_rejected() -> None:
    error = rejection(encode(servicenow(due_at="31/02/2024 10:00")))

    assert error.reason == RejectionReason.INVALID_DATE
    assert error.field == "due_at"
    assert "'31/02/2024 10:00'" in error.message


def test_far_future_due_date_rejected() -> None:
    error = rejection(encode(servicenow(due_at="9999-12-31T23:59:59.999999Z")))

    assert error.reason == RejectionReason.INVALID_DATE
    assert error.field == "due_at"
    assert "outside the accepted years 1900 to 2999" in error.message


def test_misspelt_field_rejected() -> None:
    document = without(servicenow(), "attributes")
    document["atributes"] = {"priority": "1 - Critical"}

    error = rejection(encode(document))

    assert error.reason == RejectionReason.UNKNOWN_FIELD
    assert error.field == "atributes"
    assert "'attributes'" in error.message


def test_date_number_rejected() -> None:
    error = rejection(encode(servicenow(occurred_at=1709283600)))

    assert error.reason == RejectionReason.INVALID_TYPE
    assert error.field == "occurred_at"
    assert "int" in error.message


def test_servicenow_day_first_date() -> None:
    command = parse_capture(encode(servicenow(occurred_at="03/04/2024 10:30")), RULES)

    assert command.occurred_at == datetime(2024, 4, 3, 10, 30, tzinfo=UTC)
    assert command.occurred_at.utcoffset() == timedelta(0)


def test_boston_rejects_day_first_date() -> None:
    error = rejection(encode(boston(occurred_at="03/04/2024 10:30")))

    assert error.reason == RejectionReason.INVALID_DATE
    assert error.field == "occurred_at"


def test_boston_summer_time_applied() -> None:
    command = parse_capture(encode(boston(occurred_at="2024-07-01 09:00:00")), RULES)

    assert command.occurred_at == datetime(2024, 7, 1, 13, 0, tzinfo=UTC)
    assert command.occurred_at.utcoffset() == timedelta(0)


def test_boston_winter_time_applied() -> None:
    command = parse_capture(encode(boston(occurred_at="2024-01-15 09:00:00")), RULES)

    assert command.occurred_at == datetime(2024, 1, 15, 14, 0, tzinfo=UTC)
    assert command.occurred_at.utcoffset() == timedelta(0)


def test_boston_zone_matches_zoneinfo() -> None:
    local = datetime(2024, 11, 3, 12, 30, tzinfo=ZoneInfo("America/New_York"))
    command = parse_capture(encode(boston(occurred_at="2024-11-03 12:30:00")), RULES)

    assert command.occurred_at == local


def test_explicit_offset_kept_for_boston() -> None:
    command = parse_capture(
        encode(boston(occurred_at="2024-07-01T09:00:00+02:00")), RULES
    )

    assert command.occurred_at == datetime(2024, 7, 1, 7, 0, tzinfo=UTC)


def test_optional_dates_parsed() -> None:
    document = servicenow(due_at="05/03/2024 17:00", activate_at="2024-03-04T08:00Z")
    command = parse_capture(encode(document), RULES)

    assert command.due_at == datetime(2024, 3, 5, 17, 0, tzinfo=UTC)
    assert command.activate_at == datetime(2024, 3, 4, 8, 0, tzinfo=UTC)


# Statuses.


def test_unknown_servicenow_status_rejected() -> None:
    error = rejection(encode(servicenow(status="Escalated")))

    assert error.reason == RejectionReason.UNKNOWN_STATUS
    assert error.field == "status"
    assert "'Escalated'" in error.message
    assert "'servicenow'" in error.message


def test_known_servicenow_status_accepted() -> None:
    command = parse_capture(encode(servicenow(status="Awaiting User Info")), RULES)

    assert command.status == "Awaiting User Info"


def test_boston_accepts_any_status() -> None:
    command = parse_capture(encode(boston(status="Escalated")), RULES)

    assert command.status == "Escalated"


# Field mapping and the accepted command.


def test_servicenow_mapping_renames_attributes() -> None:
    attributes = {
        "priority": "2 - High",
        "contact_type": "Phone",
        "assignment_group": "Network",
        "category": "Hardware",
    }
    command = parse_capture(encode(servicenow(attributes=attributes)), RULES)

    assert command.attributes == {
        "priority_label": "2 - High",
        "channel": "Phone",
        "assignment_group": "Network",
        "category": "Hardware",
    }


def test_boston_mapping_renames_attributes() -> None:
    attributes = {"SUBJECT": "Transportation - Traffic Division", "QUEUE": "BTDT"}
    command = parse_capture(encode(boston(attributes=attributes)), RULES)

    assert command.attributes == {
        "subject": "Transportation - Traffic Division",
        "team": "BTDT",
    }


def test_accepted_command_fields() -> None:
    document = servicenow(
        type="update",
        priority=850,
        preferred_agent="agent-7",
        department="Security",
        process="Breach",
        media="email",
        routing_domain="it",
    )
    command = parse_capture(encode(document), RULES)

    assert command.type == "update"
    assert command.capture_id == "cap-1"
    assert command.source_system == "servicenow"
    assert command.external_id == "INC0001"
    assert command.occurred_at == datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    assert command.status == "New"
    assert command.priority == 850
    assert command.preferred_agent == "agent-7"
    assert command.department == "Security"
    assert command.process == "Breach"
    assert command.media == "email"
    assert command.routing_domain == "it"


def test_command_defaults() -> None:
    command = parse_capture(encode(boston(attributes={})), RULES)

    assert command.media == "workitem"
    assert command.routing_domain == "default"
    assert command.priority is None
    assert command.due_at is None
    assert command.status is None
    assert command.attributes == {}


# Capture ids derived from the content.


def test_content_capture_id_stable() -> None:
    raw = encode(without(servicenow(), "capture_id"))

    first = parse_capture(raw, RULES)
    second = parse_capture(bytes(raw), RULES)

    assert first.capture_id == second.capture_id
    assert first.capture_id == hashlib.sha256(raw).hexdigest()[:32]


def test_content_capture_id_differs() -> None:
    first = parse_capture(encode(without(servicenow(), "capture_id")), RULES)
    changed = without(servicenow(status="Active"), "capture_id")
    second = parse_capture(encode(changed), RULES)

    assert first.capture_id != second.capture_id


def test_empty_capture_id_derived() -> None:
    raw = encode(servicenow(capture_id=""))
    command = parse_capture(raw, RULES)

    assert command.capture_id == hashlib.sha256(raw).hexdigest()[:32]


# Properties.

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)
field_values = {
    "type": st.sampled_from(["create", "update", "restart", "delete"]) | json_values,
    "source_system": st.sampled_from(["servicenow", "boston311", "jira", ""])
    | json_values,
    "external_id": st.sampled_from(["INC1", " ", ""]) | json_values,
    "occurred_at": st.sampled_from(
        ["2024-03-01T09:00:00Z", "01/03/2024 09:00", "2024-03-01 09:00:00", "soon"]
    )
    | json_values,
    "due_at": st.sampled_from(["2024-03-02T09:00:00+02:00", "32/13/2024 09:00"])
    | json_values,
    "status": st.sampled_from(["New", "Closed", "Escalated"]) | json_values,
    "priority": st.integers(-10, 2000) | json_values,
    "media": st.sampled_from(["workitem", "chat", "fax"]) | json_values,
    "capture_id": st.text(max_size=8) | json_values,
    "routing_domain": st.text(max_size=8) | json_values,
    "attributes": st.dictionaries(st.text(max_size=8), json_scalars, max_size=4)
    | json_values,
}
documents = st.fixed_dictionaries(
    {}, optional={name: values for name, values in field_values.items()}
)


@settings(max_examples=200, deadline=None)
@given(documents)
def test_parse_returns_command_or_rejection(document: dict[str, Any]) -> None:
    raw = orjson.dumps(document)
    try:
        command = parse_capture(raw, RULES)
    except CaptureError as error:
        assert isinstance(error.reason, RejectionReason)
        assert error.message
        return

    assert isinstance(command, CaptureCommand)
    assert command.occurred_at.utcoffset() == timedelta(0)
    assert command.external_id.strip()


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=20).filter(lambda text: text.strip()))
def test_any_external_id_text_accepted(external_id: str) -> None:
    command = parse_capture(encode(servicenow(external_id=external_id)), RULES)

    assert command.external_id == external_id
    assert command.task_id == f"servicenow:{external_id}"


# Limits that keep derived messages under the broker's maximum size.


def test_oversized_payload_rejected() -> None:
    document = {
        "type": "create",
        "source_system": "servicenow",
        "external_id": "BIG",
        "occurred_at": "1/3/2016 10:00",
        "attributes": {"notes": "x" * (70 * 1024)},
    }

    with pytest.raises(CaptureError) as caught:
        parse_capture(orjson.dumps(document), default_rules())

    assert caught.value.reason == RejectionReason.TOO_LARGE
    assert "limit of 65536" in caught.value.message


def test_deep_attributes_rejected() -> None:
    nested: dict = {"leaf": 1}
    for _ in range(20):
        nested = {"level": nested}
    document = {
        "type": "create",
        "source_system": "servicenow",
        "external_id": "DEEP",
        "occurred_at": "1/3/2016 10:00",
        "attributes": nested,
    }

    with pytest.raises(CaptureError) as caught:
        parse_capture(orjson.dumps(document), default_rules())

    assert caught.value.reason == RejectionReason.INVALID_TYPE
    assert caught.value.field == "attributes"


@pytest.mark.parametrize(
    "value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]
)
def test_out_of_range_date_rejected(value: str) -> None:
    document = {
        "type": "create",
        "source_system": "servicenow",
        "external_id": "EDGE",
        "occurred_at": value,
    }

    with pytest.raises(CaptureError) as caught:
        parse_capture(orjson.dumps(document), default_rules())

    assert caught.value.reason == RejectionReason.INVALID_DATE
    assert caught.value.field == "occurred_at"


def test_long_capture_id_rejected() -> None:
    error = rejection(encode(servicenow(capture_id="c" * 201)))

    assert error.reason == RejectionReason.TOO_LARGE
    assert error.field == "capture_id"


def test_sixteen_levels_accepted() -> None:
    nested: Any = 1
    for _ in range(15):
        nested = {"level": nested}

    command = parse_capture(encode(servicenow(attributes={"deep": nested})), RULES)

    assert "deep" in command.attributes


def crm(**attributes: Any) -> dict[str, Any]:
    return {
        "type": "create",
        "source_system": "crm",
        "external_id": "LEAD-7",
        "occurred_at": "2026-03-02 09:30:00",
        "attributes": {"Department": "Sales", **attributes},
    }


def test_mapped_number_converted() -> None:
    command = parse_capture(encode(crm(DealValue=" 12500.50 ")), RULES)

    assert command.attributes["deal_value"] == 12500.5


def test_unconvertible_number_rejected() -> None:
    error = rejection(encode(crm(DealValue="lots")))

    assert error.reason == RejectionReason.INVALID_TYPE
    assert error.field == "attributes.deal_value"
    assert "not a valid number" in error.message


@pytest.mark.parametrize(
    ("kind", "sent", "expected"),
    [
        ("integer", "42", 42),
        ("boolean", "Yes", True),
        ("boolean", "0", False),
        ("date", "2026-03-02 09:30:00", "2026-03-02T09:30:00+00:00"),
        ("text", 17, "17"),
    ],
)
def test_mapped_types_converted(kind: str, sent: Any, expected: Any) -> None:
    mapping = RULES.sources["crm"].model_copy(update={"types": {"account": kind}})
    rules = RULES.model_copy(update={"sources": {**RULES.sources, "crm": mapping}})

    command = parse_capture(encode(crm(Account=sent)), rules)

    assert command.attributes["account"] == expected
