"""How the shipped media schemes rank against the shipped work-item rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from processors.domain.priority import priority_at
from processors.domain.rulesets import default_rules

RULES = default_rules()
START = datetime(2026, 12, 7, 9, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
# Every work-item rule with its SLA, the way classification applies them.
WORK_ITEM_RULES = [
    (
        getattr(rule, "name", "default"),
        RULES.schemes[rule.scheme],
        timedelta(hours=rule.sla_hours),
    )
    for rule in (*RULES.rules, RULES.default)
    if rule.sla_hours is not None and rule.scheme not in ("voice", "chat", "email")
]
# The waits at which a call and a chat overtake those work items.
MEDIA = [("voice", timedelta(minutes=5)), ("chat", timedelta(minutes=10))]


def work_item_priority(scheme, sla: timedelta, before_due: timedelta) -> int:
    due = START + sla
    return priority_at(scheme, START, due, due - before_due)


def media_priority(media: str, waited: timedelta) -> int:
    return priority_at(RULES.schemes[media], START, None, START + waited)


@pytest.mark.parametrize("media,threshold", MEDIA)
@pytest.mark.parametrize("rule,scheme,sla", WORK_ITEM_RULES)
def test_item_near_due_outranks_new_call(media, threshold, rule, scheme, sla) -> None:
    """A work item within 2 hours of its due date (or past it) outranks a
    call that has waited less than 5 minutes (a chat: 10 minutes)."""
    call = media_priority(media, threshold - MICROSECOND)
    for before_due in (timedelta(hours=2), timedelta(hours=1), timedelta(0)):
        assert work_item_priority(scheme, sla, before_due) > call
    assert work_item_priority(scheme, sla, -timedelta(hours=1)) > call


@pytest.mark.parametrize("media,threshold", MEDIA)
@pytest.mark.parametrize("rule,scheme,sla", WORK_ITEM_RULES)
def test_waiting_call_outranks_item_far_from_due(
    media, threshold, rule, scheme, sla
) -> None:
    """Once the call has waited 5 minutes (a chat: 10), it outranks a work
    item that is still more than 2 hours from its due date."""
    call = media_priority(media, threshold)
    item = work_item_priority(scheme, sla, timedelta(hours=2) + MICROSECOND)

    assert call > item


def test_work_item_rules_found() -> None:
    assert len(WORK_ITEM_RULES) >= 5


def test_email_reaches_maximum_at_due() -> None:
    email = RULES.schemes["email"]
    due = START + timedelta(hours=8)

    assert priority_at(email, START, due, START) == email.initial
    assert priority_at(email, START, due, due) == email.maximum
