"""Differences between rule sets, per section, rule and field."""

from __future__ import annotations

from processors.domain.rule_diff import Change, diff_rule_sets, format_changes
from processors.domain.rulesets import default_rules, rules_from_document


def changed(**edits):
    """Return the shipped rule set with `edit(document)` functions applied."""
    document = default_rules().model_dump(mode="json")
    for edit in edits.values():
        edit(document)
    return rules_from_document(document, "test")


def rule(document, name):
    return next(r for r in document["rules"] if r["name"] == name)


def test_same_rules_no_changes():
    rules = default_rules()
    other = rules.model_copy(update={"version": 9})
    assert diff_rule_sets(rules, other) == []
    assert "have the same rules" in format_changes([], "version 1", "version 9")


def test_rule_field_change():
    after = changed(sla=lambda d: rule(d, "incident-high").update(sla_hours=6))
    changes = diff_rule_sets(default_rules(), after)
    assert changes == [
        Change("rules", "incident-high", "sla_hours", "changed", 8.0, 6.0)
    ]
    text = format_changes(changes, "version 1", "file")
    assert "rules:\n  ~ rule 'incident-high' sla_hours: 8.0 -> 6.0" in text


def test_nested_condition_change():
    def edit(document):
        rule(document, "city-transportation")["when"][1]["value"] = "^Transport"

    changes = diff_rule_sets(default_rules(), changed(edit=edit))
    assert changes == [
        Change(
            "rules",
            "city-transportation",
            "when[1].value",
            "changed",
            "^Transportation",
            "^Transport",
        )
    ]


def test_rule_added_and_removed():
    def edit(document):
        document["rules"] = [r for r in document["rules"] if r["name"] != "city-other"]
        parks = {**rule(document, "city-public-works"), "name": "city-parks"}
        parks["when"] = [
            {"attribute": "source_system", "op": "equals", "value": "boston311"},
            {"attribute": "subject", "op": "equals", "value": "Parks Department"},
        ]
        document["rules"].insert(0, parks)

    changes = diff_rule_sets(default_rules(), changed(edit=edit))
    kinds = {(c.item, c.kind) for c in changes}
    assert ("city-parks", "added") in kinds
    assert ("city-other", "removed") in kinds
    added = next(c for c in changes if c.kind == "added")
    assert added.after == 1
    text = format_changes(changes, "a", "b")
    assert "+ rule 'city-parks' added at position 1" in text
    assert "- rule 'city-other' removed" in text


def test_rule_order_change():
    names = [r.name for r in default_rules().rules]
    first = names.index("incident-critical")

    def edit(document):
        rules = document["rules"]
        rules[first], rules[first + 1] = rules[first + 1], rules[first]

    changes = diff_rule_sets(default_rules(), changed(edit=edit))
    moved = {c.item: (c.before, c.after) for c in changes if c.kind == "moved"}
    position = first + 1
    assert moved == {
        "incident-critical": (position, position + 1),
        "incident-high": (position + 1, position),
    }
    assert all(c.kind == "moved" for c in changes)


def test_scheme_setting_and_default_changes():
    def edit(document):
        document["schemes"]["standard"]["maximum"] = 550
        document["offer_timeout_seconds"] = 120
        document["default"]["department"] = "Front Desk"
        document["sources"]["servicenow"]["statuses"].append("Parked")

    changes = diff_rule_sets(default_rules(), changed(edit=edit))
    by_section = {c.section: c for c in changes}
    assert by_section["schemes"] == Change(
        "schemes", "standard", "maximum", "changed", 500, 550
    )
    assert by_section["settings"].field == "offer_timeout_seconds"
    assert by_section["default"] == Change(
        "default", None, "department", "changed", "Unclassified", "Front Desk"
    )
    assert by_section["sources"].kind == "added"
    assert by_section["sources"].field == "statuses[8]"
    text = format_changes(changes, "a", "b")
    assert "  ~ scheme 'standard' maximum: 500 -> 550" in text
    assert "  ~ department: 'Unclassified' -> 'Front Desk'" in text
