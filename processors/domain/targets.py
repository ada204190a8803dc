"""Targets: which employees may work an item.

A target combines required skills, a skill expression, an agent group and
a named employee; an employee qualifies when every part that is set holds.
A skill expression compares proficiency levels and combines comparisons
with `and`, `or` and brackets, for example
`Sales Processing > 7 and (Legacy System Processing > 1 or Billing >= 5)`.
Skill names may contain spaces but not the words `and` and `or`; a skill
the employee lacks has level 0.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from schemas.routing import Target

__all__ = [
    "Comparison",
    "ExpressionError",
    "comparisons",
    "match_score",
    "parse_expression",
    "qualifies",
    "skills_named",
]

_OPERATORS: dict[str, Callable[[int, int], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
    "=": operator.eq,
}
_TOKEN = re.compile(
    r"\s*(\(|\)|>=|<=|!=|>|<|=|\band\b|\bor\b|[^()<>=!]+?(?=\s*(?:[()<>=!]|\band\b|\bor\b|$)))",
    re.IGNORECASE,
)


class ExpressionError(ValueError):
    pass


@dataclass(frozen=True)
class Comparison:
    skill: str
    op: str
    level: int

    def holds(self, skills: dict[str, int]) -> bool:
        return _OPERATORS[self.op](skills.get(self.skill, 0), self.level)


@dataclass(frozen=True)
class _Both:
    left: object
    right: object

    def holds(self, skills: dict[str, int]) -> bool:
        return self.left.holds(skills) and self.right.holds(skills)


@dataclass(frozen=True)
class _Either:
    left: object
    right: object

    def holds(self, skills: dict[str, int]) -> bool:
        return self.left.holds(skills) or self.right.holds(skills)


@lru_cache(maxsize=4096)
def parse_expression(text: str):
    """Parse a skill expression, or raise ExpressionError saying where it fails."""
    tokens = _tokens(text)
    parser = _Parser(text, tokens)
    node = parser.disjunction()
    if parser.position != len(tokens):
        raise ExpressionError(
            f"skill expression {text!r}: unexpected {tokens[parser.position]!r}"
        )
    return node


def skills_named(text: str) -> list[str]:
    """Return the skill names an expression compares, in order of appearance."""
    names = [comparison.skill for comparison in comparisons(parse_expression(text))]
    return list(dict.fromkeys(names))


def qualifies(
    target: Target, agent_id: str, skills: dict[str, int], groups: frozenset[str]
) -> bool:
    """Check whether an employee meets every part of the target that is set."""
    if target.agent_id is not None and target.agent_id != agent_id:
        return False
    if target.agent_group is not None and target.agent_group not in groups:
        return False
    for requirement in target.skills:
        if skills.get(requirement.skill, -1) < requirement.min_level:
            return False
    if target.expression is not None:
        if not parse_expression(target.expression).holds(skills):
            return False
    if target.any_of:
        return any(
            qualifies(member, agent_id, skills, groups) for member in target.any_of
        )
    return True


def match_score(target: Target, skills: dict[str, int]) -> int:
    """Return how well the employee's skills fit: the sum of the levels of
    every skill the target names."""
    names = [requirement.skill for requirement in target.skills]
    if target.expression is not None:
        names += skills_named(target.expression)
    score = sum(skills.get(name, 0) for name in dict.fromkeys(names))
    if target.any_of:
        score += max(match_score(member, skills) for member in target.any_of)
    return score


def comparisons(node) -> list[Comparison]:
    """Return the comparisons of a parsed expression, left to right."""
    if isinstance(node, Comparison):
        return [node]
    return comparisons(node.left) + comparisons(node.right)


def _tokens(text: str) -> list[str]:
    tokens = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ExpressionError(
                f"skill expression {text!r}: cannot read from position {position}"
            )
        tokens.append(match.group(1).strip())
        position = match.end()
    if not tokens:
        raise ExpressionError("skill expression is empty")
    return tokens


class _Parser:
    """Recursive descent: disjunction := conjunction ('or' conjunction)*."""

    def __init__(self, text: str, tokens: list[str]) -> None:
        self.text = text
        self.tokens = tokens
        self.position = 0

    def peek(self) -> str | None:
        if self.position < len(self.tokens):
            return self.tokens[self.position]
        return None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise ExpressionError(f"skill expression {self.text!r} ends too early")
        self.position += 1
        return token

    def disjunction(self):
        node = self.conjunction()
        while (self.peek() or "").lower() == "or":
            self.take()
            node = _Either(node, self.conjunction())
        return node

    def conjunction(self):
        node = self.operand()
        while (self.peek() or "").lower() == "and":
            self.take()
            node = _Both(node, self.operand())
        return node

    def operand(self):
        token = self.take()
        if token == "(":
            node = self.disjunction()
            if self.take() != ")":
                raise ExpressionError(f"skill expression {self.text!r}: missing ')'")
            return node
        if token in _OPERATORS or token.lower() in ("and", "or", ")"):
            raise ExpressionError(
                f"skill expression {self.text!r}: expected a skill name, got {token!r}"
            )
        op = self.take()
        if op not in _OPERATORS:
            raise ExpressionError(
                f"skill expression {self.text!r}: expected a comparison after "
                f"{token!r}, got {op!r}"
            )
        level_text = self.take()
        if not level_text.isdigit():
            raise ExpressionError(
                f"skill expression {self.text!r}: level {level_text!r} after "
                f"{token!r} is not a whole number"
            )
        return Comparison(token, op, int(level_text))
