"""`workstream rules ...`: validate, apply, show, diff and list rule set versions.

Commands other than `validate` and `show FILE` read or write the rules topic
of the broker in KAFKA_BOOTSTRAP_SERVERS (`workstream broker` prints it for
the embedded broker).
"""

from __future__ import annotations

import getpass
import socket
import sys
from datetime import UTC
from pathlib import Path

import orjson

from processors.simulation.simulate_command import (
    add_arguments as add_simulate_arguments,
)
from processors.simulation.simulate_command import run_simulate

__all__ = ["add_rules_parser"]


class CommandError(Exception):
    """A failure to report on stderr with exit status 1."""


def add_rules_parser(commands) -> None:
    rules = commands.add_parser(
        "rules", help="validate, apply, show, diff and list rule set versions"
    )
    actions = rules.add_subparsers(title="rules commands", metavar="ACTION")

    validate = actions.add_parser(
        "validate", help="check a rule set file and list every problem"
    )
    validate.add_argument(
        "file",
        type=Path,
        nargs="?",
        help="rule set file, YAML or JSON (default: the shipped rule set)",
    )
    validate.set_defaults(run=_guarded(_validate))

    apply = actions.add_parser(
        "apply", help="validate a rule set file and publish it as the new version"
    )
    apply.add_argument("file", type=Path, help="rule set file, YAML or JSON")
    apply.add_argument(
        "--comment", default="", help="why the rules change, kept with the version"
    )
    apply.add_argument(
        "--author",
        default=None,
        help="who applies it (default: $WORKSTREAM_USER, or USER@HOST)",
    )
    apply.set_defaults(run=_guarded(_apply))

    show = actions.add_parser(
        "show", help="print a rule set version from the rules topic, or a file"
    )
    show.add_argument(
        "file",
        type=Path,
        nargs="?",
        help="print this file's rule set instead of a version from the topic",
    )
    show.add_argument(
        "--version",
        type=int,
        help="version to print (default: the active one)",
    )
    show.set_defaults(run=_guarded(_show))

    diff = actions.add_parser(
        "diff",
        help="show the differences between two versions or files, per rule and field",
        description="Each of A and B is a version number or a rule set file. "
        "Without arguments: the version before the active one against the active "
        "one. With only A: A against the active version.",
    )
    diff.add_argument("before", nargs="?", metavar="A", help="version or file")
    diff.add_argument("after", nargs="?", metavar="B", help="version or file")
    diff.add_argument("--json", action="store_true", help="print the changes as JSON")
    diff.set_defaults(run=_guarded(_diff))

    simulate = actions.add_parser(
        "simulate",
        help="replay past captures under the current and a new rule set and "
        "compare SLA attainment, waits and overdue items",
    )
    add_simulate_arguments(simulate)
    simulate.set_defaults(run=run_simulate)

    history = actions.add_parser(
        "history", help="list the versions with time, author and comment"
    )
    history.add_argument("--json", action="store_true", help="print as JSON")
    history.set_defaults(run=_guarded(_history))

    rules.set_defaults(run=lambda arguments: rules.print_help() or 2)


def _guarded(command):
    """Run a command, printing CommandError and broker errors as one line."""

    def run(arguments) -> int:
        from confluent_kafka import KafkaException

        try:
            return command(arguments)
        except CommandError as error:
            print(error, file=sys.stderr)
            return 1
        except LookupError as error:
            print(error, file=sys.stderr)
            return 1
        except KafkaException as error:
            print(f"broker request failed: {error}", file=sys.stderr)
            return 1

    return run


def _settings():
    from topics.settings import BrokerSettings

    settings = BrokerSettings.from_env()
    if settings is None:
        raise CommandError(
            "KAFKA_BOOTSTRAP_SERVERS is not set: point it at the broker "
            "(host:port), or start one with 'workstream broker' and export the "
            "variables it prints"
        )
    return settings


def _load(path: Path):
    from processors.domain.rulesets import RuleSetError, load_rules

    try:
        return load_rules(path)
    except RuleSetError as error:
        raise CommandError(_problem_report(error)) from error


def _problem_report(error) -> str:
    """Describe an invalid rule set, one line per problem where known."""
    if not error.problems:
        return str(error)
    lines = [str(error).splitlines()[0].rstrip(":")]
    for problem in error.problems:
        lines.append(f"  {problem}")
    return "\n".join(lines)


def _registry(settings):
    from processors.rule_log import read_registry

    registry = read_registry(settings)
    if registry.active is None:
        raise CommandError(
            "the rules topic has no rule set yet; start a worker (it publishes "
            "its rule set) or run 'workstream rules apply FILE'"
        )
    return registry


def _validate(arguments) -> int:
    from processors.domain.rulesets import default_rules

    rules = _load(arguments.file) if arguments.file else default_rules()
    print(
        f"rule set {rules.name!r} version {rules.version} is valid: "
        f"{len(rules.rules)} rules, {len(rules.schemes)} schemes"
    )
    return 0


def _apply(arguments) -> int:
    from processors.domain.rule_versions import VersionNotNew
    from processors.rule_log import ApplyConflict, apply_rule_set

    rules = _load(arguments.file)
    author = arguments.author or _default_author()
    try:
        record = apply_rule_set(_settings(), rules, author, arguments.comment)
    except (VersionNotNew, ApplyConflict) as error:
        raise CommandError(f"not applied: {error}") from error
    print(
        f"applied rule set {rules.name!r} version {record.version} as {author}; "
        "workers switch to it for items captured from now on"
    )
    return 0


def _default_author() -> str:
    import os

    return os.environ.get("WORKSTREAM_USER") or (
        f"{getpass.getuser()}@{socket.gethostname()}"
    )


def _show(arguments) -> int:
    if arguments.file is not None:
        if arguments.version is not None:
            raise CommandError("pass either FILE or --version, not both")
        rules = _load(arguments.file)
    else:
        registry = _registry(_settings())
        record = (
            registry.active
            if arguments.version is None
            else registry.get(arguments.version)
        )
        if record is None:
            known = [r.version for r in registry.history()]
            raise CommandError(
                f"rule set version {arguments.version} not found; known: {known}"
            )
        rules = record.rule_set
        print(
            f"# version {record.version}, applied by {record.applied_by} at "
            f"{record.applied_at.isoformat()}: {record.comment or 'no comment'}",
            file=sys.stderr,
        )
    document = rules.model_dump(mode="json")
    sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


def _diff(arguments) -> int:
    from processors.domain.rule_diff import diff_rule_sets, format_changes

    registry = None

    def resolve(text: str | None):
        nonlocal registry
        if text is not None and not text.isdigit():
            return _load(Path(text)), text
        if text is not None and Path(text).is_file():
            return _load(Path(text)), text
        if registry is None:
            registry = _registry(_settings())
        if text is None:
            record = registry.active
        else:
            record = registry.get(int(text))
            if record is None:
                known = [r.version for r in registry.history()]
                raise CommandError(f"rule set version {text} not found; known: {known}")
        return record.rule_set, f"version {record.version}"

    if arguments.before is None:
        after, after_label = resolve(None)
        previous = registry.previous(after.version)
        if previous is None:
            raise CommandError(
                f"version {after.version} is the only one; pass A (and B) to compare"
            )
        before, before_label = previous.rule_set, f"version {previous.version}"
    else:
        before, before_label = resolve(arguments.before)
        after, after_label = resolve(arguments.after)
    changes = diff_rule_sets(before, after)
    if arguments.json:
        document = {
            "from": before_label,
            "to": after_label,
            "changes": [change.as_dict() for change in changes],
        }
        print(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())
    else:
        sys.stdout.write(format_changes(changes, before_label, after_label))
    return 0


def _history(arguments) -> int:
    registry = _registry(_settings())
    active = registry.active.version
    records = registry.history()
    if arguments.json:
        rows = [
            {
                "version": r.version,
                "name": r.rule_set.name,
                "applied_by": r.applied_by,
                "applied_at": r.applied_at.isoformat(),
                "comment": r.comment,
                "active": r.version == active,
            }
            for r in records
        ]
        print(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return 0
    width = max(len("by"), *(len(r.applied_by) for r in records))
    print(f"{'version':>7}  {'applied at (UTC)':<19}  {'by':<{width}}  comment")
    for r in records:
        marker = "*" if r.version == active else " "
        applied = r.applied_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        print(
            f"{r.version:>6}{marker}  {applied:<19}  {r.applied_by:<{width}}  {r.comment}"
        )
    print("* active version")
    return 0
