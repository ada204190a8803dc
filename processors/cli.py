"""The `workstream` command."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

__all__ = ["main"]

log = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    arguments = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, arguments.log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not hasattr(arguments, "run"):
        parser.print_help()
        return 2
    try:
        return arguments.run(arguments) or 0
    except BrokenPipeError:
        # The reader of stdout went away (for example `| head`): stop quietly.
        sys.stdout = None
        return 0
    except FileNotFoundError as error:
        print(f"file not found: {error.filename}", file=sys.stderr)
        return 1
    except OSError as error:
        # urllib's URLError and connection errors: a worker that does not respond.
        print(f"request failed: {error}; check the --worker URL", file=sys.stderr)
        return 1
    except ValueError as error:
        from processors.simulation.demo import DataFormatError

        if not isinstance(error, DataFormatError):
            raise
        print(error, file=sys.stderr)
        return 1
    except Exception as error:
        from confluent_kafka import KafkaException

        if not isinstance(error, KafkaException):
            raise
        servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
        print(
            f"the Kafka broker at {servers!r} did not respond ({error.args[0]}); "
            "check KAFKA_BOOTSTRAP_SERVERS, or start one with './run broker'",
            file=sys.stderr,
        )
        return 1


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def _sizes(text: str) -> list[int]:
    try:
        sizes = [_positive_int(part) for part in text.split(",")]
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated whole numbers such as 10000,100000, got {text!r}"
        ) from error
    return sorted(sizes)


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workstream",
        description="Capture, classify, prioritise and distribute work items on Kafka.",
    )
    parser.add_argument(
        "--log-level", default="warning", help="logging level (default: warning)"
    )
    commands = parser.add_subparsers(title="commands")

    demo = commands.add_parser(
        "demo", help="run the whole pipeline on real data with simulated employees"
    )
    demo.add_argument(
        "--source",
        choices=["servicenow", "boston"],
        default="servicenow",
        help="data set to import (default: servicenow)",
    )
    demo.add_argument(
        "--path",
        type=Path,
        help="a file of the same format to import instead of the shipped one",
    )
    demo.add_argument(
        "--limit",
        type=_positive_int,
        default=2000,
        help="number of source rows to import, earliest first; each row becomes "
        "one capture (default: 2000, about three days of the incident log)",
    )
    demo.add_argument(
        "--speed",
        type=_positive_float,
        default=2000.0,
        help="business seconds per wall-clock second (default: 2000: one day "
        "takes about 43 s)",
    )
    demo.add_argument(
        "--json", action="store_true", help="print the final summary as JSON"
    )
    demo.add_argument(
        "--max-minutes",
        type=_positive_float,
        default=15.0,
        help="stop after this many wall-clock minutes (default: 15)",
    )
    demo.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        help="worker processes to start (default: 1)",
    )
    demo.add_argument(
        "--keep",
        action="store_true",
        help="keep the broker and the workers running after the summary, for "
        "history and status, until Ctrl-C",
    )
    demo.set_defaults(run=_run_demo)

    broker = commands.add_parser(
        "broker",
        help="run the embedded broker with the catalog's topics until Ctrl-C",
    )
    broker.set_defaults(run=_run_broker)

    worker = commands.add_parser("worker", help="run a worker with every processor")
    worker.add_argument(
        "--rules", type=Path, help="rule set file (default: the shipped rule set)"
    )
    worker.add_argument(
        "--data-dir",
        type=Path,
        default=Path("var/worker"),
        help="directory for RocksDB state",
    )
    worker.add_argument(
        "--web-port",
        type=int,
        default=6066,
        help="port of the worker's HTTP views on 127.0.0.1",
    )
    worker.add_argument(
        "--name",
        default="worker-1",
        help="worker name, recorded as the producer of its events",
    )
    worker.set_defaults(run=_run_worker)

    topics = commands.add_parser("topics", help="create or check the catalog's topics")
    topics.add_argument(
        "action",
        choices=["create", "check", "list"],
        help="create: create missing topics, then check; check: compare the "
        "broker's topics with the catalog; list: print the catalog",
    )
    topics.set_defaults(run=_run_topics)

    history = commands.add_parser(
        "history", help="rebuild one item's life from the event log"
    )
    history.add_argument("task_id", help="task id: SOURCE_SYSTEM:EXTERNAL_ID")
    history.add_argument(
        "--json", action="store_true", help="print events and state as JSON"
    )
    history.set_defaults(run=_run_history)

    explain = commands.add_parser(
        "explain", help="say why an item is where it is in routing"
    )
    explain.add_argument("task_id", help="task id: SOURCE_SYSTEM:EXTERNAL_ID")
    explain.add_argument(
        "--worker",
        default=os.environ.get("WORKSTREAM_WORKER_URL", "http://127.0.0.1:6066"),
        help="HTTP address of the worker that routes the item's domain "
        "(default: $WORKSTREAM_WORKER_URL or http://127.0.0.1:6066)",
    )
    explain.add_argument("--json", action="store_true", help="print as JSON")
    explain.set_defaults(run=_run_explain)

    status = commands.add_parser(
        "status", help="print the live summary of queues and agents"
    )
    status.add_argument("--json", action="store_true", help="print as JSON")
    status.add_argument(
        "--agents", action="store_true", help="list every agent with its state"
    )
    status.set_defaults(run=_run_status)

    schemas = commands.add_parser(
        "schemas", help="export JSON Schema of every message for integrators"
    )
    schemas.add_argument(
        "directory", type=Path, help="directory to write the schema files to"
    )
    schemas.set_defaults(run=_run_schemas)

    from processors.rules_cli import add_rules_parser

    add_rules_parser(commands)

    bench = commands.add_parser("bench", help="run a benchmark and print its figures")
    bench.add_argument(
        "name",
        choices=["pipeline", "distributor", "growth", "latency", "domains", "simulate"],
        help="pipeline: captures per second through Kafka against the broker's "
        "raw rate; distributor: routing decisions per second of the core alone; "
        "growth: the distributor benchmark at several backlog sizes; "
        "latency: capture-to-offer latency at rising capture rates; "
        "domains: the same over several routing domains on one and two workers; "
        "simulate: what-if simulation speed over the whole incident log",
    )
    bench.add_argument(
        "--items",
        type=_positive_int,
        default=100_000,
        help="distributor: waiting items",
    )
    bench.add_argument(
        "--sizes",
        type=_sizes,
        default=[10_000, 100_000, 1_000_000],
        help="growth: comma-separated backlog sizes (default: 10000,100000,1000000)",
    )
    bench.add_argument(
        "--domains",
        type=_positive_int,
        default=4,
        help="domains: routing domains to spread captures over (default: 4)",
    )
    bench.add_argument(
        "--worker-counts",
        type=_sizes,
        default=[1, 2],
        help="domains: comma-separated worker counts to compare (default: 1,2)",
    )
    bench.add_argument(
        "--agents", type=_positive_int, default=10_000, help="distributor: agents"
    )
    bench.add_argument(
        "--queues", type=_positive_int, default=200, help="distributor: queues"
    )
    bench.add_argument(
        "--decisions",
        type=_positive_int,
        default=20_000,
        help="distributor: decisions to time",
    )
    bench.add_argument(
        "--captures",
        type=_positive_int,
        default=3000,
        help="pipeline: captures to push through (default: 3000)",
    )
    bench.add_argument("--json", action="store_true", help="print the figures as JSON")
    bench.set_defaults(run=_run_bench)
    return parser


def _settings_or_exit():
    from topics.settings import BrokerSettings

    settings = BrokerSettings.from_env()
    if settings is None:
        sys.exit(
            "KAFKA_BOOTSTRAP_SERVERS is not set: point it at the broker (host:port)"
        )
    return settings


def _run_demo(arguments) -> int:
    from processors.simulation.demo import DemoOptions, run_demo

    options = DemoOptions(
        source=arguments.source,
        path=arguments.path,
        limit=arguments.limit,
        speed=arguments.speed,
        max_minutes=arguments.max_minutes,
        as_json=arguments.json,
        workers=arguments.workers,
        keep=arguments.keep,
    )
    return run_demo(options)


def _run_broker(arguments) -> int:
    import time

    from topics.admin import create_topics
    from topics.broker import EmbeddedBroker

    with EmbeddedBroker() as broker:
        create_topics(broker.settings)
        print(
            f"embedded broker on {broker.settings.bootstrap_servers} with the "
            "catalog's topics; in-memory, so everything is gone when it stops.\n"
            f"  export KAFKA_BOOTSTRAP_SERVERS={broker.settings.bootstrap_servers}\n"
            "  export WORKSTREAM_EMBEDDED_BROKER=1\n"
            "Press Ctrl-C to stop it.",
            flush=True,
        )
        try:
            while True:
                time.sleep(1.0)
        except KeyboardInterrupt:
            return 0


def _run_worker(arguments) -> int:
    from processors.worker import run_worker

    run_worker(
        _settings_or_exit(),
        arguments.rules,
        arguments.data_dir,
        arguments.web_port,
        arguments.name,
        arguments.log_level,
    )
    return 0


def _run_topics(arguments) -> int:
    from topics.admin import check_topics, create_topics
    from topics.catalog import CATALOG

    if arguments.action == "list":
        for spec in CATALOG:
            print(f"{spec.name}\t{spec.partitions}\tkey: {spec.key}\t{spec.value}")
        return 0
    settings = _settings_or_exit()
    if arguments.action == "create":
        created = create_topics(settings)
        print(
            f"created {len(created)} topics: " + ", ".join(sorted(created))
            if created
            else "every topic already exists"
        )
    problems = check_topics(settings)
    for problem in problems:
        print(f"{problem.topic}: {problem.problem}", file=sys.stderr)
    if problems:
        print(
            "run 'workstream topics create' to create missing topics", file=sys.stderr
        )
        return 1
    print(f"all {len(CATALOG)} topics match the catalog")
    return 0


def _run_history(arguments) -> int:
    from projections.history import read_history
    from projections.timeline import print_history

    history = read_history(_settings_or_exit(), arguments.task_id)
    if not history.events:
        return _task_not_found(arguments.task_id)
    print_history(history, as_json=arguments.json)
    return 0


def _run_explain(arguments) -> int:
    from projections.explanation import print_explanation, read_explanation

    try:
        explanation = read_explanation(
            _settings_or_exit(), arguments.worker, arguments.task_id
        )
    except OSError as error:
        print(
            f"cannot reach the worker at {arguments.worker}: {error}; pass --worker "
            "with the address of a running worker",
            file=sys.stderr,
        )
        return 1
    if explanation is None:
        return _task_not_found(arguments.task_id)
    print_explanation(explanation, as_json=arguments.json)
    return 0


def _task_not_found(task_id: str) -> int:
    print(
        f"task {task_id!r} not found in the event log; task ids are "
        "SOURCE_SYSTEM:EXTERNAL_ID, for example servicenow:INC0000045",
        file=sys.stderr,
    )
    return 1


def _run_status(arguments) -> int:
    from projections.live import print_status

    print_status(_settings_or_exit(), as_json=arguments.json, agents=arguments.agents)
    return 0


def _run_schemas(arguments) -> int:
    from schemas.export import export_schemas

    written = export_schemas(arguments.directory)
    print(f"wrote {len(written)} JSON Schema files to {arguments.directory}")
    return 0


def _run_bench(arguments) -> int:
    if arguments.name == "simulate":
        from processors.benchmarks.simulate import run_simulate_bench

        return run_simulate_bench(arguments.json)
    if arguments.name == "latency":
        from processors.benchmarks.latency import run_latency_bench

        return run_latency_bench(arguments.json)
    if arguments.name == "domains":
        from processors.benchmarks.domains import run_domains_bench

        return run_domains_bench(
            arguments.domains, arguments.worker_counts, arguments.json
        )
    if arguments.name in ("distributor", "growth"):
        from processors.benchmarks.distributor import (
            run_distributor_bench,
            run_growth_bench,
        )

        shape = (arguments.agents, arguments.queues, arguments.decisions)
        if arguments.name == "growth":
            return run_growth_bench(arguments.sizes, *shape, arguments.json)
        return run_distributor_bench(arguments.items, *shape, arguments.json)
    from processors.benchmarks.pipeline import run_pipeline_bench

    return run_pipeline_bench(arguments.captures, arguments.json)


if __name__ == "__main__":
    sys.exit(main())
