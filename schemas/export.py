"""JSON Schema export of every message, for source-system and desktop integrators."""

from __future__ import annotations

from pathlib import Path

import orjson

from schemas.codec import MESSAGE_TYPES
from schemas.envelope import Envelope
from schemas.rules import RuleSet

__all__ = ["export_schemas"]


def export_schemas(directory: Path) -> list[Path]:
    """Write one JSON Schema file per message type, plus envelope and rule set."""
    directory.mkdir(parents=True, exist_ok=True)
    models = {"envelope": Envelope, "rule-set": RuleSet, **MESSAGE_TYPES}
    written = []
    for name, model in sorted(models.items()):
        path = directory / f"{name}.schema.json"
        schema = model.model_json_schema()
        schema["title"] = name
        path.write_bytes(
            orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
        )
        written.append(path)
    return written
