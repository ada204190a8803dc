"""Static analysis of classification rules: contradictions and unreachable rules.

A rule matches an item when every condition of its `when` list holds, and
conditions on different attributes are independent because an item may
carry any combination of attribute values. So the set of items a rule
matches is a product of one value set per attribute, and the analysis works
attribute by attribute.

Each attribute's conditions give either a finite value set or an open one:

- finite: the rule has an `equals`, `in` or `missing` condition on the
  attribute, or the attribute is a built-in one whose values are known
  (`media`, and `source_system`, whose values are the rule set's sources).
  The members are listed and every other condition is evaluated on each
  member with the same `matches` the classifier uses, so the result is exact.
- open: only `exists`, `regex` and comparison (`gt`, `ge`, `lt`, `le`)
  conditions. Comparisons are reduced to an interval of numbers. Two regexes
  are compared only by their text.

What it detects:

- contradictions: a finite set with no member left, a comparison interval
  that is empty, or a comparison whose bound is not a number (the classifier
  then never matches it);
- unreachable rules: every combination of a rule's finite values, together
  with its open conditions, is matched by some earlier rule. A single earlier
  rule whose conditions the later rule implies is the common case. Several
  earlier rules that split an `in` list, the sources or the media between
  them are found too.

What it cannot detect, so it stays silent (it never reports a rule that can
win):

- regexes that cannot match, or that contradict each other or a comparison;
- an open set covered by several earlier rules together (for example
  `lt 5` and `ge 5` before `exists`);
- `equals` or `in` values that are JSON arrays or objects;
- rules with more than MAX_COMBINATIONS combinations of finite values, which
  are compared with each earlier rule as a whole only.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from processors.domain.classification import matches
from schemas.capture import Media
from schemas.rules import Condition

__all__ = [
    "BUILT_IN_ATTRIBUTES",
    "MAX_COMBINATIONS",
    "Contradiction",
    "Unreachable",
    "describe",
    "find_contradictions",
    "find_unreachable",
]

MEDIA_VALUES: tuple[str, ...] = Media.__args__
# Attributes the tasks aggregate adds to every item before classifying it.
BUILT_IN_ATTRIBUTES = ("source_system", "media")
MAX_COMBINATIONS = 4096
_COMPARISONS = ("gt", "ge", "lt", "le")


@dataclass(frozen=True)
class Contradiction:
    """Conditions of one rule on one attribute that no value satisfies."""

    attribute: str
    indexes: tuple[int, ...]
    reason: str


@dataclass(frozen=True)
class Unreachable:
    """A rule whose every match an earlier rule (or several) takes first."""

    rule_index: int
    covered_by: tuple[int, ...]


@dataclass(frozen=True)
class _Finite:
    members: tuple[Any, ...]
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class _Open:
    conditions: tuple[Condition, ...]


class _Unknown:
    """A value set the analysis cannot list or bound."""


_UNKNOWN = _Unknown()
_ValueSet = _Finite | _Open | _Unknown


def describe(condition: Condition) -> str:
    """Render a condition as 'attribute op value' for messages."""
    if condition.op in ("exists", "missing"):
        return f"{condition.attribute} {condition.op}"
    return f"{condition.attribute} {condition.op} {condition.value!r}"


def find_contradictions(
    conditions: Sequence[Condition], sources: Iterable[str]
) -> list[Contradiction]:
    """Return, per attribute, the conditions of one rule that cannot all hold."""
    domains = _domains(sources)
    found = []
    for attribute, indexes in _by_attribute(conditions).items():
        own = tuple(conditions[index] for index in indexes)
        reason = _contradiction(attribute, own, domains.get(attribute))
        if reason is not None:
            found.append(Contradiction(attribute, indexes, reason))
    return found


def find_unreachable(
    rules: Sequence[Sequence[Condition]], sources: Iterable[str]
) -> list[Unreachable]:
    """Return the rules that can never be the first match, given in order.

    Rules with a contradiction are left out: they never match at all, and
    find_contradictions reports why.
    """
    domains = _domains(sources)
    shapes = [_shape(conditions, domains) for conditions in rules]
    found = []
    for index, shape in enumerate(shapes):
        if shape is None or find_contradictions(rules[index], domains["source_system"]):
            continue
        earlier = shapes[:index]
        covering = _covering_rules(_with_domains(shape, earlier, domains), earlier)
        if covering:
            found.append(Unreachable(index, covering))
    return found


def _domains(sources: Iterable[str]) -> dict[str, tuple[Any, ...]]:
    """Return the values built-in attributes can take on an accepted capture."""
    return {"source_system": tuple(sorted(sources)), "media": MEDIA_VALUES}


def _with_domains(
    shape: dict[str, _ValueSet],
    earlier: list[dict[str, _ValueSet] | None],
    domains: dict[str, tuple[Any, ...]],
) -> dict[str, _ValueSet]:
    """List every value of a built-in attribute the rule leaves open but an
    earlier rule constrains, so that earlier rules splitting its values
    between them (one per source, say) can cover the rule."""
    widened = dict(shape)
    for attribute, domain in domains.items():
        constrained = any(other and attribute in other for other in earlier)
        if attribute not in shape and constrained:
            widened[attribute] = _Finite(domain, ())
    return widened


def _by_attribute(conditions: Sequence[Condition]) -> dict[str, tuple[int, ...]]:
    grouped: dict[str, list[int]] = {}
    for index, condition in enumerate(conditions):
        grouped.setdefault(condition.attribute, []).append(index)
    return {attribute: tuple(indexes) for attribute, indexes in grouped.items()}


def _shape(
    conditions: Sequence[Condition], domains: dict[str, tuple[Any, ...]]
) -> dict[str, _ValueSet] | None:
    """Return each constrained attribute's value set, or None when one is unknown."""
    shape: dict[str, _ValueSet] = {}
    for attribute, indexes in _by_attribute(conditions).items():
        own = tuple(conditions[index] for index in indexes)
        value_set = _value_set(attribute, own, domains.get(attribute))
        if value_set is _UNKNOWN:
            return None
        shape[attribute] = value_set
    return shape


def _value_set(
    attribute: str, conditions: tuple[Condition, ...], domain: tuple | None
) -> _ValueSet:
    candidates = _candidates(conditions, domain)
    if candidates is _UNKNOWN:
        return _UNKNOWN
    if candidates is None:
        return _Open(conditions)
    members = tuple(
        value
        for value in candidates
        if (domain is None or value in domain)
        and all(matches(condition, {attribute: value}) for condition in conditions)
    )
    return _Finite(members, conditions)


def _candidates(conditions: tuple[Condition, ...], domain: tuple | None):
    """List the values that can satisfy a finite condition, or None if none is
    finite. Every value equal to a listed one (1, 1.0 and True) is listed,
    because the classifier compares with == but renders with str()."""
    for condition in conditions:
        if condition.op == "missing":
            return (None,)
        if condition.op == "equals":
            return _equal_values(condition.value)
        if condition.op == "in":
            values: list[Any] = []
            for value in condition.value:
                equal = _equal_values(value)
                if equal is _UNKNOWN:
                    return _UNKNOWN
                values.extend(equal)
            return tuple(_unique(values))
    if domain is not None:
        # The tasks aggregate always sets built-in attributes, so their
        # values are the domain's and never missing.
        return domain
    return None


def _equal_values(value: Any):
    """Return every JSON value == `value`, or _UNKNOWN for arrays and objects."""
    if value is None or isinstance(value, str):
        return (value,)
    if isinstance(value, bool | int | float):
        equal: list[Any] = [value]
        if isinstance(value, float) and value.is_integer():
            equal.append(int(value))
        if isinstance(value, int | bool) and not isinstance(value, float):
            equal.append(float(value))
            equal.append(int(value))
        if value == 1:
            equal.append(True)
        if value == 0:
            equal.append(False)
        return tuple(_unique(equal))
    return _UNKNOWN


def _unique(values: Iterable[Any]) -> list[Any]:
    seen: set[tuple[str, str]] = set()
    unique = []
    for value in values:
        key = (type(value).__name__, repr(value))
        if key not in seen:
            seen.add(key)
            unique.append(value)
    return unique


def _contradiction(
    attribute: str, conditions: tuple[Condition, ...], domain: tuple | None
) -> str | None:
    """Say why no value satisfies the conditions, or return None if some may."""
    listed = " and ".join(describe(condition) for condition in conditions)
    value_set = _value_set(attribute, conditions, domain)
    if isinstance(value_set, _Finite):
        if value_set.members:
            return None
        if domain is not None:
            known = ", ".join(repr(value) for value in domain) or "none"
            return (
                f"no value of {attribute!r} satisfies {listed}; an accepted "
                f"capture has one of {known}"
            )
        return f"no value of {attribute!r} satisfies {listed}"
    if isinstance(value_set, _Unknown):
        return None
    for condition in conditions:
        if condition.op in _COMPARISONS and _number(condition.value) is None:
            return (
                f"{describe(condition)} compares with a value that is not a "
                "number, so it never holds"
            )
    if _interval(conditions).empty:
        return f"no number satisfies {listed}"
    return None


# Comparisons as intervals of numbers.


@dataclass(frozen=True)
class _Interval:
    low: float = -math.inf
    low_open: bool = False
    high: float = math.inf
    high_open: bool = False

    @property
    def empty(self) -> bool:
        if self.low > self.high:
            return True
        return self.low == self.high and (self.low_open or self.high_open)

    def within(self, other: _Interval) -> bool:
        low_ok = self.low > other.low or (
            self.low == other.low and (self.low_open or not other.low_open)
        )
        high_ok = self.high < other.high or (
            self.high == other.high and (self.high_open or not other.high_open)
        )
        return low_ok and high_ok


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _interval(conditions: Iterable[Condition]) -> _Interval:
    """Intersect the comparisons' half-lines (bounds that are numbers only)."""
    interval = _Interval()
    for condition in conditions:
        bound = _number(condition.value)
        if condition.op not in _COMPARISONS or bound is None:
            continue
        interval = _narrow(interval, condition.op, bound)
    return interval


def _narrow(interval: _Interval, op: str, bound: float) -> _Interval:
    low, low_open = interval.low, interval.low_open
    high, high_open = interval.high, interval.high_open
    if op in ("gt", "ge"):
        strict = op == "gt"
        if bound > low or (bound == low and strict):
            low, low_open = bound, strict
    else:
        strict = op == "lt"
        if bound < high or (bound == high and strict):
            high, high_open = bound, strict
    return _Interval(low, low_open, high, high_open)


# Implication between rules.


def _covering_rules(
    shape: dict[str, _ValueSet], earlier: list[dict[str, _ValueSet] | None]
) -> tuple[int, ...]:
    """Return earlier rules that together match everything `shape` matches,
    or () when the analysis cannot show that."""
    finite = [name for name, values in shape.items() if isinstance(values, _Finite)]
    sizes = [len(shape[name].members) for name in finite]
    if math.prod(sizes) > MAX_COMBINATIONS:
        parts = [shape]
    else:
        parts = [
            {
                **shape,
                **{
                    name: _Finite((value,), shape[name].conditions)
                    for name, value in zip(finite, combo, strict=True)
                },
            }
            for combo in itertools.product(*(shape[name].members for name in finite))
        ]
    covering: list[int] = []
    for part in parts:
        index = next(
            (
                number
                for number, other in enumerate(earlier)
                if other is not None and _implies(part, other)
            ),
            None,
        )
        if index is None:
            return ()
        if index not in covering:
            covering.append(index)
    return tuple(sorted(covering))


def _implies(shape: dict[str, _ValueSet], other: dict[str, _ValueSet]) -> bool:
    """Check that every item matching `shape` matches `other`."""
    for attribute, values in other.items():
        own = shape.get(attribute)
        if own is None or not _subset(attribute, own, values):
            return False
    return True


def _subset(attribute: str, own: _ValueSet, other: _ValueSet) -> bool:
    if isinstance(own, _Finite):
        # Exact: the other rule's conditions are evaluated on every member.
        return all(
            all(matches(condition, {attribute: value}) for condition in other.conditions)
            for value in own.members
        )
    if not isinstance(own, _Open) or not isinstance(other, _Open):
        return False
    own_interval = _interval(own.conditions)
    has_comparison = any(c.op in _COMPARISONS for c in own.conditions)
    for condition in other.conditions:
        if condition.op == "exists":
            continue  # every open condition requires a value
        if condition.op == "regex":
            same = any(
                c.op == "regex" and str(c.value) == str(condition.value)
                for c in own.conditions
            )
            if not same:
                return False
        elif condition.op in _COMPARISONS:
            bound = _number(condition.value)
            if bound is None or not has_comparison:
                return False
            if not own_interval.within(_narrow(_Interval(), condition.op, bound)):
                return False
        else:
            return False
    return True

