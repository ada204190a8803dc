"""Benchmarks that print figures; they never assert a speed."""

from __future__ import annotations

from pathlib import Path

import orjson

__all__ = ["publish"]


def publish(result: dict, path: Path, as_json: bool, text: str) -> None:
    """Write a benchmark's figures to `path` and print them as JSON or `text`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    print(orjson.dumps(result).decode() if as_json else text)
