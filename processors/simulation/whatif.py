"""What-if simulation: past capture traffic replayed in process under a rule set.

The replay runs the pure code the live processors run, in the order they
run it, on a simulated clock:

- capture point: `parse_capture`, the message-key check and the rejection
  of changes to items never created (processors/capture.py);
- tasks: `task.decide` on each capture and each distributor decision, with
  the routing requests sent on to the distributor (processors/tasks.py);
- distributor: one `Distributor` per routing domain. Task effects go back to
  `task.decide`, offers go to the simulated employees and agent effects to
  their desktops. A tick fires at each next deadline
  (processors/distributor.py);
- employees: the demo's staffing (`staffing_for`) and desktops
  (`answer_offer`, RONA_PAUSE), as processors/simulation/desks.py.

It is a discrete-event loop: a heap of timed events (captures at their
source times, accepts, handling done, employees ready again, distributor
ticks) processed in time order, each at its own time, with no Kafka and
no wall clock. Unlike the live pipeline, every hop takes zero business time.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from processors.domain.distributor import Distributor, Effect
from processors.domain.task import Decision, TaskState, decide
from processors.domain.validation import CaptureError, parse_capture
from processors.simulation.desks import DESK_SEED, RONA_PAUSE, answer_offer
from processors.simulation.staffing import AgentProfile
from processors.sources.capture_traffic import SourceCapture
from projections.summary import percentile
from schemas.agents import LogIn
from schemas.capture import CaptureCommand, RejectionReason
from schemas.distribution import RouteTask, WithdrawTask
from schemas.routing import Capacity
from schemas.rules import RuleSet
from schemas.tasks import TaskAccepted

__all__ = ["ItemRecord", "Replay", "SimulationResult", "simulate", "summarise"]

AGENT_DOMAIN = "default"
LOG_IN_LEAD = timedelta(minutes=1)
# Nothing after this long past the last capture is replayed; it ends items
# that employees keep letting ring (rona_probability 1).
HORIZON = timedelta(days=7)
_TERMINAL = ("completed", "cancelled")
_IN_ROUTING = ("queued", "offered")

# Event kinds, in the order they run when due at the same moment.
_CAPTURE, _ACCEPT, _MARK_DONE, _READY, _TICK = range(5)


@dataclass
class ItemRecord:
    """One item's current state, first classification and first accept."""

    state: TaskState
    first_classification: tuple[str, str, str, str] | None = None
    first_accepted_at: datetime | None = None


@dataclass
class SimulationResult:
    rules: RuleSet
    items: dict[str, ItemRecord]
    rejected: Counter
    rona: int
    offers_let_ring: int
    captures: int
    started_at: datetime | None
    ended_at: datetime | None
    events: int


@dataclass(order=True)
class _Event:
    at: datetime
    kind: int
    sequence: int
    payload: Any = field(compare=False)


class Replay:
    """One replay of captures under one rule set."""

    def __init__(
        self,
        rules: RuleSet,
        profiles: list[AgentProfile],
        seed: int = DESK_SEED,
    ) -> None:
        self.rules = rules
        self.profiles = {profile.agent_id: profile for profile in profiles}
        self.seed = seed
        self.offer_timeout = timedelta(seconds=rules.offer_timeout_seconds)
        self.domains: dict[str, Distributor] = {}
        self.ticks: set[tuple[str, datetime]] = set()
        self.heap: list[_Event] = []
        self.sequence = itertools.count()
        self.decision_ids = itertools.count()
        self.known: set[str] = set()
        self.records: dict[str, ItemRecord] = {}
        self.rejected: Counter = Counter()
        self.offers_seen: Counter = Counter()
        self.working: dict[str, set[str]] = {agent: set() for agent in self.profiles}
        self.rona = 0
        self.offers_let_ring = 0
        self.events = 0
        self.in_routing: set[str] = set()

    def run(self, captures: list[SourceCapture]) -> SimulationResult:
        """Replay the captures, then their consequences.

        Like the demo, the replay ends once every capture is in and no item
        is queued or offered: from then on only items in employees' hands
        are marked done, which changes no figure. HORIZON bounds it too.
        """
        started = captures[0].at if captures else None
        if started is not None:
            self._log_in_all(started - LOG_IN_LEAD)
        for capture in captures:
            self._push(capture.at, _CAPTURE, capture)
        remaining = len(captures)
        end = captures[-1].at + HORIZON if captures else None
        while self.heap and self.heap[0].at <= end:
            event = heapq.heappop(self.heap)
            self.events += 1
            if event.kind == _CAPTURE:
                remaining -= 1
            self._handle(event)
            if remaining == 0 and not self.in_routing:
                break
            self._schedule_ticks()
        return SimulationResult(
            rules=self.rules,
            items=self.records,
            rejected=self.rejected,
            rona=self.rona,
            offers_let_ring=self.offers_let_ring,
            captures=len(captures),
            started_at=started,
            ended_at=captures[-1].at if captures else None,
            events=self.events,
        )

    def _push(self, at: datetime, kind: int, payload: Any) -> None:
        heapq.heappush(self.heap, _Event(at, kind, next(self.sequence), payload))

    def _handle(self, event: _Event) -> None:
        now = event.at
        if event.kind == _CAPTURE:
            self._capture(event.payload, now)
        elif event.kind == _ACCEPT:
            agent_id, task_id, offer_id = event.payload
            distributor = self._domain(AGENT_DOMAIN)
            self._apply_effects(distributor.accept(agent_id, task_id, offer_id, now), now)
        elif event.kind == _MARK_DONE:
            agent_id, task_id = event.payload
            # The desktop marks an item done only while the employee still has it.
            if task_id in self.working[agent_id]:
                self.working[agent_id].discard(task_id)
                distributor = self._domain(AGENT_DOMAIN)
                self._apply_effects(distributor.mark_done(agent_id, task_id, now), now)
        elif event.kind == _READY:
            distributor = self._domain(AGENT_DOMAIN)
            self._apply_effects(distributor.ready(event.payload, now), now)
        else:
            self.ticks.discard((event.payload, now))
            self._apply_effects(self._domain(event.payload).tick(now), now)

    # The capture point (processors/capture.py).

    def _capture(self, capture: SourceCapture, now: datetime) -> None:
        try:
            command = parse_capture(capture.payload, self.rules)
        except CaptureError as error:
            self.rejected[error.reason.value] += 1
            return
        if capture.key != command.task_id:
            self.rejected[RejectionReason.WRONG_KEY.value] += 1
            return
        if command.type != "create" and command.task_id not in self.known:
            self.rejected[RejectionReason.UNKNOWN_ITEM.value] += 1
            return
        if command.type == "create":
            self.known.add(command.task_id)
        self._decide(command.task_id, command, now)

    # The tasks processor (processors/tasks.py).

    def _decide(
        self, task_id: str, command: CaptureCommand | Decision, now: datetime
    ) -> None:
        record = self.records.get(task_id)
        state = None if record is None else record.state
        outcome = decide(state, command, now, self.rules)
        if outcome.duplicate:
            return
        if outcome.rejection is not None:
            self.rejected[RejectionReason.TOO_LARGE.value] += 1
            return
        if outcome.state is None:
            return
        if record is None:
            record = ItemRecord(state=outcome.state)
            self.records[task_id] = record
        record.state = outcome.state
        if outcome.state.status in _IN_ROUTING:
            self.in_routing.add(task_id)
        else:
            self.in_routing.discard(task_id)
        for _, body in outcome.events:
            if isinstance(body, TaskAccepted) and record.first_accepted_at is None:
                record.first_accepted_at = now
        if record.first_classification is None and outcome.state.rule is not None:
            record.first_classification = _classification_of(outcome.state)
        domain = outcome.state.routing_domain
        for _, request in outcome.requests:
            self._route(domain, request, now)

    # The distributor processor (processors/distributor.py).

    def _domain(self, domain: str) -> Distributor:
        distributor = self.domains.get(domain)
        if distributor is None:
            distributor = Distributor(
                domain=domain,
                offer_timeout=self.offer_timeout,
                fairness=self.rules.fairness,
            )
            self.domains[domain] = distributor
        return distributor

    def _route(self, domain: str, request: Any, now: datetime) -> None:
        distributor = self._domain(domain)
        if isinstance(request, RouteTask):
            effects = distributor.route(request, now)
        elif isinstance(request, WithdrawTask):
            effects = distributor.withdraw(request.task_id, request.reason, now)
        else:
            raise ValueError(f"unexpected routing request {type(request).__name__}")
        self._apply_effects(effects, now)

    def _apply_effects(self, effects: list[Effect], now: datetime) -> None:
        for effect in effects:
            if effect.kind == "task":
                decision = Decision(
                    event_id=f"replay-{next(self.decision_ids)}", body=effect.body
                )
                self._decide(effect.key, decision, now)
            elif effect.kind == "assignment":
                self._on_assignment(effect, now)
            else:
                self._on_agent_event(effect, now)
        # The live tables are persisted after sending; nothing reads them here.
        for distributor in self.domains.values():
            distributor.dirty_items.clear()
            distributor.dirty_agents.clear()

    def _schedule_ticks(self) -> None:
        """Put a tick on the heap at each domain's next deadline, once."""
        for name, distributor in self.domains.items():
            deadline = distributor.next_deadline()
            if deadline is None or (name, deadline) in self.ticks:
                continue
            self.ticks.add((name, deadline))
            self._push(deadline, _TICK, name)

    # The simulated desktops (processors/simulation/desks.py).

    def _log_in_all(self, at: datetime) -> None:
        distributor = self._domain(AGENT_DOMAIN)
        for profile in self.profiles.values():
            command = LogIn(
                name=profile.name,
                skills=profile.skills,
                capacity=Capacity(workitem=profile.capacity_workitem),
            )
            distributor.log_in(profile.agent_id, command, at)
            self._apply_effects(distributor.ready(profile.agent_id, at), at)

    def _on_assignment(self, effect: Effect, now: datetime) -> None:
        agent_id = effect.key
        if agent_id not in self.profiles:
            return
        body = effect.body
        if effect.type == "assignment.offer_withdrawn":
            self.working[agent_id].discard(body.task_id)
            return
        self.offers_seen[body.task_id] += 1
        handling = answer_offer(
            self.profiles[agent_id],
            self.seed,
            body.task_id,
            self.offers_seen[body.task_id],
        )
        if handling is None:
            self.offers_let_ring += 1
            return
        self._push(now, _ACCEPT, (agent_id, body.task_id, body.offer_id))
        self.working[agent_id].add(body.task_id)
        self._push(now + handling, _MARK_DONE, (agent_id, body.task_id))

    def _on_agent_event(self, effect: Effect, now: datetime) -> None:
        if effect.type != "agent.became_not_ready":
            return
        if effect.key in self.profiles and effect.body.reason.value == "rona":
            self.rona += 1
            self._push(now + RONA_PAUSE, _READY, effect.key)


def simulate(
    rules: RuleSet,
    captures: list[SourceCapture],
    profiles: list[AgentProfile],
    seed: int = DESK_SEED,
) -> SimulationResult:
    """Replay `captures` under `rules` with the simulated employees `profiles`."""
    return Replay(rules, profiles, seed).run(captures)


def _classification_of(state: TaskState) -> tuple[str, str, str, str]:
    return (state.department, state.process, state.rule, state.scheme.name)


# The report.


def summarise(result: SimulationResult) -> dict[str, Any]:
    """Return the service figures of a replay, overall and per department,
    process and rule, defined as the demo's live summary defines them."""
    records = list(result.items.values())
    report: dict[str, Any] = {
        "rule_set": {"name": result.rules.name, "version": result.rules.version},
        "captures": result.captures,
        "rejected": dict(sorted(result.rejected.items())),
        "rejected_total": sum(result.rejected.values()),
        "rona": result.rona,
        "offers_let_ring": result.offers_let_ring,
        **_figures(records, result.ended_at),
    }
    for key, group in (
        ("by_department", lambda r: r.state.department),
        ("by_process", lambda r: r.state.process),
        ("by_rule", lambda r: r.state.rule),
    ):
        grouped: dict[str, list[ItemRecord]] = {}
        for record in records:
            grouped.setdefault(str(group(record)), []).append(record)
        report[key] = {
            name: _figures(members, result.ended_at)
            for name, members in sorted(grouped.items())
        }
    return report


def _figures(records: list[ItemRecord], end: datetime | None) -> dict[str, Any]:
    """Count and time a group of items.

    SLA attainment is the share of items completed by the source, with a due
    date, that were completed by it. The wait runs from capture to the first
    accept. An item is overdue when it was completed after its due date, or
    is still open at the end of the replayed window with its due date passed.
    """
    completed = [r.state for r in records if r.state.status == "completed"]
    with_due = [s for s in completed if s.due_at is not None]
    in_sla = [s for s in with_due if s.completed_at <= s.due_at]
    waits = [
        (r.first_accepted_at - r.state.captured_at).total_seconds()
        for r in records
        if r.first_accepted_at is not None
    ]
    overdue = sum(1 for r in records if _overdue(r.state, end))
    return {
        "items": len(records),
        "distributed": sum(1 for r in records if r.first_accepted_at is not None),
        "completed": len(completed),
        "cancelled": sum(1 for r in records if r.state.status == "cancelled"),
        "open": sum(1 for r in records if r.state.status not in _TERMINAL),
        "completed_with_due_date": len(with_due),
        "completed_in_sla": len(in_sla),
        "sla_attainment": round(len(in_sla) / len(with_due), 4) if with_due else None,
        "wait_seconds_p50": _rounded(percentile(waits, 0.50)),
        "wait_seconds_p95": _rounded(percentile(waits, 0.95)),
        "overdue": overdue,
    }


def _overdue(state: TaskState, end: datetime | None) -> bool:
    if state.due_at is None:
        return False
    if state.status == "completed":
        return state.completed_at > state.due_at
    if state.status == "cancelled":
        return False
    return end is not None and state.due_at < end


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
