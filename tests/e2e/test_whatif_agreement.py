"""The what-if simulation agrees with the live pipeline on the same traffic.

A slice of the incident log runs through the demo path (embedded broker,
real Faust worker, simulated desktops) and through the in-process
simulation under the same rule set, with the same employees.

Classification per item (first and last), item counts and rejections must
match exactly: they do not depend on timing. The other figures may differ
only by what live timing explains. In the live run each capture reaches the
tasks processor some business seconds after its source time (the
pipeline's latency times the clock's speed), and the simulation counts
every hop as zero. The lag is the largest such delay measured in the run.

A lag of a minute or two reorders items that compete for one employee, and
the one served second waits a whole handling time longer. So the test
measures how much each figure moves under such jitter: it replays the
slice JITTERED_REPLAYS times with each capture delayed by a random lag of
up to the measured one. A figure's tolerance is four standard deviations
over those replays, but at least:

- SLA: the number of simulated completions within one lag of their due
  date, the only ones a lag can move to the other side of it;
- waits (capture to first accept): two lags. The capture travels one lag
  to the tasks processor, and the route request and offer travel a path of
  the same length to the desktop.

Desktops draw each response from the task and offer number, and stamp their
commands with the business time the employee acts at, so neither the
draws nor handling times depend on the live timing.
"""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from processors.clock import ScaledClock
from processors.domain.rulesets import default_rules
from processors.simulation.demo import DemoOptions, DemoRun, load_captures
from processors.simulation.staffing import staffing_for
from processors.simulation.whatif import simulate, summarise
from processors.stack import Stack
from schemas.codec import decode
from topics import catalog
from topics.consume import read_topics

pytestmark = pytest.mark.e2e

# About 35 hours of the log, with one employee per skill so that items queue.
SLICE = 800
# 1000x keeps the 600 s offer timeout at 0.6 s of wall time, well above the
# desktops' round trip, so live offers are not let ring by accident.
SPEED = 1000.0
JITTERED_REPLAYS = 30


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    captures = load_captures("servicenow", None, SLICE)
    profiles = staffing_for(captures, per_skill=1, reception=1)
    clock = ScaledClock(
        captures[0].at - timedelta(minutes=1), time.time() + 15.0, SPEED
    )
    stack = Stack(workers=1, clock=clock, run_dir=tmp_path_factory.mktemp("stack"))
    with stack:
        options = DemoOptions(
            limit=len(captures), speed=SPEED, max_minutes=8.0, as_json=True
        )
        live_report = DemoRun(
            options, stack.settings, clock, captures, profiles
        ).execute()
        log = [
            decode(m.value())
            for m in read_topics(stack.settings, [catalog.TASK_EVENTS])
        ]
    simulated = simulate(default_rules(), captures, profiles)
    return {
        "captures": captures,
        "live_report": live_report,
        "log": log,
        "simulated": simulated,
        "summary": summarise(simulated),
    }


@pytest.fixture(scope="module")
def jittered(runs) -> list[dict]:
    """Replay the slice again with each capture delayed by a random lag of up
    to the one measured live, keeping each item's captures in order, as the
    live pipeline delays them."""
    lag = _max_lag_seconds(runs)
    rng = random.Random(17)
    profiles = staffing_for(runs["captures"], per_skill=1, reception=1)
    reports = []
    for _ in range(JITTERED_REPLAYS):
        last: dict[str, datetime] = {}
        delayed = []
        for capture in runs["captures"]:
            at = capture.at + timedelta(seconds=rng.uniform(0, lag))
            at = max(at, last.get(capture.key, at))
            last[capture.key] = at
            delayed.append(replace(capture, at=at))
        delayed.sort(key=lambda capture: capture.at)
        reports.append(summarise(simulate(default_rules(), delayed, profiles)))
    return reports


def _jitter_tolerance(reports: list[dict], key: str) -> float:
    """Return four standard deviations of a figure over the jittered replays."""
    return 4 * statistics.pstdev(report[key] for report in reports)


def _first_classifications(log) -> dict[str, tuple[str, str, str, str]]:
    first: dict[str, tuple[str, str, str, str]] = {}
    for event in log:
        if event.type == "task.classified" and event.subject_id not in first:
            data = event.data
            first[event.subject_id] = (
                data["department"],
                data["process"],
                data["rule"],
                data["scheme"]["name"],
            )
    return first


def _max_lag_seconds(runs) -> float:
    """Return the largest delay, in business seconds, between a capture's
    source time and the time the live pipeline recorded its task event."""
    source_at = {c.document()["capture_id"]: c.at for c in runs["captures"]}
    lags = [
        (event.time - source_at[event.data["capture_id"]]).total_seconds()
        for event in runs["log"]
        if event.data.get("capture_id") in source_at
    ]
    assert lags, "no task event carries a capture id"
    return max(lags)


def _near_due(runs, lag: float) -> int:
    """Count simulated completions within `lag` of their due date: the only
    ones whose in-SLA outcome live timing can change."""
    window = timedelta(seconds=lag)
    return sum(
        1
        for record in runs["simulated"].items.values()
        if record.state.status == "completed"
        and record.state.due_at is not None
        and abs(record.state.completed_at - record.state.due_at) <= window
    )


def test_same_classification_per_item(runs):
    live = _first_classifications(runs["log"])
    simulated = {
        task_id: record.first_classification
        for task_id, record in runs["simulated"].items.items()
    }

    assert set(live) == set(simulated)
    differing = {t: (live[t], simulated[t]) for t in live if live[t] != simulated[t]}
    assert differing == {}


def test_same_final_rule_per_item(runs):
    live: dict[str, str] = {}
    for event in runs["log"]:
        if event.type == "task.classified":
            live[event.subject_id] = event.data["rule"]
    simulated = {t: r.state.rule for t, r in runs["simulated"].items.items()}

    differing = {
        task_id: (live.get(task_id), rule)
        for task_id, rule in simulated.items()
        if live.get(task_id) != rule
    }

    assert differing == {}


def test_same_item_counts(runs):
    live, simulated = runs["live_report"], runs["summary"]

    assert live["captured"] == simulated["items"]
    assert live["completed"] == simulated["completed"]
    assert live["cancelled"] == simulated["cancelled"]
    assert live["rejected"] == simulated["rejected"]


@pytest.mark.parametrize("key", ["distributed", "rona"])
def test_distribution_within_jitter(runs, jittered, key):
    tolerance = _jitter_tolerance(jittered, key)

    assert abs(runs["live_report"][key] - runs["summary"][key]) <= tolerance


def test_sla_attainment_within_lag(runs, jittered):
    lag = _max_lag_seconds(runs)
    simulated = runs["summary"]
    live = runs["live_report"]
    live_in_sla = round(live["sla_attainment"] * simulated["completed_with_due_date"])
    tolerance = max(_near_due(runs, lag), _jitter_tolerance(jittered, "completed_in_sla"))

    assert abs(live_in_sla - simulated["completed_in_sla"]) <= tolerance


@pytest.mark.parametrize("key", ["wait_seconds_p50", "wait_seconds_p95"])
def test_waits_within_jitter(runs, jittered, key):
    lag = _max_lag_seconds(runs)
    tolerance = max(2 * lag, _jitter_tolerance(jittered, key))

    assert abs(runs["live_report"][key] - runs["summary"][key]) <= tolerance
