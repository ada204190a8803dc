"""Bearer tokens of the worker's HTTP API, configured by environment.

WORKSTREAM_API_TOKENS contains comma-separated entries NAME:ROLE:TOKEN. ROLE is
`read` (read rule sets, validate) or `apply` (also apply new versions). NAME
is recorded as the author of the versions that token applies.
"""

from __future__ import annotations

import hmac
import os
import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["TOKENS_VARIABLE", "Principal", "TokenConfigError", "TokenTable"]

TOKENS_VARIABLE = "WORKSTREAM_API_TOKENS"
MIN_TOKEN_CHARS = 16
ROLES = ("read", "apply")
Role = Literal["read", "apply"]
_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")


class TokenConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Principal:
    """The caller a token belongs to."""

    name: str
    role: Role

    def may(self, role: Role) -> bool:
        return role == "read" or self.role == "apply"


class TokenTable:
    """The configured tokens; empty when none are configured."""

    def __init__(self, entries: dict[str, Principal]) -> None:
        self._entries = entries

    @classmethod
    def parse(cls, text: str) -> TokenTable:
        """Parse NAME:ROLE:TOKEN entries; raise TokenConfigError on a bad one."""
        entries: dict[str, Principal] = {}
        for number, entry in enumerate(text.split(","), start=1):
            entry = entry.strip()
            if not entry:
                continue
            parts = entry.split(":", 2)
            if len(parts) != 3:
                raise TokenConfigError(
                    f"{TOKENS_VARIABLE} entry {number} is not NAME:ROLE:TOKEN"
                )
            name, role, token = parts
            if not _NAME.match(name):
                raise TokenConfigError(
                    f"{TOKENS_VARIABLE} entry {number}: invalid name {name!r}; use "
                    "1 to 64 letters, digits, '.', '_', '@' or '-'"
                )
            if role not in ROLES:
                raise TokenConfigError(
                    f"{TOKENS_VARIABLE} entry {number} ({name}): invalid role "
                    f"{role!r}; use 'read' or 'apply'"
                )
            if len(token) < MIN_TOKEN_CHARS:
                raise TokenConfigError(
                    f"{TOKENS_VARIABLE} entry {number} ({name}): the token has "
                    f"{len(token)} characters, at least {MIN_TOKEN_CHARS} are required"
                )
            if token in entries:
                raise TokenConfigError(
                    f"{TOKENS_VARIABLE} entry {number} ({name}): the token is "
                    f"already used by {entries[token].name}"
                )
            entries[token] = Principal(name, role)  # type: ignore[arg-type]
        return cls(entries)

    @classmethod
    def from_env(cls) -> TokenTable:
        return cls.parse(os.environ.get(TOKENS_VARIABLE, ""))

    @property
    def configured(self) -> bool:
        return bool(self._entries)

    def lookup(self, token: str) -> Principal | None:
        """Return the token's principal, comparing in constant time."""
        found = None
        for known, principal in self._entries.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                found = principal
        return found
