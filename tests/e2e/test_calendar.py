"""Business calendars through Kafka: an item captured late on a Friday gets
a due date in open hours, and the live distributor steps its curve on open
time, skipping the weekend."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import orjson
import pytest
import yaml
from confluent_kafka import Producer

from processors.clock import ScaledClock
from processors.domain.calendar import add_business_seconds
from processors.stack import Stack
from schemas.calendar import Calendar
from tests.e2e.support import explain_item
from topics import catalog

pytestmark = pytest.mark.e2e

# Friday 4 December 2026, 16:30 UTC: half an hour before closing.
FRIDAY = datetime(2026, 12, 4, 16, 30, tzinfo=UTC)
TASK_ID = "crm:O-1"
OFFICE = {
    "name": "office",
    "timezone": "UTC",
    "hours": {
        day: ["09:00-17:00"]
        for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
    },
}
RULES = {
    "version": 1,
    "name": "calendar-e2e",
    "sources": {"crm": {}},
    "calendars": {"office": OFFICE},
    "schemes": {
        "orders": {
            "name": "orders",
            "initial": 100,
            "increment": 10,
            "interval_seconds": 3600,
            "maximum": 900,
            "calendar": "office",
            "adjustment": {"value_attribute": "amount", "factor": 0.001},
        },
    },
    "rules": [
        {
            "name": "orders",
            "when": [{"attribute": "source_system", "op": "equals", "value": "crm"}],
            "department": "Sales",
            "process": "Order",
            "scheme": "orders",
            "sla_hours": 8,
            "calendar": "office",
            "target": {"skills": [{"skill": "orders"}]},
        }
    ],
    "default": {"department": "Other", "process": "General", "scheme": "orders"},
}


def _wait_for_state(stack: Stack, timeout: float = 60.0) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        state = stack.task_state(TASK_ID)
        if state is not None and state.get("status") == "queued":
            return state
        time.sleep(0.3)
    raise AssertionError(f"{TASK_ID} was not queued within {timeout:.0f} s")


@pytest.fixture(scope="module")
def calendar_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("calendar")
    rules_path = run_dir / "rules.yaml"
    rules_path.write_text(yaml.safe_dump(RULES), encoding="utf-8")
    # One simulated minute per real second keeps the item short of its
    # first step while the test reads it back.
    clock = ScaledClock(FRIDAY, time.time() + 10.0, 60.0)
    with Stack(workers=1, clock=clock, run_dir=run_dir, rules_path=rules_path) as stack:
        producer = Producer(stack.settings.producer_config())
        capture = {
            "type": "create",
            "source_system": "crm",
            "external_id": "O-1",
            "occurred_at": FRIDAY.isoformat(),
            "attributes": {"amount": 70_000},
        }
        producer.produce(
            catalog.CAPTURE, key=TASK_ID.encode(), value=orjson.dumps(capture)
        )
        producer.flush(10)
        state = _wait_for_state(stack)
        explained = explain_item(stack, TASK_ID)
        del producer
        yield {"state": state, "explain": explained}


def test_due_date_in_open_hours(calendar_run):
    state = calendar_run["state"]
    captured = datetime.fromisoformat(state["captured_at"])
    expected = add_business_seconds(Calendar(**OFFICE), captured, 8 * 3600)

    assert datetime.fromisoformat(state["due_at"]) == expected
    assert expected.weekday() == 0


def test_adjustment_raises_start(calendar_run):
    state = calendar_run["state"]

    assert state["priority_adjustment"] == 70
    assert state["priority"] == 170


def test_curve_skips_weekend(calendar_run):
    state = calendar_run["state"]
    queued = datetime.fromisoformat(state["queued_at"])
    expected = add_business_seconds(Calendar(**OFFICE), queued, 3600)
    explained = calendar_run["explain"]
    next_change = datetime.fromisoformat(explained["next_priority_change"])

    assert explained["priority"] == 170
    assert explained["calendar"] == "office"
    assert next_change == expected
    assert next_change.weekday() == 0
