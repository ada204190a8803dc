"""Why an item is where it is: its tier, priority, deadlines, and each
employee who could have taken it with the reason it did not."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from processors.domain.distributor import Distributor
from processors.domain.priority import next_change_at
from processors.domain.records import AgentRecord, WaitingItem
from processors.domain.targets import comparisons, parse_expression
from schemas.routing import Target

__all__ = ["explain"]

MAX_AGENTS_LISTED = 50


def explain(distributor: Distributor, task_id: str, now: datetime) -> dict[str, Any]:
    """Return a description of one item's routing state at `now`."""
    item = distributor.items.get(task_id)
    if item is None:
        return {"task_id": task_id, "in_routing": False}
    target = distributor.current_target(item)
    report: dict[str, Any] = {
        "task_id": task_id,
        "in_routing": True,
        "state": _state(item),
        "tier": item.tier,
        "tiers": 1 + len(item.tiers),
        "target": target.key,
        "priority": distributor.priority(item, now),
        "next_priority_change": _iso(
            next_change_at(
                item.scheme,
                item.priority_start_at,
                item.due_at,
                now,
                item.initial_priority,
                adjustment=item.priority_adjustment,
                calendar=item.calendar,
            )
        ),
        "due_at": _iso(item.due_at),
        "calendar": None if item.calendar is None else item.calendar.name,
        "queued_at": _iso(item.queued_at),
        "offer_expires_at": _iso(item.offer_expires_at),
        "next_tier": _next_tier(item),
        "ahead_in_queue": _ahead(distributor, item),
    }
    report["employees"] = _employees(distributor, item, target, now)
    return report


def _state(item: WaitingItem) -> str:
    if item.waiting:
        return "waiting"
    return f"{'held' if item.accepted else 'offered'} by {item.agent_id}"


def _next_tier(item: WaitingItem) -> dict | None:
    if item.tier >= len(item.tiers):
        return None
    upcoming = item.tiers[item.tier]
    return {"at": _iso(item.widen_at), "adds": upcoming.target.key}


def _ahead(distributor: Distributor, item: WaitingItem) -> int | None:
    """Return how many items of the same queue go before this one."""
    waiting = distributor.backlog.get(item.task_id)
    if waiting is None:
        return None
    ranked = distributor.backlog.ranked(waiting.queue)
    return next(
        (index for index, other in enumerate(ranked) if other.task_id == item.task_id),
        None,
    )


def _employees(
    distributor: Distributor, item: WaitingItem, target: Target, now: datetime
) -> list[dict[str, Any]]:
    """List employees with why each does not have the item: those who qualify
    first, then the others, at most MAX_AGENTS_LISTED."""
    rows = []
    for agent in distributor.agents.values():
        reasons = _reasons(distributor, agent, item, target, now)
        rows.append({"agent_id": agent.agent_id, "reasons": reasons})
    rows.sort(key=lambda row: (_skill_blocked(row["reasons"]), row["agent_id"]))
    return rows[:MAX_AGENTS_LISTED]


def _reasons(
    distributor: Distributor,
    agent: AgentRecord,
    item: WaitingItem,
    target: Target,
    now: datetime,
) -> list[str]:
    if item.agent_id == agent.agent_id:
        return ["holds it" if item.accepted else "has the offer now"]
    reasons = _skill_gaps(agent, target)
    if agent.status == "logged_out":
        reasons.append("logged out")
    elif agent.status == "not_ready":
        reasons.append(f"not ready ({agent.reason})")
    media = item.media
    if not agent.has_room(media):
        reasons.append(_capacity_reason(agent, media))
    if item.rejected_by == agent.agent_id and item.rejected_until is not None:
        if now < item.rejected_until:
            reasons.append(
                f"rejected it; not offered again before {_iso(item.rejected_until)}"
            )
    if not reasons:
        reasons.append("could take it: it goes on the next routing decision")
    return reasons


def _capacity_reason(agent: AgentRecord, media: str) -> str:
    """Return which capacity rule keeps the item from the employee."""
    limit = agent.capacity.for_media(media)
    load = agent.load(media)
    if load >= limit:
        return f"at capacity for {media} ({load} of {limit})"
    total = agent.capacity.total
    if total is not None and len(agent.in_hand) >= total:
        return f"at total capacity ({len(agent.in_hand)} of {total} items)"
    held = sorted(set(agent.in_hand.values()))
    blocking = [h for h in held if media in agent.capacity.while_holding.get(h, ())]
    return f"no {media} while holding {' or '.join(blocking)}"


def _skill_gaps(agent: AgentRecord, target: Target) -> list[str]:
    """Return what the employee lacks for the target, in the target's terms."""
    gaps = []
    if target.agent_id is not None and target.agent_id != agent.agent_id:
        gaps.append(f"the item waits for {target.agent_id}")
    if target.agent_group is not None and target.agent_group not in agent.groups:
        gaps.append(f"not in group {target.agent_group}")
    for requirement in target.skills:
        level = agent.skills.get(requirement.skill)
        if level is None or level < requirement.min_level:
            gaps.append(
                f"skill too low: {requirement.skill} is {level or 0}, needs "
                f">= {requirement.min_level}"
            )
    if target.expression is not None:
        node = parse_expression(target.expression)
        if not node.holds(agent.skills):
            failing = [c for c in comparisons(node) if not c.holds(agent.skills)]
            details = ", ".join(
                f"{c.skill} is {agent.skills.get(c.skill, 0)}, needs {c.op} {c.level}"
                for c in failing
            )
            gaps.append(f"skill too low: {details}")
    if target.any_of and not any(not _skill_gaps(agent, m) for m in target.any_of):
        gaps.append(
            "meets none of the tiers reached: "
            + "; ".join(m.key for m in target.any_of)
        )
    return gaps


def _skill_blocked(reasons: list[str]) -> bool:
    return any(
        reason.startswith(
            ("skill too low", "not in group", "the item waits", "meets none")
        )
        for reason in reasons
    )


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
