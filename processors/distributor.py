"""The distributor processor: one in-memory Distributor per routing domain.

Items and agents are kept in two RocksDB tables (changelogged, so a worker
that takes over a partition recovers them). The in-memory index is rebuilt
from the tables the first time a domain is seen after start or rebalance.
A timer turns due offer deadlines into tick requests on the log, so a replay
of the requests yields the same decisions.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import orjson

from processors.app import Runtime
from processors.domain.distributor import Distributor, Effect, distributor_for
from processors.domain.explain import explain
from processors.domain.records import AgentRecord, WaitingItem
from processors.envelopes import dead_letter
from processors.metrics import AGENTS, DECISIONS, PROCESSING_SECONDS, WAITING_ITEMS
from schemas.agents import (
    AGENT_COMMANDS,
    AcceptOffer,
    LogIn,
    MarkDone,
    NotReady,
    RejectOffer,
)
from schemas.capture import MAX_CAPTURE_BYTES, MAX_ID_CHARS
from schemas.codec import decode, encode, make_envelope, payload
from schemas.distribution import DISTRIBUTION_REQUESTS, RouteTask, Tick, WithdrawTask
from schemas.envelope import Envelope, derived_event_id
from schemas.rules import RuleSet
from topics import catalog

__all__ = ["register"]

log = logging.getLogger(__name__)

PROCESSOR = "distributor"
TIMER_INTERVAL_SECONDS = 0.05
# Desktops may send only agent commands; only the tasks processor and the
# timer send routing requests.
ALLOWED_TYPES = {
    catalog.AGENT_COMMANDS: frozenset(AGENT_COMMANDS),
    catalog.DISTRIBUTION: frozenset(DISTRIBUTION_REQUESTS),
}


def register(runtime: Runtime) -> None:
    requests = runtime.topic(catalog.DISTRIBUTION)
    agent_commands = runtime.topic(catalog.AGENT_COMMANDS)
    outputs = {
        "task": runtime.topic(catalog.TASK_COMMANDS),
        "assignment": runtime.topic(catalog.ASSIGNMENTS),
        "agent": runtime.topic(catalog.AGENT_EVENTS),
    }
    item_table = runtime.table("distributor-items")
    agent_table = runtime.table("distributor-agents")
    producer = f"{PROCESSOR}/{runtime.producer_name}"
    domains: dict[str, Distributor] = {}
    clocks: dict[str, datetime] = {}
    ticks_sent: dict[str, datetime] = {}

    # Records of domains not loaded yet; None until the tables were scanned.
    unloaded: dict[str, dict[str, tuple[list, list]] | None] = {"domains": None}

    def domain_state(domain: str, now: datetime) -> Distributor:
        distributor = domains.get(domain)
        if distributor is None:
            if unloaded["domains"] is None:
                # One scan of both tables per assignment serves every domain.
                unloaded["domains"] = _stored_by_domain(item_table, agent_table)
            items, agents = unloaded["domains"].pop(domain, ([], []))
            distributor = _restore(domain, runtime.rules, items, agents, now)
            domains[domain] = distributor
        # The active rule set version may have changed since the last message.
        distributor.configure(runtime.rules)
        return distributor

    def persist(distributor: Distributor) -> None:
        for task_id in distributor.dirty_items:
            item = distributor.items.get(task_id)
            key = task_id.encode()
            if item is None:
                item_table.pop(key, None)
            else:
                item_table[key] = _stored(distributor.domain, item)
        for agent_id in distributor.dirty_agents:
            agent = distributor.agents[agent_id]
            agent_table[agent_id.encode()] = _stored(distributor.domain, agent)
        distributor.dirty_items.clear()
        distributor.dirty_agents.clear()

    def apply(
        distributor: Distributor, envelope: Envelope, body, now: datetime
    ) -> list[Effect]:
        subject = envelope.subject_id
        match body:
            case RouteTask():
                return distributor.route(body, now)
            case WithdrawTask():
                return distributor.withdraw(body.task_id, body.reason, now)
            case Tick():
                return distributor.tick(now)
            case LogIn():
                return distributor.log_in(subject, body, now)
            case NotReady():
                return distributor.not_ready(subject, body.reason, now)
            case AcceptOffer():
                return distributor.accept(subject, body.task_id, body.offer_id, now)
            case RejectOffer():
                return distributor.reject(subject, body.task_id, body.offer_id, now)
            case MarkDone():
                return distributor.mark_done(subject, body.task_id, now)
        match envelope.type:
            case "agent.ready":
                return distributor.ready(subject, now)
            case "agent.log_out":
                return distributor.log_out(subject, now)
        raise ValueError(
            f"unexpected message type {envelope.type!r} for the distributor"
        )

    async def send(effects: list[Effect], cause: Envelope, now: datetime) -> None:
        """Send the effects and wait until the broker has them all."""
        deliveries = []
        for index, effect in enumerate(effects):
            envelope = make_envelope(
                effect.body,
                event_type=effect.type,
                time=now,
                subject_id=effect.key,
                producer=producer,
                causation_id=cause.event_id,
                correlation_id=cause.correlation_id,
                rule_set_version=cause.rule_set_version,
                event_id=derived_event_id(cause.event_id, index),
            )
            DECISIONS.labels(effect.type).inc()
            delivery = await outputs[effect.kind].send(
                key=effect.key.encode(), value=encode(envelope)
            )
            deliveries.append(delivery)
        await asyncio.gather(*deliveries)

    def business_time(topic: str, domain: str, envelope: Envelope) -> datetime:
        """Return the time to decide at; it never runs backwards in a domain.

        Desktops stamp agent commands with their own clocks, so a time
        further than the skew tolerance from the worker's clock is replaced
        by the worker's clock.
        """
        moment = envelope.time
        if topic == catalog.AGENT_COMMANDS:
            reference = runtime.clock.now()
            tolerance = runtime.clock.skew_tolerance()
            if abs(moment - reference) > tolerance:
                log.warning(
                    "agent command %s from %s has time %s, off the worker's "
                    "clock by more than %s; using %s",
                    envelope.event_id,
                    envelope.subject_id,
                    moment.isoformat(),
                    tolerance,
                    reference.isoformat(),
                )
                moment = reference
        return max(moment, clocks.get(domain, moment))

    async def handle(topic: str, key: bytes, envelope: Envelope) -> None:
        allowed = ALLOWED_TYPES[topic]
        if envelope.type not in allowed:
            raise ValueError(
                f"message type {envelope.type!r} is not accepted on {topic}; "
                f"accepted: {', '.join(sorted(allowed))}"
            )
        if len(key) > MAX_ID_CHARS or len(envelope.subject_id) > MAX_ID_CHARS:
            raise ValueError(
                f"routing domain and subject ids may have at most {MAX_ID_CHARS} "
                "characters"
            )
        body = payload(envelope)  # invalid payloads fail before any change
        domain = key.decode()
        now = business_time(topic, domain, envelope)
        clocks[domain] = now
        distributor = domain_state(domain, now)
        try:
            effects = apply(distributor, envelope, body, now)
        except Exception:
            # The in-memory state may be half changed: reload it from the tables.
            records = _stored_by_domain(item_table, agent_table).get(domain, ([], []))
            domains[domain] = _restore(domain, runtime.rules, *records, now)
            raise
        # The effects reach the broker before the state is stored, so a crash
        # in between repeats them (same ids) instead of losing them.
        await send(effects, envelope, now)
        persist(distributor)
        _observe(distributor)

    @runtime.app.agent(
        runtime.app.topic(
            catalog.DISTRIBUTION,
            catalog.AGENT_COMMANDS,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
        ),
        name="distributor",
    )
    async def distributor_agent(stream):
        await runtime.rule_sets.wait_ready()
        async for event in stream.events():
            try:
                if len(event.value or b"") > MAX_CAPTURE_BYTES:
                    raise ValueError(
                        f"message of {len(event.value)} bytes is above the limit "
                        f"of {MAX_CAPTURE_BYTES}"
                    )
                with PROCESSING_SECONDS.labels(PROCESSOR).time():
                    topic = event.message.topic
                    await handle(topic, event.key or b"default", decode(event.value))
            except Exception as error:  # noqa: BLE001 - parked, never lost
                await dead_letter(runtime, PROCESSOR, event, error)

    @runtime.app.timer(TIMER_INTERVAL_SECONDS, name="distributor-deadlines")
    async def deadline_timer() -> None:
        now = runtime.clock.now()
        for domain, distributor in list(domains.items()):
            deadline = distributor.next_deadline()
            if deadline is None or deadline > now or ticks_sent.get(domain) == deadline:
                continue
            ticks_sent[domain] = deadline
            tick = make_envelope(
                Tick(),
                event_type="route.tick",
                time=now,
                subject_id=domain,
                producer=producer,
            )
            await requests.send(key=domain.encode(), value=encode(tick))

    @runtime.app.page("/explain/{task_id}/")
    async def explain_page(web, request, task_id: str):
        """Explain an item's routing state from this worker's domains."""
        now = runtime.clock.now()
        for domain, distributor in domains.items():
            if task_id in distributor.items:
                report = explain(
                    distributor, task_id, max(now, clocks.get(domain, now))
                )
                report["routing_domain"] = domain
                return web.json(report)
        return web.json({"task_id": task_id, "in_routing": False})

    @runtime.app.on_rebalance_complete.connect
    async def forget_domains(sender, **kwargs) -> None:
        # Partitions may have moved: rebuild each domain from its tables.
        domains.clear()
        unloaded["domains"] = None

    del agent_commands


def _stored(domain: str, record: WaitingItem | AgentRecord) -> bytes:
    return orjson.dumps({"domain": domain, "record": record.to_record()})


def _stored_by_domain(item_table, agent_table) -> dict[str, tuple[list, list]]:
    """Group the stored items and agents of this worker's partitions by domain."""
    grouped: dict[str, tuple[list, list]] = {}
    for value in item_table.values():
        stored = orjson.loads(value)
        grouped.setdefault(stored["domain"], ([], []))[0].append(stored["record"])
    for value in agent_table.values():
        stored = orjson.loads(value)
        grouped.setdefault(stored["domain"], ([], []))[1].append(stored["record"])
    return grouped


def _restore(
    domain: str, rules: RuleSet, items: list, agents: list, now: datetime
) -> Distributor:
    distributor = distributor_for(domain, rules)
    distributor.load(
        [WaitingItem.from_record(record, distributor.intern) for record in items],
        [AgentRecord.from_record(record) for record in agents],
        now,
    )
    log.info(
        "routing domain %s loaded: %d items, %d agents",
        domain,
        len(distributor.items),
        len(distributor.agents),
    )
    return distributor


def _observe(distributor: Distributor) -> None:
    WAITING_ITEMS.labels(distributor.domain).set(len(distributor.backlog))
    states = {"ready": 0, "not_ready": 0, "logged_out": 0}
    for agent in distributor.agents.values():
        states[agent.status] += 1
    for state, count in states.items():
        AGENTS.labels(distributor.domain, state).set(count)
