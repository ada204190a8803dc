"""`workstream rules simulate`: compare two rule sets on replayed past traffic."""

from __future__ import annotations

import argparse
import sys
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson

from processors.domain.rulesets import RuleSetError, default_rules, load_rules
from processors.simulation.staffing import staffing_for
from processors.simulation.whatif import simulate, summarise
from processors.sources.capture_traffic import SourceCapture

__all__ = ["DATA_SETS", "add_arguments", "compare", "load_log", "run_simulate"]

DATA_SETS = ("servicenow", "boston")
# Columns that identify each export format in its CSV header.
_FORMAT_COLUMNS = {
    "servicenow": {"number", "sys_updated_at", "incident_state"},
    "boston": {"CASE_ENQUIRY_ID", "OPEN_DT", "CLOSED_DT"},
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of `rules simulate` to the `rules` parser."""
    parser.add_argument(
        "--rules",
        dest="new_rules",
        type=Path,
        help="simulate: the new rule set file to compare",
    )
    parser.add_argument(
        "--log",
        help="simulate: captures to replay: 'servicenow' or 'boston' for the "
        "shipped data sets, or the path of an export in one of those formats",
    )
    parser.add_argument(
        "--current",
        type=Path,
        help="simulate: the rule set to compare against (default: the shipped one)",
    )
    parser.add_argument(
        "--limit",
        type=int,
        help="simulate: replay only the first N captures (source rows), earliest "
        "first (default: all)",
    )
    parser.add_argument(
        "--json", action="store_true", help="simulate: print the comparison as JSON"
    )


def run_simulate(arguments: argparse.Namespace) -> int:
    # `rules simulate NEW.yaml --log ...` names the new rule set like `validate`.
    new_path = arguments.new_rules or getattr(arguments, "file", None)
    if new_path is None or arguments.log is None:
        print(
            "rules simulate needs --rules NEW_RULE_SET and --log DATA_SET_OR_FILE, "
            "for example: workstream rules simulate --rules new.yaml --log servicenow",
            file=sys.stderr,
        )
        return 2
    if arguments.limit is not None and arguments.limit < 1:
        print(f"--limit must be 1 or more, got {arguments.limit}", file=sys.stderr)
        return 2
    try:
        current = load_rules(arguments.current) if arguments.current else default_rules()
        new = load_rules(new_path)
        captures = load_log(arguments.log, arguments.limit)
    except (RuleSetError, ValueError) as error:
        print(error, file=sys.stderr)
        return 1
    if not captures:
        print(f"the log {arguments.log!r} has no captures to replay", file=sys.stderr)
        return 1
    comparison = compare(current, new, captures, arguments.log)
    if arguments.json:
        sys.stdout.write(
            orjson.dumps(comparison, option=orjson.OPT_INDENT_2).decode() + "\n"
        )
    else:
        print(format_comparison(comparison))
    return 0


def load_log(log: str, limit: int | None) -> list[SourceCapture]:
    """Read a shipped data set by name, or an export file, as captures in time
    order, keeping the first `limit` captures as the demo does."""
    from processors.simulation.demo import load_captures

    if log in DATA_SETS:
        return load_captures(log, None, limit if limit is not None else sys.maxsize)
    path = Path(log)
    if not path.is_file():
        raise ValueError(
            f"--log {log!r} is neither a data set ({', '.join(DATA_SETS)}) nor a "
            "file; pass one of those names or the path of an export"
        )
    source = _detect_format(path)
    return load_captures(source, path, limit if limit is not None else sys.maxsize)


def _detect_format(path: Path) -> str:
    header = set(_header(path))
    for source, columns in _FORMAT_COLUMNS.items():
        if columns <= header:
            return source
    raise ValueError(
        f"{path} is not a ServiceNow incident log nor a Boston 311 case export: "
        "its CSV header lacks their columns ("
        + "; ".join(", ".join(sorted(c)) for c in _FORMAT_COLUMNS.values())
        + ")"
    )


def _header(path: Path) -> list[str]:
    import csv
    import io

    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            members = [n for n in archive.namelist() if n.lower().endswith(".csv")]
            if len(members) != 1:
                raise ValueError(f"{path} must contain exactly one .csv file")
            with archive.open(members[0]) as raw:
                text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
                return next(csv.reader(text), [])
    with path.open(encoding="utf-8-sig", newline="") as text:
        return next(csv.reader(text), [])


def compare(current, new, captures: list[SourceCapture], log: str) -> dict[str, Any]:
    """Replay the same captures with the same employees under both rule sets."""
    profiles = staffing_for(captures)
    return {
        "log": log,
        "captures": len(captures),
        "from": captures[0].at.isoformat(),
        "to": captures[-1].at.isoformat(),
        "employees": len(profiles),
        "current": summarise(simulate(current, captures, profiles)),
        "new": summarise(simulate(new, captures, profiles)),
    }


# The readable table.

_COLUMNS = (
    ("items", "items"),
    ("SLA", "sla_attainment"),
    ("wait p50", "wait_seconds_p50"),
    ("wait p95", "wait_seconds_p95"),
    ("overdue", "overdue"),
)


def format_comparison(comparison: dict[str, Any]) -> str:
    current, new = comparison["current"], comparison["new"]
    lines = [
        f"replayed {comparison['captures']} captures of {comparison['log']} "
        f"({comparison['from'][:16]} to {comparison['to'][:16]}) with "
        f"{comparison['employees']} simulated employees",
        f"current: {_rule_set(current)}",
        f"new:     {_rule_set(new)}",
        "",
    ]
    overall = [
        ("items", "items"),
        ("completed by the source", "completed"),
        ("SLA attainment", "sla_attainment"),
        ("wait p50 (capture to accept)", "wait_seconds_p50"),
        ("wait p95", "wait_seconds_p95"),
        ("overdue items", "overdue"),
        ("still open", "open"),
        ("rejected captures", "rejected_total"),
        ("offers timed out (RONA)", "rona"),
    ]
    rows = [("", "current", "new", "change")]
    for label, key in overall:
        rows.append(
            (label, _show(key, current[key]), _show(key, new[key]), _change(key, current[key], new[key]))
        )
    lines += _table(rows)
    for title, section in (
        ("department", "by_department"),
        ("process", "by_process"),
        ("rule (segment)", "by_rule"),
    ):
        lines.append("")
        lines += _section_table(title, current[section], new[section])
    lines.append("")
    lines.append(
        "SLA: items completed by the source by their due date, of those completed "
        "with one. Overdue: completed late, or open past the due date at the end. "
        "Cells show current -> new."
    )
    return "\n".join(lines)


def _rule_set(report: dict[str, Any]) -> str:
    rule_set = report["rule_set"]
    return f"{rule_set['name']!r} version {rule_set['version']}"


def _section_table(title: str, current: dict, new: dict) -> list[str]:
    rows = [(f"by {title}", *(label for label, _ in _COLUMNS))]
    for name in sorted(set(current) | set(new)):
        before, after = current.get(name, {}), new.get(name, {})
        rows.append(
            (
                name,
                *(
                    f"{_show(key, before.get(key))} -> {_show(key, after.get(key))}"
                    for _, key in _COLUMNS
                ),
            )
        )
    return _table(rows)


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    return lines


def _show(key: str, value: Any) -> str:
    if value is None:
        return "n/a" if key != "items" else "0"
    if key == "sla_attainment":
        return f"{value:.1%}"
    if key.startswith("wait_seconds"):
        return str(timedelta(seconds=round(value)))
    return str(value)


def _change(key: str, before: Any, after: Any) -> str:
    if before is None or after is None or before == after:
        return ""
    if key == "sla_attainment":
        return f"{(after - before) * 100:+.1f} pts"
    if key.startswith("wait_seconds"):
        sign = "+" if after > before else "-"
        return sign + str(timedelta(seconds=round(abs(after - before))))
    return f"{after - before:+d}"
