"""The demo: real source traffic through the whole pipeline to simulated employees.

One loop in the main thread sends each capture when the scaled clock reaches
its business time, drives the simulated desktops, folds the log into the live
summary and prints a progress line every second.
"""

from __future__ import annotations

import logging
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import orjson
from confluent_kafka import Producer

from processors.clock import ScaledClock
from processors.domain.rulesets import default_rules
from processors.simulation.desks import Desks
from processors.simulation.staffing import AgentProfile, staffing_for
from processors.sources.capture_traffic import SourceCapture
from processors.stack import Stack
from projections.summary import Summary
from schemas.codec import decode
from topics import catalog
from topics.consume import consumer_at_end
from topics.settings import BrokerSettings

__all__ = ["DemoOptions", "DemoRun", "load_captures", "run_demo"]

log = logging.getLogger(__name__)

WARMUP_SECONDS = 15.0
QUIET_SECONDS = 3.0
# Below this, offers expire within the pipeline's own round trip.
MIN_OFFER_WALL_SECONDS = 0.2
WATCHED = [
    catalog.DISTRIBUTION,
    catalog.TASK_EVENTS,
    catalog.CAPTURE_REJECTED,
    catalog.AGENT_EVENTS,
    catalog.ASSIGNMENTS,
]


@dataclass(frozen=True)
class DemoOptions:
    source: str = "servicenow"
    path: Path | None = None
    limit: int = 2000
    speed: float = 2000.0
    max_minutes: float = 15.0
    as_json: bool = False
    workers: int = 1
    keep: bool = False


class DataFormatError(ValueError):
    """A data file that is not in the format of the chosen source."""


def load_captures(source: str, path: Path | None, limit: int) -> list[SourceCapture]:
    """Return the first `limit` captures of a data set, in time order."""
    try:
        if source == "servicenow":
            from processors.sources.servicenow import servicenow_captures

            captures = servicenow_captures(path)
        else:
            from processors.sources.boston import boston_captures

            captures = boston_captures(path)
    except KeyError as error:
        raise DataFormatError(
            f"{path or 'the data file'} has no column {error.args[0]!r}, so it is "
            f"not in the {source} export format; pass a file of that format with "
            "--path, or choose the matching --source"
        ) from error
    return captures[:limit]


def run_demo(options: DemoOptions) -> int:
    captures = load_captures(options.source, options.path, options.limit)
    if not captures:
        print("no captures to import: check --path and --limit", file=sys.stderr)
        return 1
    profiles = staffing_for(captures)
    clock = ScaledClock(
        origin=captures[0].at - timedelta(minutes=1),
        wall_origin=time.time() + WARMUP_SECONDS,
        speed=options.speed,
    )
    _say(
        options,
        f"importing {len(captures)} {options.source} captures at {options.speed:g}x with {len(profiles)} simulated employees",
    )
    _warn_short_offer_timeout(options)
    stack = Stack(workers=options.workers, clock=clock)
    signal.signal(signal.SIGTERM, _interrupt)
    report = None
    try:
        settings = stack.start()
        _say(
            options,
            f"broker {settings.bootstrap_servers}, {options.workers} worker(s), "
            f"state in {stack.run_dir}",
        )
        run = DemoRun(options, settings, clock, captures, profiles)
        report = run.execute()
        _print_report(report, options)
        if options.keep:
            _serve(settings, captures[0].key, f"http://127.0.0.1:{stack.workers[0][1]}")
    except Exception:
        stack.failed = True
        raise
    except KeyboardInterrupt:
        if report is None:
            print("\ninterrupted: stopping the workers and the broker", file=sys.stderr)
            return 130
    finally:
        stack.stop()
    return 0


def _serve(settings: BrokerSettings, example_task: str, worker_url: str) -> None:
    """Keep the broker and workers up for other commands until Ctrl-C."""
    print(
        "\nThe broker and the worker keep running; in another shell try:\n"
        f"  export KAFKA_BOOTSTRAP_SERVERS={settings.bootstrap_servers}\n"
        f"  ./run history {example_task}\n"
        f"  ./run explain {example_task} --worker {worker_url}\n"
        "  ./run status\n"
        "Press Ctrl-C to stop them.",
        file=sys.stderr,
    )
    while True:
        time.sleep(1.0)


class DemoRun:
    """One replay of captures against a running stack, with simulated desktops."""

    def __init__(
        self,
        options: DemoOptions,
        settings: BrokerSettings,
        clock: ScaledClock,
        captures: list[SourceCapture],
        profiles: list[AgentProfile],
    ) -> None:
        self.options = options
        self.clock = clock
        self.captures = captures
        self.summary = Summary()
        self.producer = Producer(settings.producer_config())
        self.consumer = consumer_at_end(settings, WATCHED, "workstream-demo")
        self.desks = Desks(profiles, clock, self._send_agent_command)
        self.sent = 0
        self.last_event_wall = time.time()
        self.last_progress_line = 0.0

    def execute(self) -> dict:
        self.desks.log_in_all()
        self._wait_for_agents()
        started = time.time()
        deadline = started + self.options.max_minutes * 60
        next_progress = started
        while time.time() < deadline:
            now = time.time()
            self._send_due_captures(now)
            self.desks.run_due(now)
            self._consume()
            if now >= next_progress:
                self._progress()
                next_progress = now + 1.0
            if self._finished(now):
                break
        else:
            print(
                f"\nstopped after --max-minutes {self.options.max_minutes:g}",
                file=sys.stderr,
            )
        self.producer.flush(10)
        self.producer = None
        self.consumer.close()
        if not self.options.as_json:
            sys.stderr.write("\n")
        report = self.summary.report()
        report.update(
            source=self.options.source,
            captures_sent=self.sent,
            speed=self.options.speed,
            wall_seconds=round(time.time() - started, 1),
            offers_let_ring=self.desks.offers_ignored,
        )
        return report

    def _wait_for_agents(self, timeout: float = 120.0) -> None:
        deadline = time.time() + timeout
        expected = len(self.desks.profiles)
        while time.time() < deadline:
            self._consume()
            ready = sum(
                1 for agent in self.summary.agents.values() if agent["state"] == "ready"
            )
            if ready >= expected:
                return
        raise RuntimeError(
            f"only {ready} of {expected} simulated employees got ready within {timeout:.0f} s"
        )

    def _send_due_captures(self, now: float) -> None:
        while self.sent < len(self.captures):
            capture = self.captures[self.sent]
            if self.clock.wall_time_of(capture.at) > now:
                return
            self.producer.produce(
                catalog.CAPTURE, key=capture.key.encode(), value=capture.payload
            )
            self.summary.note_capture_sent(capture.key, time.time())
            self.sent += 1
        self.producer.poll(0)

    def _send_agent_command(self, agent_id: str, value: bytes) -> None:
        # Desktops key agent commands by routing domain: see the topic catalog.
        self.producer.produce(catalog.AGENT_COMMANDS, key=b"default", value=value)
        self.producer.poll(0)

    def _consume(self) -> None:
        for message in self.consumer.consume(num_messages=500, timeout=0.02):
            if message.error():
                log.warning("consume error: %s", message.error())
                continue
            envelope = decode(message.value())
            wall_now = time.time()
            self.last_event_wall = wall_now
            if message.topic() == catalog.ASSIGNMENTS:
                if envelope.type == "assignment.offer":
                    self.summary.note_offer_seen(
                        envelope.data["task_id"],
                        message.timestamp()[1] / 1000,
                        envelope.causation_id,
                    )
                self.desks.on_assignment(envelope)
                continue
            self.summary.apply(envelope)
            if message.topic() == catalog.AGENT_EVENTS:
                self.desks.on_agent_event(envelope)

    def _finished(self, now: float) -> bool:
        if self.sent < len(self.captures):
            return False
        # Items still in employees' hands stay open: the run covers a window.
        waiting = self.summary.count("queued", "offered")
        return not waiting and now - self.last_event_wall > QUIET_SECONDS

    def _progress(self) -> None:
        if self.options.as_json:
            return
        if not sys.stderr.isatty() and time.time() - self.last_progress_line < 10:
            return
        self.last_progress_line = time.time()
        summary = self.summary
        business = self.clock.now().strftime("%Y-%m-%d %H:%M")
        line = (
            f"{business} rows {self.sent}/{len(self.captures)} "
            f"items {summary.captured}: queued {summary.count('queued')} "
            f"offered {summary.count('offered')} in hand {summary.count('assigned')} "
            f"done {summary.count('done')} completed {summary.count('completed')} "
            f"| rejected {sum(summary.rejected.values())} RONA {summary.rona}"
        )
        if sys.stderr.isatty():
            width = shutil.get_terminal_size().columns - 1
            line = "\r" + line[:width].ljust(width)
        else:
            line += "\n"
        sys.stderr.write(line)
        sys.stderr.flush()


def _say(options: DemoOptions, text: str) -> None:
    print(text, file=sys.stderr)


def _print_report(report: dict, options: DemoOptions) -> None:
    if options.as_json:
        sys.stdout.write(
            orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n"
        )
        return
    rejected = (
        ", ".join(f"{reason} {count}" for reason, count in report["rejected"].items())
        or "none"
    )
    sla = (
        "n/a" if report["sla_attainment"] is None else f"{report['sla_attainment']:.1%}"
    )
    lines = [
        f"captured       {report['captured']}",
        f"rejected       {report['rejected_total']} ({rejected})",
        f"distributed    {report['distributed']}",
        f"completed      {report['completed']} (cancelled {report['cancelled']}, still open {report['open']})",
        f"SLA attainment {sla} of completed items with a due date",
        f"wait           p50 {_seconds(report['wait_seconds_p50'])}, p95 {_seconds(report['wait_seconds_p95'])} (business time, queued to accepted)",
        f"capture→offer  p50 {_milliseconds(report['capture_to_offer_ms_p50'])}, "
        f"p99 {_milliseconds(report['capture_to_offer_ms_p99'])} (wall clock; "
        f"{report['offered_on_arrival']} items offered on arrival)",
        f"RONA           {report['rona']} offers timed out",
        f"run            {report['captures_sent']} source rows (creates and "
        f"updates) in {report['wall_seconds']} s at {report['speed']:g}x",
    ]
    print("\n".join(lines))


def _seconds(value: float | None) -> str:
    if value is None:
        return "n/a"
    return str(timedelta(seconds=round(value)))


def _interrupt(signum, frame) -> None:
    """Turn SIGTERM into the same clean stop as Ctrl-C."""
    raise KeyboardInterrupt


def _warn_short_offer_timeout(options: DemoOptions) -> None:
    """Warn when the speed leaves desktops too little wall time to accept."""
    timeout = default_rules().offer_timeout_seconds / options.speed
    if timeout < MIN_OFFER_WALL_SECONDS:
        print(
            f"warning: at --speed {options.speed:g} the {default_rules().offer_timeout_seconds:g} s "
            f"offer timeout lasts {timeout * 1000:.0f} ms of wall time, so some "
            "offers time out (RONA) before a desktop can accept them; lower --speed "
            f"to {default_rules().offer_timeout_seconds / MIN_OFFER_WALL_SECONDS:g} or less to avoid it",
            file=sys.stderr,
        )


def _milliseconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g} ms"
