"""Loading rule sets from YAML or JSON files."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from processors.domain.targets import ExpressionError, parse_expression
from schemas.rules import RuleSet

__all__ = [
    "Problem",
    "RuleSetError",
    "default_rules",
    "load_rules",
    "parse_rules",
    "rules_from_document",
]


@dataclass(frozen=True)
class Problem:
    """One reason a rule set is invalid: where (`location`, plus the rule's
    name when the place is inside a rule) and what is wrong."""

    location: str
    message: str
    rule: str | None = None
    field: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "location": self.location,
            "rule": self.rule,
            "field": self.field,
            "message": self.message,
        }


class RuleSetError(ValueError):
    """An unreadable or invalid rule set; `problems` lists each reason where
    the place is known."""

    def __init__(self, message: str, problems: tuple[Problem, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


def load_rules(path: str | Path) -> RuleSet:
    """Read and validate a rule set file; raise RuleSetError naming what is wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise RuleSetError(f"cannot read rule set {path}: {error}") from error
    return parse_rules(text, str(path))


def parse_rules(text: str, origin: str) -> RuleSet:
    """Parse and validate a rule set in YAML or JSON; `origin` names it in errors."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise RuleSetError(
            f"rule set {origin} is not valid YAML: {error}",
            (Problem("document", f"not valid YAML: {error}"),),
        ) from error
    return rules_from_document(document, origin)


def rules_from_document(document: object, origin: str) -> RuleSet:
    """Validate a parsed rule set document (a mapping); raise RuleSetError
    with one Problem per invalid place."""
    if not isinstance(document, dict):
        kind = type(document).__name__
        raise RuleSetError(
            f"rule set {origin} is invalid: expected a mapping, got {kind}",
            (Problem("document", f"expected a mapping of settings, got {kind}"),),
        )
    try:
        rules = RuleSet.model_validate(document)
    except ValidationError as error:
        problems = tuple(_problem(detail, document) for detail in error.errors())
        raise RuleSetError(f"rule set {origin} is invalid:\n{error}", problems) from error
    _check_expressions(rules, Path(origin))
    return rules


def _problem(detail: ErrorDetails, document: dict) -> Problem:
    """Turn one pydantic error into a Problem that names the rule by name."""
    location = detail["loc"]
    message = detail["msg"].removeprefix("Value error, ")
    place = "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in location
    ).lstrip(".")
    if len(location) >= 2 and location[0] == "rules" and isinstance(location[1], int):
        rules = document.get("rules")
        entry = rules[location[1]] if isinstance(rules, list) else None
        name = entry.get("name") if isinstance(entry, dict) else None
        field = ".".join(str(part) for part in location[2:]) or None
        return Problem(place, message, rule=str(name or f"#{location[1] + 1}"), field=field)
    if location and location[0] == "default":
        field = ".".join(str(part) for part in location[1:]) or None
        return Problem(place, message, rule="default", field=field)
    return Problem(place or "document", message, field=place or None)


def _check_expressions(rules: RuleSet, path: Path) -> None:
    """Parse every skill expression, naming the rule of the first bad one."""
    for rule in (*rules.rules, rules.default):
        expression = rule.target.expression
        if expression is None:
            continue
        try:
            parse_expression(expression)
        except ExpressionError as error:
            name = getattr(rule, "name", "default")
            raise RuleSetError(
                f"rule set {path}: rule {name!r}, field target.expression: {error}",
                (
                    Problem(
                        "default.target.expression"
                        if name == "default"
                        else f"rules[{rules.rules.index(rule)}].target.expression",
                        str(error),
                        rule=name,
                        field="target.expression",
                    ),
                ),
            ) from error


@lru_cache(maxsize=1)
def default_rules() -> RuleSet:
    """Return the rule set shipped with the project, read once (it is frozen)."""
    source = resources.files("processors") / "rulesets" / "default.yaml"
    with resources.as_file(source) as path:
        return load_rules(path)
