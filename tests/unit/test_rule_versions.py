"""The registry of rule set versions and the rules.applied event."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from processors.domain.rule_versions import RuleSetRegistry, VersionNotNew
from processors.domain.rulesets import default_rules
from schemas.rule_events import RuleSetApplied

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def record(version: int, author: str = "ana", comment: str = "") -> RuleSetApplied:
    rules = default_rules().model_copy(update={"version": version})
    return RuleSetApplied(
        version=version,
        rule_set=rules,
        applied_by=author,
        applied_at=AT,
        comment=comment,
    )


def test_empty_registry_has_no_active():
    registry = RuleSetRegistry()
    assert registry.active is None
    assert registry.active_rules is None
    assert registry.history() == []


def test_newer_version_becomes_active():
    registry = RuleSetRegistry()
    assert registry.add(record(1)) is None
    assert registry.add(record(3)) is None
    assert registry.active.version == 3
    assert registry.active_rules.version == 3


def test_past_versions_kept():
    registry = RuleSetRegistry()
    for version in (1, 2, 5):
        registry.add(record(version, comment=f"v{version}"))
    assert [r.version for r in registry.history()] == [1, 2, 5]
    assert registry.get(2).comment == "v2"
    assert registry.rules(1).version == 1
    assert registry.get(4) is None
    assert registry.rules(4) is None


def test_previous_version():
    registry = RuleSetRegistry()
    for version in (1, 2, 5):
        registry.add(record(version))
    assert registry.previous(5).version == 2
    assert registry.previous(2).version == 1
    assert registry.previous(1) is None


@pytest.mark.parametrize("version", [1, 2])
def test_version_not_above_rejected(version):
    registry = RuleSetRegistry()
    registry.add(record(2, author="first"))
    rejected = registry.add(record(version, author="second"))
    assert rejected is not None
    assert rejected.version == version
    assert f"version {version} is not new" in rejected.reason
    assert "set 'version: 3'" in rejected.reason
    assert registry.active.applied_by == "first"
    assert len(registry) == 1


def test_check_new_raises():
    registry = RuleSetRegistry()
    registry.check_new(1)
    registry.add(record(4))
    with pytest.raises(VersionNotNew) as raised:
        registry.check_new(4)
    assert raised.value.active == 4
    registry.check_new(5)


def test_event_version_must_match_rules():
    rules = default_rules()
    with pytest.raises(ValidationError, match="differs from the rule set's version"):
        RuleSetApplied(
            version=rules.version + 1, rule_set=rules, applied_by="ana", applied_at=AT
        )


def test_event_needs_author_and_zone():
    rules = default_rules()
    with pytest.raises(ValidationError):
        RuleSetApplied(
            version=rules.version, rule_set=rules, applied_by="", applied_at=AT
        )
    with pytest.raises(ValidationError):
        RuleSetApplied(
            version=rules.version,
            rule_set=rules,
            applied_by="ana",
            applied_at=datetime(2026, 3, 1, 9, 0),
        )


def test_event_round_trips_through_envelope():
    from processors.rule_log import encode_record, record_from_value

    original = record(7, comment="night shift")
    key, value = encode_record(original, "test")
    assert key == b"7"
    assert record_from_value(value, "test") == original
