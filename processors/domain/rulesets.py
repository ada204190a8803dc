"""Loading and validating rule sets from YAML or JSON files.

`check_rule_set` lists every problem of a rule set document, and each
problem names the rule (or scheme, or source) and the field. It reports
structural errors found by the pydantic models, references to unknown
schemes, invalid skill expressions, attributes no source produces,
conditions that contradict each other and rules that can never win.
`rule_analysis` describes what the analysis of conditions can and cannot
detect.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from processors.domain.rule_analysis import (
    BUILT_IN_ATTRIBUTES,
    describe,
    find_contradictions,
    find_unreachable,
)
from processors.domain.targets import ExpressionError, parse_expression
from schemas.routing import PriorityScheme
from schemas.rules import ClassificationRule, RuleSet, Segment, SourceMapping

__all__ = [
    "Problem",
    "RuleProblem",
    "RuleSetError",
    "check_rule_set",
    "default_rules",
    "load_rules",
    "parse_rules",
    "read_document",
    "rules_from_document",
]

# Stand-ins that let the top-level fields be validated on their own.
_PLACEHOLDER_SCHEME = {"name": "placeholder", "initial": 0}
_PLACEHOLDER_SEGMENT = {"department": "-", "process": "-", "scheme": "placeholder"}


@dataclass(frozen=True)
class RuleProblem:
    """One problem of a rule set: where it is, which field, and what is wrong.

    `where` is "rule 'NAME'", "default", "scheme 'NAME'", "source 'NAME'" or
    "rule set"; `field` is a path inside it such as "when[1].value".
    """

    kind: str
    where: str
    field: str | None
    message: str

    def __str__(self) -> str:
        field = f", field {self.field}" if self.field else ""
        return f"{self.where}{field}: {self.message}"

    @property
    def location(self) -> str:
        return self.where

    @property
    def rule(self) -> str | None:
        """Return the name of the rule the problem is in, or "default"."""
        if self.where == "default":
            return "default"
        prefix = "rule '"
        if self.where.startswith(prefix) and self.where.endswith("'"):
            return self.where[len(prefix) : -1]
        number = self.where.removeprefix("rule number ")
        if number != self.where and number.isdigit():
            return f"#{number}"
        return None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "kind": self.kind,
            "location": self.where,
            "rule": self.rule,
            "field": self.field,
            "message": self.message,
        }


Problem = RuleProblem


class RuleSetError(ValueError):
    """A rule set that cannot be read or has problems; `problems` lists them."""

    def __init__(self, message: str, problems: tuple[RuleProblem, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


# The largest rule set file read: 1 MiB, like the rules API's body limit.
MAX_RULE_SET_BYTES = 1024 * 1024


def load_rules(path: str | Path) -> RuleSet:
    """Read and validate a rule set file; raise RuleSetError listing every problem."""
    path = Path(path)
    return rules_from_document(read_document(path), str(path))


def parse_rules(text: str, origin: str) -> RuleSet:
    """Parse and validate a rule set in YAML or JSON; `origin` names it in errors."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        problem = RuleProblem("invalid", "rule set", None, f"not valid YAML: {error}")
        raise RuleSetError(
            f"rule set {origin} is not valid YAML: {error}", (problem,)
        ) from error
    return rules_from_document(document, origin)


def rules_from_document(document: Any, origin: str) -> RuleSet:
    """Validate a parsed rule set document; raise RuleSetError listing every
    problem, each with its rule (or scheme, source, default) and field."""
    rules, problems = check_rule_set(document)
    if problems:
        listed = "\n".join(f"- {problem}" for problem in problems)
        count = "1 problem" if len(problems) == 1 else f"{len(problems)} problems"
        raise RuleSetError(
            f"rule set {origin} is invalid ({count}):\n{listed}", tuple(problems)
        )
    return rules


def read_document(path: Path) -> Any:
    """Parse a YAML (or JSON) file, raising RuleSetError when it cannot."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_RULE_SET_BYTES + 1)
    except OSError as error:
        raise RuleSetError(f"cannot read rule set {path}: {error}") from error
    if len(data) > MAX_RULE_SET_BYTES:
        raise RuleSetError(
            f"rule set {path} is larger than {MAX_RULE_SET_BYTES} bytes; a rule "
            "set is a short YAML or JSON document"
        )
    try:
        return yaml.safe_load(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise RuleSetError(
            f"rule set {path} is not UTF-8 text ({error}); save it as UTF-8"
        ) from error
    except yaml.YAMLError as error:
        raise RuleSetError(f"rule set {path} is not valid YAML: {error}") from error


def check_rule_set(document: Any) -> tuple[RuleSet | None, list[RuleProblem]]:
    """Validate a rule set document and return it with every problem found.

    The rule set is None when the document does not validate as a RuleSet.
    Each part (source, scheme, rule, default) is validated on its own, so a
    broken rule does not hide the problems of the others.
    """
    if not isinstance(document, dict):
        kind = type(document).__name__
        message = (
            f"the document is a {kind}, but a rule set is a mapping with "
            "version, schemes, rules and default"
        )
        return None, [RuleProblem("invalid", "rule set", None, message)]

    problems: list[RuleProblem] = []
    problems += _top_level_problems(document)
    sources = _parse_mapping(document, "sources", SourceMapping, "source", problems)
    schemes = _parse_mapping(document, "schemes", PriorityScheme, "scheme", problems)
    rules = _parse_rules(document, problems)
    default = _parse_default(document, problems)

    problems += _scheme_name_problems(schemes)
    problems += _reference_problems(document, rules, default)
    segments = [(where, rule) for where, _, rule in rules]
    if default is not None:
        segments.append(("default", default))
    problems += _expression_problems(segments)
    problems += _attribute_problems(segments, sources, document)
    problems += _condition_problems(rules, document)

    if problems:
        return None, problems
    try:
        return RuleSet.model_validate(document), []
    except ValidationError as error:
        # Checks added to the RuleSet model that the parts above do not repeat.
        return None, _pydantic_problems(error, document)


# Structure.


def _top_level_problems(document: dict) -> list[RuleProblem]:
    stand_in = {
        **document,
        "sources": {},
        "schemes": {"placeholder": _PLACEHOLDER_SCHEME},
        "rules": [],
        "default": _PLACEHOLDER_SEGMENT,
    }
    problems = []
    for name in ("schemes", "default"):
        if name not in document:
            problems.append(
                RuleProblem("invalid", "rule set", name, "is missing; add it")
            )
    try:
        RuleSet.model_validate(stand_in)
    except ValidationError as error:
        problems += _pydantic_problems(error, document)
    return problems


def _parse_mapping(
    document: dict,
    key: str,
    model: type[BaseModel],
    label: str,
    problems: list[RuleProblem],
) -> dict[str, Any]:
    raw = document.get(key) or {}
    if not isinstance(raw, dict):
        problems.append(
            RuleProblem(
                "invalid", "rule set", key, f"must be a mapping of names to {label}s"
            )
        )
        return {}
    parsed = {}
    for name, value in raw.items():
        try:
            parsed[name] = model.model_validate(value)
        except ValidationError as error:
            where = f"{label} {name!r}"
            for problem in _part_problems(error, where):
                # The scheme model repeats its own name at the start.
                message = problem.message.removeprefix(f"priority {where}: ")
                field = problem.field
                if field is None and message.startswith("minimum"):
                    field = "minimum"
                problems.append(RuleProblem(problem.kind, where, field, message))
    return parsed


def _parse_rules(
    document: dict, problems: list[RuleProblem]
) -> list[tuple[str, int, ClassificationRule]]:
    """Return (label, position, rule) of every rule that validates."""
    raw = document.get("rules") or []
    if not isinstance(raw, list):
        problems.append(
            RuleProblem("invalid", "rule set", "rules", "must be a list of rules")
        )
        return []
    parsed = []
    for position, value in enumerate(raw):
        where = _rule_label(value, position)
        try:
            rule = ClassificationRule.model_validate(value)
        except ValidationError as error:
            problems += _part_problems(error, where)
            continue
        parsed.append((where, position, rule))
    return parsed


def _parse_default(document: dict, problems: list[RuleProblem]) -> Segment | None:
    if "default" not in document:
        return None
    try:
        return Segment.model_validate(document["default"])
    except ValidationError as error:
        problems += _part_problems(error, "default")
        return None


def _rule_label(value: Any, position: int) -> str:
    name = value.get("name") if isinstance(value, dict) else None
    if isinstance(name, str) and name:
        return f"rule {name!r}"
    return f"rule number {position + 1}"


def _part_problems(error: ValidationError, where: str) -> list[RuleProblem]:
    return [
        RuleProblem(
            "invalid", where, _field_path(detail["loc"]) or None, _sentence(detail)
        )
        for detail in error.errors()
    ]


def _pydantic_problems(error: ValidationError, document: dict) -> list[RuleProblem]:
    """Turn whole-document errors into problems named by their part."""
    problems = []
    for detail in error.errors():
        location = tuple(detail["loc"])
        where, rest = _locate(location, document)
        problems.append(
            RuleProblem("invalid", where, _field_path(rest) or None, _sentence(detail))
        )
    return problems


def _locate(location: tuple, document: dict) -> tuple[str, tuple]:
    if len(location) >= 2 and location[0] == "rules" and isinstance(location[1], int):
        raw = document.get("rules") or []
        value = raw[location[1]] if location[1] < len(raw) else None
        return _rule_label(value, location[1]), location[2:]
    if len(location) >= 2 and location[0] in ("schemes", "sources"):
        label = "scheme" if location[0] == "schemes" else "source"
        return f"{label} {location[1]!r}", location[2:]
    if location and location[0] == "default":
        return "default", location[1:]
    return "rule set", location


def _field_path(location: Iterable) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _sentence(detail: dict) -> str:
    kind = detail.get("type")
    if kind == "missing":
        return "is missing; add it"
    if kind == "extra_forbidden":
        return "is not a known field; remove it or correct its name"
    message = str(detail.get("msg", "is invalid"))
    message = message.removeprefix("Value error, ")
    if kind != "value_error" and "input" in detail:
        message += f" (got {detail['input']!r})"
    return message


# References between parts.


def _scheme_name_problems(schemes: dict[str, PriorityScheme]) -> list[RuleProblem]:
    return [
        RuleProblem(
            "invalid",
            f"scheme {key!r}",
            "name",
            f"the name {scheme.name!r} differs from the key {key!r}; make them equal",
        )
        for key, scheme in schemes.items()
        if scheme.name != key
    ]


def _reference_problems(
    document: dict,
    rules: list[tuple[str, int, ClassificationRule]],
    default: Segment | None,
) -> list[RuleProblem]:
    raw_schemes = document.get("schemes")
    known = sorted(raw_schemes) if isinstance(raw_schemes, dict) else []
    problems = []
    segments = [(where, rule) for where, _, rule in rules]
    if default is not None:
        segments.append(("default", default))
    for where, segment in segments:
        if segment.scheme not in known:
            problems.append(
                RuleProblem(
                    "unknown_scheme",
                    where,
                    "scheme",
                    f"priority scheme {segment.scheme!r} is not defined in schemes; "
                    f"use one of {', '.join(known) or 'none'} or add it",
                )
            )
    names = [rule.name for _, _, rule in rules]
    for name in sorted({name for name in names if names.count(name) > 1}):
        problems.append(
            RuleProblem(
                "duplicate_name",
                f"rule {name!r}",
                "name",
                f"{names.count(name)} rules have this name; rule names must be unique",
            )
        )
    return problems


def _expression_problems(segments: list[tuple[str, Segment]]) -> list[RuleProblem]:
    problems = []
    for where, segment in segments:
        expressions = [("target.expression", segment.target.expression)]
        expressions += [
            (f"tiers[{index}].target.expression", tier.target.expression)
            for index, tier in enumerate(segment.tiers)
        ]
        for field, expression in expressions:
            if expression is None:
                continue
            try:
                parse_expression(expression)
            except ExpressionError as error:
                problems.append(RuleProblem("invalid", where, field, str(error)))
    return problems


# Attributes and conditions.


def _attribute_problems(
    segments: list[tuple[str, Segment]],
    sources: dict[str, SourceMapping],
    document: dict,
) -> list[RuleProblem]:
    """Report attributes that no source mapping produces and the capture step
    does not set. Unmapped source attributes pass through under their own
    name, so a source declares one by mapping it to itself."""
    raw_sources = document.get("sources")
    if isinstance(raw_sources, dict) and len(sources) < len(raw_sources):
        return []  # a broken source mapping is reported already
    produced = set(BUILT_IN_ATTRIBUTES)
    for mapping in sources.values():
        produced.update(mapping.fields.values())
    known = ", ".join(sorted(produced))
    problems = []
    for where, segment in segments:
        for field, attribute in _attributes_used(segment):
            if attribute in produced:
                continue
            problems.append(
                RuleProblem(
                    "unknown_attribute",
                    where,
                    field,
                    f"attribute {attribute!r} is not produced by any source "
                    f"mapping's fields nor set by the capture step; known "
                    f"attributes: {known}. Correct the name or map a source "
                    "field to it",
                )
            )
    return problems


def _attributes_used(segment: Segment) -> list[tuple[str, str]]:
    used = []
    if isinstance(segment, ClassificationRule):
        used += [
            (f"when[{index}].attribute", condition.attribute)
            for index, condition in enumerate(segment.when)
        ]
    used += [
        (f"target.skills[{index}].from_attribute", skill.from_attribute)
        for index, skill in enumerate(segment.target.skills)
        if skill.from_attribute is not None
    ]
    for number, tier in enumerate(segment.tiers):
        used += [
            (
                f"tiers[{number}].target.skills[{index}].from_attribute",
                skill.from_attribute,
            )
            for index, skill in enumerate(tier.target.skills)
            if skill.from_attribute is not None
        ]
    return used


def _condition_problems(
    rules: list[tuple[str, int, ClassificationRule]], document: dict
) -> list[RuleProblem]:
    raw_sources = document.get("sources")
    sources = sorted(raw_sources) if isinstance(raw_sources, dict) else []
    # Rules that did not validate are left out. That hides nothing false:
    # an extra earlier rule can only make a later rule harder to reach.
    ordered = rules
    problems = []
    for where, _, rule in rules:
        for found in find_contradictions(rule.when, sources):
            fields = ", ".join(f"when[{index}]" for index in found.indexes)
            problems.append(
                RuleProblem(
                    "contradiction",
                    where,
                    fields,
                    f"the conditions contradict each other: {found.reason}, so "
                    "the rule never matches; correct or remove one of them",
                )
            )
    for found in find_unreachable([rule.when for _, _, rule in ordered], sources):
        where, _, rule = ordered[found.rule_index]
        earlier = " and ".join(ordered[index][0] for index in found.covered_by)
        conditions = "; ".join(describe(c) for c in rule.when) or "no conditions"
        problems.append(
            RuleProblem(
                "unreachable",
                where,
                "when",
                f"the rule is unreachable: every item its conditions ({conditions}) "
                f"match is already taken by the earlier {earlier}; move it above "
                f"{earlier} or narrow the conditions there",
            )
        )
    return problems


@lru_cache(maxsize=1)
def default_rules() -> RuleSet:
    """Return the rule set shipped with the project, read once (it is frozen)."""
    source = resources.files("processors") / "rulesets" / "default.yaml"
    with resources.as_file(source) as path:
        return load_rules(path)
