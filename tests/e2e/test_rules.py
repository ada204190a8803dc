"""Rule set versions at run time, on the embedded broker with a real worker.

A new version applied with `workstream rules apply` reaches the running
worker without a restart: items captured before it keep their
classification, items captured after it get the new one. The rules API is
checked for its authentication and error bodies, and the rules page is
loaded in headless Chromium.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
import yaml
from confluent_kafka import Producer

from processors.stack import Stack
from schemas.codec import decode
from topics import catalog
from topics.consume import read_topics

pytestmark = pytest.mark.e2e

APPLY_TOKEN = "operator-token-3f9a1c77d2"
READ_TOKEN = "dashboard-token-8b21e5f0aa"
TOKENS = f"operator:apply:{APPLY_TOKEN},dashboard:read:{READ_TOKEN}"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BEFORE = [f"servicenow:RULES-BEFORE-{n}" for n in range(3)]
AFTER = [f"servicenow:RULES-AFTER-{n}" for n in range(3)]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    saved = os.environ.get("WORKSTREAM_API_TOKENS")
    os.environ["WORKSTREAM_API_TOKENS"] = TOKENS
    try:
        stack = Stack(workers=2, run_dir=tmp_path_factory.mktemp("rules-stack"))
        stack.start()
    finally:
        if saved is None:
            os.environ.pop("WORKSTREAM_API_TOKENS", None)
        else:
            os.environ["WORKSTREAM_API_TOKENS"] = saved
    try:
        yield stack
    finally:
        stack.stop()


def _url(stack: Stack, path: str) -> str:
    return f"http://127.0.0.1:{stack.workers[0][1]}{path}"


def _http(
    stack: Stack,
    path: str,
    token: str | None = None,
    body: bytes | None = None,
    header: str | None = None,
) -> tuple[int, dict, dict]:
    """Call the worker's API; return status, JSON body and headers."""
    request = urllib.request.Request(_url(stack, path), data=body)
    if header is not None:
        request.add_header("Authorization", header)
    elif token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return (
                response.status,
                orjson.loads(response.read()),
                dict(response.headers),
            )
    except urllib.error.HTTPError as error:
        return error.code, orjson.loads(error.read()), dict(error.headers)


def _cli(stack: Stack, *arguments: str, check: bool = True):
    return subprocess.run(
        [sys.executable, "-m", "processors.cli", "rules", *arguments],
        env={**os.environ, **stack.settings.environment()},
        capture_output=True,
        text=True,
        timeout=120,
        check=check,
    )


def _capture(task_id: str, kind: str, priority: str, number: int) -> bytes:
    external_id = task_id.split(":", 1)[1]
    document = {
        "type": kind,
        "source_system": "servicenow",
        "external_id": external_id,
        "capture_id": f"{external_id}/{number}",
        "occurred_at": datetime.now(UTC).isoformat(),
        "status": "New",
        "attributes": {"priority": priority, "assignment_group": "Group 7"},
    }
    return orjson.dumps(document)


def _send(stack: Stack, captures: list[tuple[str, bytes]]) -> None:
    producer = Producer(stack.settings.producer_config())
    for key, value in captures:
        producer.produce(catalog.CAPTURE, key=key.encode(), value=value)
    assert producer.flush(30) == 0


def _events_when(stack: Stack, ready, timeout: float = 90.0) -> list:
    """Poll the task event log until `ready(events)` holds; return the events."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = [
            decode(m.value())
            for m in read_topics(stack.settings, [catalog.TASK_EVENTS], timeout=2.0)
        ]
        if ready(events):
            return events
        time.sleep(0.3)
    raise AssertionError(f"task events not complete within {timeout:.0f} s")


def _queued(events, task_ids, count: int = 1) -> bool:
    return all(
        sum(1 for e in events if e.subject_id == task and e.type == "task.queued")
        >= count
        for task in task_ids
    )


def _health_version(stack: Stack, worker: int = 0) -> int | None:
    port = stack.workers[worker][1]
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/") as response:
            return orjson.loads(response.read()).get("rule_set_version")
    except urllib.error.HTTPError:
        return None


def _versions(stack: Stack) -> list[int | None]:
    return [_health_version(stack, worker) for worker in range(len(stack.workers))]


def _next_rules(stack: Stack, tmp_path: Path) -> tuple[Path, int]:
    """Write the active rule set, changed for incidents, as the next version."""
    shown = _cli(stack, "show")
    document = orjson.loads(shown.stdout)
    document["version"] += 1
    for rule in document["rules"]:
        if rule["name"] == "incident-critical":
            rule.update(
                department="Major Incidents",
                process="Major Incident",
                scheme="incident-high",
                sla_hours=2,
            )
        if rule["name"] == "incident-high":
            rule["department"] = "IT Service Desk"
    path = tmp_path / f"rules-v{document['version']}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path, document["version"]


@pytest.fixture(scope="module")
def reload_run(stack, tmp_path_factory):
    old_version = _health_version(stack)
    pids = [process.pid for process, _ in stack.workers]
    _send(
        stack, [(task, _capture(task, "create", "1 - Critical", 0)) for task in BEFORE]
    )
    _events_when(stack, lambda events: _queued(events, BEFORE))

    path, new_version = _next_rules(stack, tmp_path_factory.mktemp("rules"))
    applied = _cli(stack, "apply", str(path), "--comment", "major incidents team")
    deadline = time.monotonic() + 30
    while set(_versions(stack)) != {new_version} and time.monotonic() < deadline:
        time.sleep(0.2)

    # An item captured before the change moves to priority 2 after it.
    update = _capture(BEFORE[0], "update", "2 - High", 1)
    creates = [(task, _capture(task, "create", "1 - Critical", 0)) for task in AFTER]
    _send(stack, [(BEFORE[0], update), *creates])
    events = _events_when(
        stack,
        lambda events: _queued(events, AFTER) and _queued(events, BEFORE[:1], 2),
    )
    yield {
        "old_version": old_version,
        "new_version": new_version,
        "reloaded_versions": _versions(stack),
        "same_processes": [process.pid for process, _ in stack.workers] == pids,
        "running": [process.poll() is None for process, _ in stack.workers],
        "applied": applied.stdout,
        "events": events,
        "history": orjson.loads(_cli(stack, "history", "--json").stdout),
        "diff": _cli(stack, "diff").stdout,
    }


def _of(run, task_id: str, event_type: str) -> list:
    return [
        e for e in run["events"] if e.subject_id == task_id and e.type == event_type
    ]


def test_worker_reloads_without_restart(reload_run):
    assert reload_run["new_version"] == reload_run["old_version"] + 1
    # Every worker reads every version, not only the one holding the partition.
    assert reload_run["reloaded_versions"] == [reload_run["new_version"]] * 2
    assert reload_run["same_processes"]
    assert reload_run["running"] == [True, True]
    assert f"version {reload_run['new_version']}" in reload_run["applied"]


def test_items_before_keep_classification(reload_run):
    for task in BEFORE:
        classified = _of(reload_run, task, "task.classified")[0]
        assert classified.data["department"] == "IT Operations", task
        assert classified.data["process"] == "Incident", task
        assert classified.data["scheme"]["name"] == "incident-critical", task
        assert classified.rule_set_version == reload_run["old_version"], task


def test_items_after_get_new_classification(reload_run):
    for task in AFTER:
        classified = _of(reload_run, task, "task.classified")[0]
        assert classified.data["department"] == "Major Incidents", task
        assert classified.data["process"] == "Major Incident", task
        assert classified.data["scheme"]["name"] == "incident-high", task
        assert classified.rule_set_version == reload_run["new_version"], task


def test_priority_events_record_version_used(reload_run):
    for tasks, version in (
        (BEFORE, reload_run["old_version"]),
        (AFTER, reload_run["new_version"]),
    ):
        for task in tasks:
            prioritised = _of(reload_run, task, "task.prioritised")[0]
            queued = _of(reload_run, task, "task.queued")[0]
            assert prioritised.rule_set_version == version, task
            assert queued.rule_set_version == version, task
    first_after = _of(reload_run, AFTER[0], "task.prioritised")[0]
    assert first_after.data["scheme"] == "incident-high"


def test_old_item_update_keeps_its_version(reload_run):
    classified = _of(reload_run, BEFORE[0], "task.classified")
    assert len(classified) == 2
    assert classified[1].data["scheme"]["name"] == "incident-high"
    # Version 1's department for priority 2, not the new version's.
    assert classified[1].data["department"] == "IT Operations"
    assert classified[1].rule_set_version == reload_run["old_version"]


def test_history_lists_versions(reload_run):
    history = reload_run["history"]
    versions = [entry["version"] for entry in history]
    assert versions[-1] == reload_run["new_version"]
    assert versions == sorted(versions)
    # Whichever worker found the topic empty first published the seed.
    seed_author = history[0]["applied_by"]
    assert re.match(r"worker-[12] \(from the shipped rule set\)", seed_author)
    assert history[-1]["comment"] == "major incidents team"
    assert history[-1]["active"] is True


def test_diff_names_rule_and_field(reload_run):
    diff = reload_run["diff"]
    assert (
        "rule 'incident-critical' department: 'IT Operations' -> 'Major Incidents'"
        in diff
    )
    assert "rule 'incident-critical' sla_hours: 4.0 -> 2.0" in diff
    assert (
        "rule 'incident-high' department: 'IT Operations' -> 'IT Service Desk'" in diff
    )


def test_show_past_version(stack, reload_run):
    shown = _cli(stack, "show", "--version", str(reload_run["old_version"]))
    rules = {rule["name"]: rule for rule in orjson.loads(shown.stdout)["rules"]}
    assert rules["incident-critical"]["department"] == "IT Operations"


def test_apply_old_version_rejected(stack, reload_run, tmp_path):
    path = tmp_path / "old.json"
    shown = _cli(stack, "show", "--version", str(reload_run["old_version"]))
    path.write_text(shown.stdout)
    result = _cli(stack, "apply", str(path), check=False)
    assert result.returncode == 1
    assert f"version {reload_run['old_version']} is not new" in result.stderr


def test_validate_lists_problems(stack, tmp_path):
    document = yaml.safe_load(Path("processors/rulesets/default.yaml").read_text())
    next(r for r in document["rules"] if r["name"] == "incident-high")["sla_hours"] = -8
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(document))
    result = _cli(stack, "validate", str(path), check=False)
    assert result.returncode == 1
    assert "rule 'incident-high', field sla_hours" in result.stderr


# The rules API.


def test_api_without_token_401(stack):
    status, body, headers = _http(stack, "/api/rules")
    assert status == 401
    assert "missing bearer token" in body["error"]
    assert headers.get("WWW-Authenticate") == "Bearer"


def test_api_bad_token_401(stack):
    status, body, _ = _http(stack, "/api/rules", token="not-a-configured-token")
    assert status == 401
    assert body["error"] == "invalid bearer token"


def test_api_wrong_scheme_401(stack):
    status, body, _ = _http(stack, "/api/rules", header=f"Basic {READ_TOKEN}")
    assert status == 401
    assert "Bearer TOKEN" in body["error"]


def test_api_read_token_reads(stack):
    status, body, _ = _http(stack, "/api/rules", token=READ_TOKEN)
    assert status == 200
    assert body["active"] is True
    assert body["rule_set"]["version"] == body["version"]
    status, history, _ = _http(stack, "/api/rules/versions", token=READ_TOKEN)
    assert status == 200
    assert history["active_version"] == body["version"]


def test_api_read_token_apply_403(stack):
    active = _http(stack, "/api/rules", token=READ_TOKEN)[1]
    document = {**active["rule_set"], "version": active["version"] + 1}
    status, body, _ = _http(
        stack, "/api/rules/apply", READ_TOKEN, orjson.dumps(document)
    )
    assert status == 403
    assert "may only read" in body["error"]


def test_api_invalid_rule_set_422(stack):
    active = _http(stack, "/api/rules", token=READ_TOKEN)[1]
    document = {**active["rule_set"], "version": active["version"] + 1}
    document["rules"] = [dict(rule) for rule in document["rules"]]
    document["rules"][2]["sla_hours"] = 0
    status, body, _ = _http(
        stack, "/api/rules/apply", APPLY_TOKEN, orjson.dumps(document)
    )
    assert status == 422
    problem = body["problems"][0]
    assert problem["rule"] == document["rules"][2]["name"]
    assert problem["field"] == "sla_hours"
    assert "greater than 0" in problem["message"]


def test_api_unparsable_body_400(stack):
    status, body, _ = _http(stack, "/api/rules/apply", APPLY_TOKEN, b"rules: [")
    assert status == 400
    assert "not valid YAML or JSON" in body["error"]


def test_api_oversized_body_413(stack):
    body = b"# " + b"x" * (2 * 1024 * 1024)
    status, answer, _ = _http(stack, "/api/rules/validate", READ_TOKEN, body)
    assert status == 413
    assert "request body size 1048576 exceeded" in answer["error"]


def test_api_old_version_409(stack):
    active = _http(stack, "/api/rules", token=READ_TOKEN)[1]
    document = active["rule_set"]
    status, body, _ = _http(
        stack, "/api/rules/apply", APPLY_TOKEN, orjson.dumps(document)
    )
    assert status == 409
    assert body["active_version"] == active["version"]
    assert f"set 'version: {active['version'] + 1}'" in body["error"]


def test_api_apply_new_version(stack):
    active = _http(stack, "/api/rules", token=READ_TOKEN)[1]
    document = {**active["rule_set"], "version": active["version"] + 1}
    document["offer_timeout_seconds"] = 300
    status, body, _ = _http(
        stack,
        "/api/rules/apply?comment=shorter%20offers",
        APPLY_TOKEN,
        yaml.safe_dump(document).encode(),
    )
    assert status == 201
    assert body["version"] == active["version"] + 1
    assert body["applied_by"] == "operator (api)"
    now = _http(stack, "/api/rules", token=READ_TOKEN)[1]
    assert now["version"] == body["version"]
    assert now["comment"] == "shorter offers"
    status, diff, _ = _http(stack, "/api/rules/diff", token=READ_TOKEN)
    assert status == 200
    assert diff["changes"] == [
        {
            "section": "settings",
            "item": None,
            "field": "offer_timeout_seconds",
            "kind": "changed",
            "before": 600.0,
            "after": 300.0,
        }
    ]


def test_api_unknown_version_404(stack):
    status, body, _ = _http(stack, "/api/rules/versions/999", token=READ_TOKEN)
    assert status == 404
    assert "999 not found" in body["error"]


def test_api_without_tokens_refuses_apply(tmp_path):
    saved = os.environ.pop("WORKSTREAM_API_TOKENS", None)
    try:
        with Stack(workers=1, run_dir=tmp_path / "open") as open_stack:
            status, body, _ = _http(open_stack, "/api/rules")
            assert status == 200
            document = {**body["rule_set"], "version": body["version"] + 1}
            status, body, _ = _http(
                open_stack, "/api/rules/apply", body=orjson.dumps(document)
            )
    finally:
        if saved is not None:
            os.environ["WORKSTREAM_API_TOKENS"] = saved
    assert status == 403
    assert "WORKSTREAM_API_TOKENS=NAME:apply:TOKEN" in body["error"]


# The rules page in headless Chromium.


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"{CHROMIUM} is missing; install Debian's chromium package "
            "(apt-get install -y chromium), as .ci/run does"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def _path_points(d: str) -> list[tuple[float, float]]:
    """Return the corners of a step path `M x y H x V y ...`."""
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", d)]
    x, y = numbers[0], numbers[1]
    points = [(x, y)]
    for index in range(2, len(numbers), 2):
        x, y = numbers[index], numbers[index + 1]
        points.append((x, y))
    return points


def test_page_asks_for_token(stack, browser):
    page = browser.new_page()
    page.goto(_url(stack, "/rules"))
    page.wait_for_selector("body[data-state=error]")
    assert page.locator("#token-form").is_visible()
    assert "missing bearer token" in page.locator("#error").inner_text()
    page.fill("#token", "not-a-configured-token")
    page.click("#load")
    page.wait_for_function(
        "document.getElementById('error').textContent === 'invalid bearer token'"
    )
    page.close()


def test_page_lists_rules_and_curves(stack, browser):
    active = _http(stack, "/api/rules", token=READ_TOKEN)[1]["rule_set"]
    page = browser.new_page()
    page.goto(_url(stack, "/rules"))
    page.wait_for_selector("#token-form:not([hidden])")
    page.fill("#token", READ_TOKEN)
    page.click("#load")
    page.wait_for_selector("body[data-state=loaded]")

    names = page.locator("#rules tbody tr").evaluate_all(
        "rows => rows.map(row => row.dataset.rule)"
    )
    assert names == [rule["name"] for rule in active["rules"]] + ["default"]
    critical = page.locator("#rules tbody tr[data-rule=incident-critical] td")
    cells = critical.all_inner_texts()
    rule = next(r for r in active["rules"] if r["name"] == "incident-critical")
    assert cells[3] == rule["department"]
    assert cells[5] == rule["scheme"]
    assert cells[6] == f"{rule['sla_hours']:g} h"
    assert "priority_label equals 1 - Critical" in cells[2]
    assert "after 50% of the SLA: reception >= 1" in cells[8]

    schemes = page.locator("figure[data-scheme]").evaluate_all(
        "figures => figures.map(f => f.dataset.scheme)"
    )
    assert sorted(schemes) == sorted(active["schemes"])
    rising = 0
    for scheme in schemes:
        paths = page.locator(f"figure[data-scheme='{scheme}'] path.curve")
        assert paths.count() >= 1, scheme
        curves = paths.evaluate_all(
            "paths => paths.map(p => [p.dataset.slaHours, p.getAttribute('d')])"
        )
        for sla_hours, d in curves:
            points = _path_points(d)
            xs = [x for x, _ in points]
            ys = [y for _, y in points]
            assert xs == sorted(xs), scheme
            # SVG y grows downwards: a rising priority has falling y.
            assert all(later <= earlier for earlier, later in itertools.pairwise(ys)), (
                scheme
            )
            if sla_hours != "none":
                # Every shipped scheme climbs to its maximum by the due date.
                assert len(points) >= 4, scheme
                assert ys[-1] < ys[0], scheme
                rising += 1
    with_sla = {rule["scheme"] for rule in active["rules"] if rule["sla_hours"]}
    assert rising >= len(with_sla)
    page.close()
