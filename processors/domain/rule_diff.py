"""Differences between two rule sets, per section, rule and field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from schemas.rules import RuleSet

__all__ = ["Change", "diff_rule_sets", "format_changes"]

Kind = Literal["added", "removed", "changed", "moved"]
SECTIONS = ("settings", "sources", "schemes", "rules", "default")


@dataclass(frozen=True)
class Change:
    """One difference between two rule sets.

    `item` is the source, scheme or rule name, or None for settings and the
    default segment. `field` is a dotted path inside it. For a moved rule,
    `before` and `after` are its positions, counted from 1.
    """

    section: str
    item: str | None
    field: str | None
    kind: Kind
    before: Any = None
    after: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "item": self.item,
            "field": self.field,
            "kind": self.kind,
            "before": self.before,
            "after": self.after,
        }


def diff_rule_sets(before: RuleSet, after: RuleSet) -> list[Change]:
    """List every difference from `before` to `after`, the version excepted."""
    old = before.model_dump(mode="json")
    new = after.model_dump(mode="json")
    changes: list[Change] = []

    settings = [k for k in old if k not in ("version", *SECTIONS)]
    for key in settings:
        if old[key] != new[key]:
            changes.append(Change("settings", None, key, "changed", old[key], new[key]))

    for section in ("sources", "schemes"):
        changes += _diff_named(section, old[section], new[section])

    old_rules = {rule["name"]: rule for rule in old["rules"]}
    new_rules = {rule["name"]: rule for rule in new["rules"]}
    changes += _diff_named("rules", old_rules, new_rules, positions=True)
    changes += _moves(list(old_rules), list(new_rules))

    changes += _diff_fields("default", None, old["default"], new["default"])
    return changes


def _diff_named(
    section: str,
    old: dict[str, Any],
    new: dict[str, Any],
    positions: bool = False,
) -> list[Change]:
    changes = []
    new_names = list(new)
    for name, value in new.items():
        if name not in old:
            where = new_names.index(name) + 1 if positions else value
            changes.append(Change(section, name, None, "added", None, where))
    for name, value in old.items():
        if name not in new:
            changes.append(Change(section, name, None, "removed", value, None))
    for name, value in new.items():
        if name in old:
            changes += _diff_fields(section, name, old[name], value)
    return changes


def _diff_fields(
    section: str, item: str | None, old: dict[str, Any], new: dict[str, Any]
) -> list[Change]:
    old_leaves = _flatten(old)
    new_leaves = _flatten(new)
    changes = []
    for path in _union(old_leaves, new_leaves):
        if path not in old_leaves:
            changes.append(Change(section, item, path, "added", None, new_leaves[path]))
        elif path not in new_leaves:
            changes.append(
                Change(section, item, path, "removed", old_leaves[path], None)
            )
        elif old_leaves[path] != new_leaves[path]:
            changes.append(
                Change(
                    section, item, path, "changed", old_leaves[path], new_leaves[path]
                )
            )
    return changes


def _moves(old_order: list[str], new_order: list[str]) -> list[Change]:
    """Report rules whose order among the rules in both sets changed, since
    the first matching rule wins."""
    common = set(old_order) & set(new_order)
    old_common = [name for name in old_order if name in common]
    new_common = [name for name in new_order if name in common]
    return [
        Change(
            "rules",
            name,
            None,
            "moved",
            old_order.index(name) + 1,
            new_order.index(name) + 1,
        )
        for index, name in enumerate(new_common)
        if old_common[index] != name
    ]


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Map dotted paths (`target.skills[0].min_level`) to leaf values."""
    if isinstance(value, dict) and value:
        leaves: dict[str, Any] = {}
        for key, inner in value.items():
            leaves.update(_flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
        return leaves
    if isinstance(value, list) and value:
        leaves = {}
        for index, inner in enumerate(value):
            leaves.update(_flatten(inner, f"{prefix}[{index}]"))
        return leaves
    return {prefix: value}


def _union(first: dict[str, Any], second: dict[str, Any]) -> list[str]:
    return list(first) + [key for key in second if key not in first]


def format_changes(changes: list[Change], before: str, after: str) -> str:
    """Render changes as text, one line per change, grouped by section."""
    if not changes:
        return f"{before} and {after} have the same rules\n"
    lines = [f"changes from {before} to {after}:"]
    for section in SECTIONS:
        selected = [change for change in changes if change.section == section]
        if not selected:
            continue
        lines.append(f"{section}:")
        lines += [f"  {_describe(change)}" for change in selected]
    return "\n".join(lines) + "\n"


def _describe(change: Change) -> str:
    label = {"rules": "rule", "schemes": "scheme", "sources": "source"}.get(
        change.section, ""
    )
    subject = f"{label} {change.item!r}".strip() if change.item else ""
    if change.field:
        subject = f"{subject} {change.field}".strip()
    match change.kind:
        case "added" if change.field is None and change.section == "rules":
            return f"+ {subject} added at position {change.after}"
        case "added" if change.field is None:
            return f"+ {subject} added"
        case "added":
            return f"+ {subject}: {_shown(change.after)}"
        case "removed" if change.field is None:
            return f"- {subject} removed"
        case "removed":
            return f"- {subject}: was {_shown(change.before)}"
        case "moved":
            return f"~ {subject} moved from position {change.before} to {change.after}"
        case _:
            return f"~ {subject}: {_shown(change.before)} -> {_shown(change.after)}"


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if value is None:
        return "none"
    return str(value)
