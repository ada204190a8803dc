"""Rule set events: the versions of the rule set, as applied at run time."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from schemas.rules import RuleSet

__all__ = ["RULE_EVENTS", "RuleSetApplied"]

MAX_AUTHOR_CHARS = 200
MAX_COMMENT_CHARS = 2000


class RuleSetApplied(BaseModel):
    """One version of the rule set, with who applied it, when and why.

    Every worker reads all of them: the newest one classifies new items, and
    older ones stay available for items classified under them and for replays.
    """

    model_config = ConfigDict(frozen=True)

    version: int = Field(ge=1)
    rule_set: RuleSet
    applied_by: str = Field(min_length=1, max_length=MAX_AUTHOR_CHARS)
    applied_at: AwareDatetime
    comment: str = Field(default="", max_length=MAX_COMMENT_CHARS)

    @model_validator(mode="after")
    def _check_version(self) -> RuleSetApplied:
        if self.version != self.rule_set.version:
            raise ValueError(
                f"event version {self.version} differs from the rule set's "
                f"version {self.rule_set.version}"
            )
        return self


RULE_EVENTS: dict[str, type[BaseModel]] = {"rules.applied": RuleSetApplied}
