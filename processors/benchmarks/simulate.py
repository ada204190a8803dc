"""Speed of the what-if simulation over the whole shipped incident log.

Reads the log and staffs it as `rules simulate` does (not timed), then times
one replay under the shipped rule set on one core: every capture through
the capture checks, the task aggregate, the distributor and the simulated
employees. Figures are captures and items (distinct tasks) per second of
that replay.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from processors.benchmarks import publish
from processors.domain.rulesets import default_rules
from processors.simulation.simulate_command import load_log
from processors.simulation.staffing import staffing_for
from processors.simulation.whatif import simulate

__all__ = ["run_simulate_bench"]

RESULTS = Path("results/bench-simulate.json")


def run_simulate_bench(as_json: bool) -> int:
    rules = default_rules()
    captures = load_log("servicenow", None)
    profiles = staffing_for(captures)

    started = time.process_time()
    wall_started = time.perf_counter()
    result = simulate(rules, captures, profiles)
    cpu_seconds = time.process_time() - started
    wall_seconds = time.perf_counter() - wall_started

    figures = {
        "captures": result.captures,
        "items": len(result.items),
        "events": result.events,
        "employees": len(profiles),
        "cpu_seconds": round(cpu_seconds, 2),
        "wall_seconds": round(wall_seconds, 2),
        "captures_per_s": round(result.captures / cpu_seconds, 1),
        "items_per_s": round(len(result.items) / cpu_seconds, 1),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    text = (
        f"{figures['captures_per_s']} captures/s, {figures['items_per_s']} items/s "
        f"on one core ({figures['captures']} captures, {figures['items']} items, "
        f"{figures['employees']} simulated employees, "
        f"{figures['cpu_seconds']} s CPU, {figures['wall_seconds']} s wall)"
    )
    publish(figures, RESULTS, as_json, text)
    return 0
