"""The versions of the rule set a worker has read, newest one active.

The rules topic is read in order from its start. A version is accepted only
when it is above every version accepted before it, so all readers of the
same log end up with the same versions, whatever the order of the appliers.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.rule_events import RuleSetApplied
from schemas.rules import RuleSet

__all__ = ["RuleSetRegistry", "VersionNotNew"]


class VersionNotNew(ValueError):
    """A rule set whose version is not above the active one."""

    def __init__(self, version: int, active: int) -> None:
        super().__init__(
            f"rule set version {version} is not new: the active version is "
            f"{active}; set 'version: {active + 1}' (or higher) in the rule set "
            "and apply it again"
        )
        self.version = version
        self.active = active


@dataclass(frozen=True)
class Rejected:
    """A record of the log that did not become a version, and why."""

    version: int
    reason: str


class RuleSetRegistry:
    """Every accepted version, kept so that any past version can be looked up."""

    def __init__(self) -> None:
        self._versions: dict[int, RuleSetApplied] = {}
        self._active: RuleSetApplied | None = None

    def add(self, record: RuleSetApplied) -> Rejected | None:
        """Accept `record` as the new active version, or return why not."""
        try:
            self.check_new(record.version)
        except VersionNotNew as error:
            return Rejected(record.version, str(error))
        self._versions[record.version] = record
        self._active = record
        return None

    def check_new(self, version: int) -> None:
        """Raise VersionNotNew unless `version` is above the active version."""
        if self._active is not None and version <= self._active.version:
            raise VersionNotNew(version, self._active.version)

    @property
    def active(self) -> RuleSetApplied | None:
        return self._active

    @property
    def active_rules(self) -> RuleSet | None:
        return None if self._active is None else self._active.rule_set

    def get(self, version: int) -> RuleSetApplied | None:
        return self._versions.get(version)

    def rules(self, version: int) -> RuleSet | None:
        record = self._versions.get(version)
        return None if record is None else record.rule_set

    def history(self) -> list[RuleSetApplied]:
        """Return every version, oldest first."""
        return [self._versions[version] for version in sorted(self._versions)]

    def previous(self, version: int) -> RuleSetApplied | None:
        """Return the newest version below `version`, or None."""
        older = [known for known in self._versions if known < version]
        return self._versions[max(older)] if older else None

    def __len__(self) -> int:
        return len(self._versions)
