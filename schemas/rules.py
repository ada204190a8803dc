"""Rule sets: source mappings, classification rules, priority schemes, targets."""

from __future__ import annotations

import re

try:  # the parser behind re, public as sre_parse before Python 3.11
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover
    import sre_parse
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.calendar import Calendar
from schemas.routing import MAX_WAIT_SECONDS, Media, PriorityScheme

__all__ = [
    "ClassificationRule",
    "Condition",
    "RuleSet",
    "Segment",
    "SkillSpec",
    "SourceMapping",
    "TargetSpec",
    "TierSpec",
]

AttributeType = Literal["text", "number", "integer", "boolean", "date"]
Operator = Literal["equals", "in", "exists", "missing", "regex", "gt", "ge", "lt", "le"]


# An SLA of at most a year, and an offer open for at most a day: longer
# values are typing errors, and would overflow due-date arithmetic.
MAX_SLA_HOURS = 366 * 24
MAX_OFFER_SECONDS = 24 * 3600


def _check_zone(name: str, field: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(
            f"{field} {name!r} is not a known IANA time zone, such as 'Europe/Berlin'"
        ) from error


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class SourceMapping(_Model):
    """The reading rules of one source system's captures.

    `fields` maps the source's attribute names to business attribute names,
    and `types` converts business attributes: numbers and booleans sent as
    text become numbers and booleans, dates become ISO 8601 in UTC.
    `date_formats` are tried in order after ISO 8601. `statuses` lists the
    status values the source may send; when it is empty, any status is
    accepted.
    """

    fields: dict[str, str] = Field(default_factory=dict)
    types: dict[str, AttributeType] = Field(default_factory=dict)
    date_formats: tuple[str, ...] = ()
    timezone: str = "UTC"
    statuses: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _check_timezone(self) -> SourceMapping:
        _check_zone(self.timezone, "timezone")
        return self


class Condition(_Model):
    attribute: str
    op: Operator = "equals"
    value: Any = None

    @model_validator(mode="after")
    def _check_value(self) -> Condition:
        if self.op == "in" and not isinstance(self.value, list):
            raise ValueError(f"condition on {self.attribute!r}: 'in' needs a list")
        if self.op == "regex":
            try:
                re.compile(str(self.value))
            except re.error as error:
                raise ValueError(
                    f"condition on {self.attribute!r}: invalid regex: {error}"
                ) from error
            if _nested_repeat(sre_parse.parse(str(self.value))):
                raise ValueError(
                    f"condition on {self.attribute!r}: regex {self.value!r} repeats "
                    "a group that itself repeats without bound, such as (a+)+, "
                    "which can take exponential time on some texts; rewrite it "
                    "without the nested repetition"
                )
        return self


_REPEATS = ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")


def _nested_repeat(pattern, inside_repeat: bool = False) -> bool:
    """Check a parsed regex for an unbounded repeat inside another repeat,
    the usual cause of catastrophic backtracking. It is a heuristic: it
    catches (a+)+ and (x*y)* but not every slow pattern."""
    for opcode, argument in pattern:
        name = str(opcode)
        if name in _REPEATS:
            _, high, body = argument
            unbounded = high == sre_parse.MAXREPEAT
            if inside_repeat and unbounded:
                return True
            if _nested_repeat(body, inside_repeat or high > 1):
                return True
        elif name == "SUBPATTERN":
            if _nested_repeat(argument[-1], inside_repeat):
                return True
        elif name == "BRANCH":
            if any(_nested_repeat(branch, inside_repeat) for branch in argument[1]):
                return True
    return False


class SkillSpec(_Model):
    """One required skill: a fixed name, or the value of an item attribute."""

    skill: str | None = None
    from_attribute: str | None = None
    min_level: int = Field(default=1, ge=0, le=10)

    @model_validator(mode="after")
    def _check_one_source(self) -> SkillSpec:
        if (self.skill is None) == (self.from_attribute is None):
            raise ValueError("a skill needs exactly one of 'skill' or 'from_attribute'")
        return self


class TargetSpec(_Model):
    """The employees who may work an item: skills (`fallback_skill` replaces
    a skill whose attribute is missing on the item), a skill expression such
    as "Sales Processing > 7 and Legacy System Processing > 1", and an agent
    group. Every part that is set must hold."""

    skills: tuple[SkillSpec, ...] = ()
    expression: str | None = None
    agent_group: str | None = None
    fallback_skill: str = "reception"


class TierSpec(_Model):
    """A wider target an item moves to after waiting in routing: a fixed
    time, or a share of the item's SLA (from capture to due date)."""

    target: TargetSpec
    after_seconds: float | None = Field(default=None, ge=0, le=MAX_WAIT_SECONDS)
    after_percent_of_sla: float | None = Field(default=None, ge=0, le=100)

    @model_validator(mode="after")
    def _check_one_wait(self) -> TierSpec:
        if (self.after_seconds is None) == (self.after_percent_of_sla is None):
            raise ValueError(
                "a tier needs exactly one of 'after_seconds' or 'after_percent_of_sla'"
            )
        return self


class Segment(_Model):
    """The department, process, scheme, SLA and targets a matching rule (or
    the default) assigns to an item. With `calendar`, `sla_hours` are open
    hours of that business calendar."""

    department: str
    process: str
    scheme: str
    sla_hours: float | None = Field(default=None, gt=0, le=MAX_SLA_HOURS)
    calendar: str | None = None
    target: TargetSpec = TargetSpec()
    tiers: tuple[TierSpec, ...] = Field(
        default=(), description="Wider targets after the primary one, in order"
    )


class ClassificationRule(Segment):
    name: str
    when: tuple[Condition, ...] = ()


class RuleSet(_Model):
    version: int = Field(ge=1)
    name: str = "rules"
    offer_timeout_seconds: float = Field(default=600.0, gt=0, le=MAX_OFFER_SECONDS)
    fairness: Literal["longest_idle", "least_handled"] = Field(
        default="longest_idle",
        description="Among equally skilled free employees, who gets the item: the "
        "one idle longest, or the one who finished the fewest items since log in",
    )
    preferred_agent_wait_percent: float = Field(
        default=20.0,
        ge=0,
        le=100,
        description="Share of the SLA an item waits for its preferred employee",
    )
    preferred_agent_wait_seconds: float = Field(
        default=3600.0,
        ge=0,
        description="Wait for the preferred employee of an item without a due date",
    )
    auto_answer_media: tuple[Media, ...] = Field(
        default=(),
        description="Media whose offers every employee accepts at once, unasked",
    )
    business_day_timezone: str = Field(
        default="UTC",
        description="Time zone of the business day over which least_handled "
        "counts each employee's finished items",
    )
    sources: dict[str, SourceMapping] = Field(default_factory=dict)
    calendars: dict[str, Calendar] = Field(default_factory=dict)
    schemes: dict[str, PriorityScheme]
    rules: tuple[ClassificationRule, ...] = ()
    default: Segment

    @model_validator(mode="after")
    def _check_references(self) -> RuleSet:
        _check_zone(self.business_day_timezone, "business_day_timezone")
        for name, calendar in self.calendars.items():
            if calendar.name != name:
                raise ValueError(
                    f"calendar key {name!r} differs from its name {calendar.name!r}"
                )
        for name, scheme in self.schemes.items():
            if scheme.name != name:
                raise ValueError(
                    f"scheme key {name!r} differs from its name {scheme.name!r}"
                )
            if scheme.calendar is not None and scheme.calendar not in self.calendars:
                raise ValueError(
                    f"priority scheme {name!r}: field 'calendar': unknown calendar "
                    f"{scheme.calendar!r}; known: {sorted(self.calendars)}"
                )
        for rule in (*self.rules, self.default):
            label = getattr(rule, "name", "default")
            if rule.scheme not in self.schemes:
                raise ValueError(
                    f"rule {label!r}: unknown priority scheme {rule.scheme!r}; "
                    f"known: {sorted(self.schemes)}"
                )
            if rule.calendar is not None and rule.calendar not in self.calendars:
                raise ValueError(
                    f"rule {label!r}: field 'calendar': unknown calendar "
                    f"{rule.calendar!r}; known: {sorted(self.calendars)}"
                )
        names = [rule.name for rule in self.rules]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"rule names must be unique, repeated: {duplicates}")
        return self
