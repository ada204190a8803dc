"""The whole pipeline on the embedded broker with a real Faust worker.

A slice of the real incident log, plus bad captures a source system might
send, goes through capture, tasks and the distributor to simulated
employees. The checks read the log back from the broker.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import timedelta

import orjson
import pytest

from processors.clock import ScaledClock
from processors.simulation.demo import DemoOptions, DemoRun, load_captures
from processors.simulation.staffing import staffing_for
from processors.sources.capture_traffic import SourceCapture
from processors.sources.servicenow import servicenow_captures
from processors.stack import Stack
from projections.history import fold_history
from schemas.codec import decode
from topics import catalog
from topics.consume import read_topics

pytestmark = pytest.mark.e2e

SLICE = 400
ODD_INCIDENT = "servicenow:INC0028089"
REOPENED_INCIDENT = "servicenow:INC0000137"
SPEED = 4000.0


def _bad_captures(first: SourceCapture) -> list[SourceCapture]:
    """Captures a faulty source system sends, each with its expected reason."""
    at = first.at + timedelta(minutes=30)
    documents = [
        {
            "type": "create",
            "source_system": "servicenow",
            "occurred_at": "1/3/2016 10:00",
        },
        {
            "type": "create",
            "source_system": "servicenow",
            "external_id": "BAD-DATE",
            "occurred_at": "31/31/2016 10:00",
        },
        {
            "type": "update",
            "source_system": "servicenow",
            "external_id": "NEVER-CREATED",
            "occurred_at": "1/3/2016 10:00",
        },
        {
            "type": "archive",
            "source_system": "servicenow",
            "external_id": "BAD-TYPE",
            "occurred_at": "1/3/2016 10:00",
        },
        {
            "type": "create",
            "source_system": "servicenow",
            "external_id": "BAD-PRIORITY",
            "occurred_at": "1/3/2016 10:00",
            "priority": "high",
        },
    ]
    bad = [
        SourceCapture(at, f"servicenow:{d.get('external_id', '')}", orjson.dumps(d))
        for d in documents
    ]
    bad.append(
        SourceCapture(at, "servicenow:BROKEN", b'{"type": "create", "external_id": ')
    )
    wrong_key = {
        "type": "create",
        "source_system": "servicenow",
        "external_id": "KEYED",
        "occurred_at": "1/3/2016 10:00",
    }
    bad.append(SourceCapture(at, "servicenow:OTHER", orjson.dumps(wrong_key)))
    return bad


EXPECTED_REASONS = {
    "unknown_status": 2,
    "missing_external_id": 1,
    "invalid_date": 1,
    "unknown_item": 1,
    "unknown_type": 1,
    "invalid_type": 1,
    "malformed_json": 1,
    "wrong_key": 1,
}


def _unknown_state_incident(first: SourceCapture) -> list[SourceCapture]:
    """The one incident of the log with the unknown state -100, moved into
    the slice's time window; the payloads stay as the source sent them."""
    rows = [c for c in servicenow_captures() if c.key == ODD_INCIDENT]
    return [
        replace(row, at=first.at + timedelta(hours=2, minutes=number))
        for number, row in enumerate(rows)
    ]


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory):
    real = load_captures("servicenow", None, SLICE)
    real = sorted([*real, *_unknown_state_incident(real[0])], key=lambda c: c.at)
    duplicate = real[0]
    captures = sorted([*real, *_bad_captures(real[0]), duplicate], key=lambda c: c.at)
    clock = ScaledClock(real[0].at - timedelta(minutes=1), time.time() + 15.0, SPEED)
    stack = Stack(workers=1, clock=clock, run_dir=tmp_path_factory.mktemp("stack"))
    with stack:
        options = DemoOptions(
            limit=len(captures), speed=SPEED, max_minutes=5.0, as_json=True
        )
        run = DemoRun(options, stack.settings, clock, captures, staffing_for(real))
        report = run.execute()
        log = [
            decode(m.value())
            for m in read_topics(stack.settings, [catalog.TASK_EVENTS])
        ]
        rejections = [
            decode(m.value())
            for m in read_topics(stack.settings, [catalog.CAPTURE_REJECTED])
        ]
        dead = list(read_topics(stack.settings, [catalog.DEAD_LETTER]))
        states = {}
        by_task = defaultdict(list)
        for event in log:
            by_task[event.subject_id].append(event)
        for task_id in list(by_task)[:40]:
            states[task_id] = stack.task_state(task_id)
        cli = {
            "history": _cli(stack, "history", REOPENED_INCIDENT, "--json"),
            "status": _cli(stack, "status", "--json"),
            "reopened_state": stack.task_state(REOPENED_INCIDENT),
        }
        metrics_url = f"http://127.0.0.1:{stack.workers[0][1]}/metrics"
        with urllib.request.urlopen(metrics_url, timeout=10) as response:
            metrics = (response.headers["Content-Type"], response.read().decode())
        yield {
            "real": real,
            "report": report,
            "log": log,
            "by_task": by_task,
            "rejections": rejections,
            "dead": dead,
            "states": states,
            "cli": cli,
            "metrics": metrics,
        }


def _cli(stack: Stack, *arguments: str) -> dict:
    """Run a workstream command against the stack, as an operator would."""
    completed = subprocess.run(
        [sys.executable, "-m", "processors.cli", *arguments],
        env={**os.environ, **stack.settings.environment()},
        capture_output=True,
        timeout=120,
        check=True,
    )
    return orjson.loads(completed.stdout)


def _expected_final_status(real: list[SourceCapture]) -> dict[str, str]:
    status: dict[str, str] = {}
    for capture in real:
        document = capture.document()
        if document.get("status") == "-100":
            continue
        kind = document["type"]
        if kind == "create":
            status.setdefault(capture.key, "open")
        elif kind == "complete":
            status[capture.key] = "completed"
        elif kind == "restart":
            status[capture.key] = "open"
    return status


def test_each_create_one_item(pipeline_run):
    captured = Counter(
        e.subject_id for e in pipeline_run["log"] if e.type == "task.captured"
    )
    expected = {c.key for c in pipeline_run["real"] if c.document()["type"] == "create"}
    assert set(captured) == expected
    assert max(captured.values()) == 1


def test_bad_captures_rejected_by_reason(pipeline_run):
    reasons = Counter(r.data["reason"] for r in pipeline_run["rejections"])
    assert reasons == Counter(EXPECTED_REASONS)


def test_rejections_keep_original_payload(pipeline_run):
    broken = [
        r for r in pipeline_run["rejections"] if r.data["reason"] == "malformed_json"
    ]
    assert broken[0].data["original"] == '{"type": "create", "external_id": '
    assert "not valid JSON" in broken[0].data["message"]


def test_nothing_dead_lettered(pipeline_run):
    assert pipeline_run["dead"] == []


def test_completed_items_match_data(pipeline_run):
    expected = _expected_final_status(pipeline_run["real"])
    folded = {
        task_id: fold_history(task_id, events).state.status
        for task_id, events in pipeline_run["by_task"].items()
    }
    expected_completed = {k for k, v in expected.items() if v == "completed"}
    actual_completed = {k for k, v in folded.items() if v == "completed"}
    assert actual_completed == expected_completed
    assert len(expected_completed) > 10


def test_items_were_distributed(pipeline_run):
    report = pipeline_run["report"]
    assert report["distributed"] > 0.5 * report["captured"]
    assert report["capture_to_offer_ms_p50"] is not None


def test_history_equals_current_state(pipeline_run):
    assert len(pipeline_run["states"]) == 40
    for task_id, current in pipeline_run["states"].items():
        history = fold_history(task_id, pipeline_run["by_task"][task_id])
        rebuilt = history.state.model_dump(mode="json", exclude={"seen_ids"})
        current = {k: v for k, v in current.items() if k != "seen_ids"}
        assert rebuilt == current, task_id


def test_classification_records_rule_version(pipeline_run):
    classified = [e for e in pipeline_run["log"] if e.type == "task.classified"]
    assert classified
    assert {e.rule_set_version for e in classified} == {1}


def test_unknown_state_rows_rejected(pipeline_run):
    rejected = [
        r for r in pipeline_run["rejections"] if r.data["reason"] == "unknown_status"
    ]
    assert {r.data["external_id"] for r in rejected} == {"INC0028089"}
    assert "'-100'" in rejected[0].data["message"]


def test_unknown_state_incident_completed(pipeline_run):
    events = pipeline_run["by_task"][ODD_INCIDENT]
    assert fold_history(ODD_INCIDENT, events).state.status == "completed"
    assert [e.type for e in events].count("task.completed") == 1


def test_reopened_incident_restarted(pipeline_run):
    types = [e.type for e in pipeline_run["by_task"][REOPENED_INCIDENT]]
    assert "task.restarted" in types
    assert types.index("task.restarted") > types.index("task.completed")


def test_history_command_matches_state(pipeline_run):
    history = pipeline_run["cli"]["history"]
    current = pipeline_run["cli"]["reopened_state"]
    assert history["task_id"] == REOPENED_INCIDENT
    assert history["state"]["status"] == current["status"]
    assert history["state"]["events"] == current["events"]
    assert history["events"][0]["type"] == "task.captured"


def test_status_command_counts_items(pipeline_run):
    status = pipeline_run["cli"]["status"]
    report = pipeline_run["report"]
    assert status["captured"] == report["captured"]
    assert status["completed"] == report["completed"]
    assert status["rejected"] == report["rejected"]


def test_metrics_page_served(pipeline_run):
    content_type, text = pipeline_run["metrics"]
    assert content_type.startswith("text/plain")
    assert 'workstream_captures_total{outcome="accepted",reason=""}' in text
    assert 'workstream_agents{domain="default",state="ready"}' in text
