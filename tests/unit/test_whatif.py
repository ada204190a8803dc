"""The what-if simulation: its event loop, its figures and its command."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
import yaml

from processors.cli import main
from processors.domain.rulesets import default_rules
from processors.simulation.desks import RONA_PAUSE
from processors.simulation.simulate_command import load_log
from processors.simulation.staffing import AgentProfile, staffing_for
from processors.simulation.whatif import HORIZON, simulate, summarise
from processors.sources.capture_traffic import SourceCapture, load_rows

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SLICE = 2000


@pytest.fixture(scope="module")
def incident_slice() -> list[SourceCapture]:
    return load_log("servicenow", SLICE)


def _profile(agent_id: str, rona_probability: float = 0.0) -> AgentProfile:
    return AgentProfile(
        agent_id=agent_id,
        name=agent_id,
        skills={"Finance": 9},
        capacity_workitem=1,
        handling_seconds=(1800.0,),
        rona_probability=rona_probability,
    )


def _crm(number: int, at: datetime, kind: str = "create") -> SourceCapture:
    document = {
        "type": kind,
        "source_system": "crm",
        "external_id": f"CASE-{number}",
        "occurred_at": at.strftime("%Y-%m-%d %H:%M:%S"),
        "attributes": {"Department": "Finance", "CustomerSegment": "Gold"},
    }
    if kind != "create":
        document["attributes"] = {}
        document["capture_id"] = f"CASE-{number}/{kind}"
    return SourceCapture.build(at, document)


def test_free_employee_accepts_at_once() -> None:
    result = simulate(default_rules(), [_crm(1, START)], [_profile("agent-1")])
    record = result.items["crm:CASE-1"]

    assert record.first_accepted_at == START
    assert record.state.status == "assigned"
    assert record.first_classification == (
        "Finance",
        "Customer Request",
        "crm-finance-gold",
        "finance-gold",
    )


def test_second_item_waits_for_handling() -> None:
    captures = [_crm(1, START), _crm(2, START + timedelta(minutes=5))]

    result = simulate(default_rules(), captures, [_profile("agent-1")])

    second = result.items["crm:CASE-2"]
    assert second.first_accepted_at == START + timedelta(seconds=1800)
    assert summarise(result)["wait_seconds_p95"] == 1500.0


def test_rona_then_ready_after_pause() -> None:
    profiles = [_profile("agent-1", rona_probability=1.0)]

    result = simulate(default_rules(), [_crm(1, START)], profiles)

    # Each offer rings for the timeout. The employee is ready again after the
    # pause but gets the item back only when its rejection window (one more
    # timeout) is over. This repeats until the horizon after the last capture.
    timeout = timedelta(seconds=default_rules().offer_timeout_seconds)
    cycle = timeout + max(RONA_PAUSE, timeout)
    assert result.items["crm:CASE-1"].first_accepted_at is None
    assert result.items["crm:CASE-1"].state.status == "offered"
    assert result.rona == HORIZON // cycle
    # The last offer is still ringing at the horizon.
    assert result.offers_let_ring == result.rona + 1


def test_unknown_item_and_bad_key_rejected() -> None:
    complete = _crm(7, START, kind="complete")
    wrong_key = SourceCapture(START, "crm:OTHER", _crm(8, START).payload)

    result = simulate(default_rules(), [complete, wrong_key], [_profile("agent-1")])

    assert dict(result.rejected) == {"unknown_item": 1, "wrong_key": 1}
    assert result.items == {}


def test_same_rules_same_figures(incident_slice) -> None:
    profiles = staffing_for(incident_slice)

    first = summarise(simulate(default_rules(), incident_slice, profiles))
    second = summarise(simulate(default_rules(), incident_slice, profiles))

    assert first == second
    assert first["items"] > 100
    assert first["completed"] > 0


def test_longer_sla_raises_attainment(incident_slice) -> None:
    profiles = staffing_for(incident_slice)
    document = default_rules().model_dump(mode="json")
    for rule in document["rules"]:
        if rule["name"] == "incident-moderate":
            rule["sla_hours"] = 240
    longer = type(default_rules()).model_validate(document)

    before = summarise(simulate(default_rules(), incident_slice, profiles))
    after = summarise(simulate(longer, incident_slice, profiles))

    moderate_before = before["by_rule"]["incident-moderate"]
    moderate_after = after["by_rule"]["incident-moderate"]
    assert moderate_after["completed_in_sla"] > moderate_before["completed_in_sla"]
    assert moderate_after["items"] == moderate_before["items"]
    assert after["by_rule"]["incident-high"] == before["by_rule"]["incident-high"]


def test_simulate_command_json(tmp_path, capsys) -> None:
    document = default_rules().model_dump(mode="json")
    document["version"] = 2
    path = tmp_path / "new.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")

    code = main(
        ["rules", "simulate", "--rules", str(path), "--log", "servicenow"]
        + ["--limit", "200", "--json"]
    )
    output = orjson.loads(capsys.readouterr().out)

    assert code == 0
    assert output["captures"] == 200
    assert output["new"]["rule_set"]["version"] == 2
    assert output["current"]["by_rule"] == output["new"]["by_rule"]


def test_simulate_command_table(tmp_path, capsys) -> None:
    code = main(
        ["rules", "simulate", "--rules", str(_shipped()), "--log", "boston"]
        + ["--limit", "300"]
    )
    output = capsys.readouterr().out

    assert code == 0
    assert "SLA attainment" in output
    assert "by rule (segment)" in output
    assert "city-other" in output


def test_simulate_command_bad_log(capsys) -> None:
    code = main(["rules", "simulate", "--rules", str(_shipped()), "--log", "nowhere"])

    assert code == 1
    assert "neither a data set" in capsys.readouterr().err


def test_simulate_command_needs_rules(capsys) -> None:
    code = main(["rules", "simulate", "--log", "servicenow"])

    assert code == 2
    assert "--rules" in capsys.readouterr().err


def test_log_file_format_detected(tmp_path) -> None:
    rows = load_rows(None, "boston-311-cases.csv")[:10]
    path = tmp_path / "cases.csv"
    header = list(rows[0])
    lines = [",".join(header)]
    lines += [",".join(f'"{row[name]}"' for name in header) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    captures = load_log(str(path), None)

    assert len(captures) == 20
    assert {c.source_system for c in captures} == {"boston311"}
    assert {c.key for c in captures} == {
        f"boston311:{row['CASE_ENQUIRY_ID']}" for row in rows
    }


def _shipped():
    from importlib import resources

    return resources.files("processors") / "rulesets" / "default.yaml"
