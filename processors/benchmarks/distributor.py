"""The distributor core alone on a generated routing domain.

The benchmark loads a backlog of `items` waiting items over `queues` queues
and `agents` employees, each with three skills and room for one work item.
Then, `decisions` times, 10 ms of business time pass, an employee marks its
item done and the distributor offers it the best item it may take from the
whole backlog; a new item then arrives (not timed), so the backlog keeps
its size. Each of those calls is one routing decision, timed on its
own. The priority steps that fall due in those 10 ms are taken first and
timed apart, because their number grows with the backlog and the time that
passes, not with the decisions. Memory per waiting item is the growth of the
process's resident set while loading the backlog.

`run_growth_bench` runs the benchmark at several backlog sizes, each in a
fresh process so resident set figures do not mix, and prints how the cost
of a decision grows against the logarithm of the backlog size.
"""

from __future__ import annotations

import gc
import math
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from processors.benchmarks import publish
from processors.domain.distributor import Distributor
from processors.domain.rulesets import default_rules
from projections.summary import percentile
from schemas.agents import LogIn
from schemas.distribution import RouteTask
from schemas.routing import Capacity, SkillRequirement, Target

__all__ = ["run_distributor_bench", "run_growth_bench"]

RESULTS = Path("results/bench-distributor.json")
GROWTH_RESULTS = Path("results/bench-distributor-growth.json")
START = datetime(2026, 1, 5, 8, tzinfo=UTC)


def run_distributor_bench(
    items: int, agents: int, queues: int, decisions: int, as_json: bool
) -> int:
    rng = random.Random(5)
    distributor = Distributor(domain="bench", offer_timeout=timedelta(minutes=10))
    targets = _targets(queues)

    generated = _Items(targets, rng)
    gc.collect()
    before = _resident_bytes()
    loaded_at = _load_backlog(distributor, generated, items)
    gc.collect()
    bytes_per_item = (_resident_bytes() - before) / items

    now = loaded_at
    _staff(distributor, agents, queues, rng, now)
    # A worker does the same once it has loaded a routing domain: the loaded
    # objects live long, and a full collection over millions of them would
    # pause one decision for a second or more.
    gc.freeze()
    latencies, stepping, steps = _decide(distributor, generated, decisions, now)

    result = {
        "items": items,
        "agents": agents,
        "queues": queues,
        "decisions": len(latencies),
        "decisions_per_s": round(len(latencies) / sum(latencies), 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 4),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 4),
        "bytes_per_item": round(bytes_per_item, 1),
        "priority_steps": steps,
        "priority_steps_per_s": round(steps / stepping, 1) if stepping else None,
        "waiting_after": len(distributor.backlog),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    text = (
        f"{result['decisions_per_s']} decisions/s, p50 {result['p50_ms']} ms, "
        f"p99 {result['p99_ms']} ms, {result['bytes_per_item']} bytes per "
        f"waiting item ({items} items, {agents} agents, {queues} queues); "
        f"{steps} priority steps at {result['priority_steps_per_s']}/s; "
        f"{result['waiting_after']} items waiting at the end"
    )
    publish(result, RESULTS, as_json, text)
    return 0


def _targets(queues: int) -> list[Target]:
    return [
        Target(skills=(SkillRequirement(skill=f"skill-{n}", min_level=1 + n % 5),))
        for n in range(queues)
    ]


class _Items:
    """Generated waiting items: random queue, work-item scheme and SLA."""

    def __init__(self, targets: list[Target], rng: random.Random) -> None:
        # Work items only: the schemes the shipped rules give to items, but
        # not those of the rules for calls, chats and e-mails.
        rules = default_rules()
        segments = [
            rule
            for rule in rules.rules
            if all(condition.attribute != "media" for condition in rule.when)
        ]
        names = sorted({segment.scheme for segment in (*segments, rules.default)})
        self.schemes = [rules.schemes[name] for name in names]
        self.targets = targets
        self.rng = rng
        self.count = 0

    def request(self, now: datetime) -> RouteTask:
        rng = self.rng
        self.count += 1
        due = now + timedelta(hours=rng.choice((4, 8, 24, 72)))
        return RouteTask.model_construct(
            task_id=f"task-{self.count}",
            media="workitem",
            target=self.targets[rng.randrange(len(self.targets))],
            scheme=self.schemes[rng.randrange(len(self.schemes))],
            priority_start_at=now,
            queued_at=now,
            due_at=due,
            initial_priority=None,
            preferred_agent=None,
            summary={},
        )


def _load_backlog(distributor, generated: _Items, items: int) -> datetime:
    now = START
    for number in range(items):
        now = START + timedelta(milliseconds=number)
        distributor.route(generated.request(now), now)
    if items >= 100_000:
        print(f"loaded {items} items", file=sys.stderr)
    return now


def _staff(distributor, agents: int, queues: int, rng, now: datetime) -> None:
    """Log in every employee and make it ready: each takes one item at once."""
    for number in range(agents):
        skills = {
            f"skill-{rng.randrange(queues)}": rng.randint(5, 10) for _ in range(3)
        }
        agent_id = f"agent-{number}"
        distributor.log_in(
            agent_id, LogIn(skills=skills, capacity=Capacity(workitem=1)), now
        )
        distributor.ready(agent_id, now)


def _decide(
    distributor: Distributor, generated: _Items, decisions: int, now: datetime
) -> tuple[list[float], float, int]:
    """Time `decisions` calls of mark_done, each freeing one employee. After
    each, one new item arrives (not timed), so the backlog keeps its size.

    Returns the decision latencies, the seconds spent on priority steps
    and the number of steps.
    """
    holders = [a for a in distributor.agents.values() if a.in_hand]
    latencies = []
    stepping = 0.0
    steps = 0
    for number in range(decisions):
        if not holders:
            break
        agent = holders[number % len(holders)]
        if not agent.in_hand:
            continue
        task_id = next(iter(agent.in_hand))
        item = distributor.items[task_id]
        now += timedelta(milliseconds=10)
        started = time.perf_counter()
        steps += len(distributor.advance(now))
        stepping += time.perf_counter() - started
        distributor.accept(agent.agent_id, task_id, item.offer_id, now)
        started = time.perf_counter()
        distributor.mark_done(agent.agent_id, task_id, now)
        latencies.append(time.perf_counter() - started)
        distributor.route(generated.request(now), now)
        distributor.dirty_items.clear()
        distributor.dirty_agents.clear()
    return latencies, stepping, steps


def _resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def run_growth_bench(
    sizes: list[int], agents: int, queues: int, decisions: int, as_json: bool
) -> int:
    """Run the benchmark at each backlog size and relate the cost of a
    decision to log2 of the size, relative to the smallest size."""
    rows = []
    for size in sizes:
        command = [
            sys.executable,
            "-m",
            "processors.cli",
            "bench",
            "distributor",
            "--json",
            f"--items={size}",
            f"--agents={agents}",
            f"--queues={queues}",
            f"--decisions={decisions}",
        ]
        output = subprocess.run(command, check=True, capture_output=True, text=True)
        figures = orjson.loads(output.stdout.strip().splitlines()[-1])
        rows.append(
            {
                "items": size,
                "microseconds_per_decision": round(1e6 / figures["decisions_per_s"], 2),
                "decisions_per_s": figures["decisions_per_s"],
                "p99_ms": figures["p99_ms"],
                "bytes_per_item": figures["bytes_per_item"],
            }
        )
    base = rows[0]
    for row in rows:
        row["cost_ratio"] = round(
            row["microseconds_per_decision"] / base["microseconds_per_decision"], 2
        )
        row["log_ratio"] = round(math.log2(row["items"]) / math.log2(base["items"]), 2)
    lines = [
        f"{'items':>10} {'us/decision':>12} {'decisions/s':>12} {'p99 ms':>8} "
        f"{'bytes/item':>10} {'cost x':>7} {'log2 n x':>8}"
    ]
    for row in rows:
        lines.append(
            f"{row['items']:>10} {row['microseconds_per_decision']:>12} "
            f"{row['decisions_per_s']:>12} {row['p99_ms']:>8} "
            f"{row['bytes_per_item']:>10} {row['cost_ratio']:>7} {row['log_ratio']:>8}"
        )
    result = {
        "agents": agents,
        "queues": queues,
        "rows": rows,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    publish(result, GROWTH_RESULTS, as_json, "\n".join(lines))
    return 0
