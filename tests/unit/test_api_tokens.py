"""Bearer tokens of the worker's HTTP API."""

from __future__ import annotations

import pytest

from processors.api_tokens import Principal, TokenConfigError, TokenTable

READ = "r" * 20
APPLY = "a" * 20


def test_entries_parsed():
    table = TokenTable.parse(f"board:read:{READ}, ana:apply:{APPLY},")
    assert table.configured
    assert table.lookup(READ) == Principal("board", "read")
    assert table.lookup(APPLY) == Principal("ana", "apply")
    assert table.lookup("x" * 20) is None


def test_token_may_contain_colons():
    token = "abc:def:ghi:jkl:mnop"
    table = TokenTable.parse(f"ana:apply:{token}")
    assert table.lookup(token).name == "ana"


def test_roles():
    assert Principal("ana", "apply").may("apply")
    assert Principal("ana", "apply").may("read")
    assert Principal("board", "read").may("read")
    assert not Principal("board", "read").may("apply")


def test_empty_configuration():
    table = TokenTable.parse("")
    assert not table.configured
    assert table.lookup("") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ana", "entry 1 is not NAME:ROLE:TOKEN"),
        (f"ana:admin:{APPLY}", "invalid role 'admin'"),
        ("ana:read:short", "the token has 5 characters, at least 16"),
        (f"a b:read:{READ}", "invalid name 'a b'"),
        (f"ana:read:{READ},bo:apply:{READ}", "already used by ana"),
    ],
)
def test_bad_entries_rejected(text, message):
    with pytest.raises(TokenConfigError, match=message):
        TokenTable.parse(text)
