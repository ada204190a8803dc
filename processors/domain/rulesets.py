"""Loading rule sets from YAML or JSON files."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from processors.domain.targets import ExpressionError, parse_expression
from schemas.rules import RuleSet

__all__ = ["RuleSetError", "default_rules", "load_rules"]


class RuleSetError(ValueError):
    pass


def load_rules(path: str | Path) -> RuleSet:
    """Read and validate a rule set file; raise RuleSetError naming what is wrong."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise RuleSetError(f"cannot read rule set {path}: {error}") from error
    except yaml.YAMLError as error:
        raise RuleSetError(f"rule set {path} is not valid YAML: {error}") from error
    try:
        rules = RuleSet.model_validate(document)
    except ValidationError as error:
        raise RuleSetError(f"rule set {path} is invalid:\n{error}") from error
    _check_expressions(rules, path)
    return rules


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
                f"rule set {path}: rule {name!r}, field target.expression: {error}"
            ) from error


@lru_cache(maxsize=1)
def default_rules() -> RuleSet:
    """Return the rule set shipped with the project, read once (it is frozen)."""
    source = resources.files("processors") / "rulesets" / "default.yaml"
    with resources.as_file(source) as path:
        return load_rules(path)
