"""Backlog ranking of items whose curves run on business calendars, checked
against a ranking computed from scratch with `priority_at`."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from processors.domain.backlog import Backlog
from processors.domain.priority import priority_at
from processors.domain.rulesets import default_rules
from schemas.calendar import Calendar
from schemas.routing import PriorityScheme, Stage, Window

RULES = default_rules()
OFFICE = Calendar(
    name="office",
    timezone="Europe/Berlin",
    hours={
        day: ("08:00-12:00", "13:00-17:30")
        for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
    },
    holidays=(datetime(2026, 12, 8).date(),),
)
NIGHTS = Calendar(
    name="nights",
    timezone="America/New_York",
    hours={"saturday": ("00:00-06:00",), "sunday": ("20:00-24:00",)},
)
CALENDARS = [None, OFFICE, NIGHTS]
SCHEMES = [
    *RULES.schemes.values(),
    PriorityScheme(
        name="staged",
        initial=100,
        maximum=900,
        stages=(
            Stage(after_seconds=0, increment=10, interval_seconds=1800),
            Stage(after_seconds=4 * 3600, increment=50, interval_seconds=900),
        ),
        windows=(Window(from_seconds=3600, until_seconds=7200, raise_by=300),),
    ),
    PriorityScheme(
        name="decaying",
        initial=800,
        increment=-25,
        interval_seconds=1200,
        minimum=100,
    ),
]
QUEUES = ["network", "reception"]
# Friday 4 December 2026, 14:00 UTC: waits reach into the weekend and past
# the holiday on Tuesday.
BEGIN = datetime(2026, 12, 4, 14, tzinfo=UTC).timestamp()


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def brute_priority(entry: dict, now: float) -> int:
    return priority_at(
        entry["scheme"],
        at(entry["start"]),
        None if entry["due"] is None else at(entry["due"]),
        at(now),
        adjustment=entry["adjustment"],
        calendar=entry["calendar"],
    )


operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("add"),
            st.integers(0, 20),
            st.sampled_from(QUEUES),
            st.integers(0, len(SCHEMES) - 1),
            st.one_of(st.none(), st.integers(600, 300_000)),
            st.integers(0, len(CALENDARS) - 1),
            st.integers(-100, 100),
        ),
        st.tuples(st.just("remove"), st.integers(0, 20)),
        st.tuples(st.just("wait"), st.integers(1, 40_000)),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(operations=operations)
def test_calendar_ranking_matches_brute_force(operations) -> None:
    backlog = Backlog()
    model: dict[str, dict] = {}
    now = BEGIN
    for operation in operations:
        if operation[0] == "add":
            _, number, queue, scheme_index, sla, calendar_index, adjustment = operation
            task_id = f"t{number}"
            entry = {
                "queue": queue,
                "scheme": SCHEMES[scheme_index],
                "start": now,
                "due": None if sla is None else now + sla,
                "calendar": CALENDARS[calendar_index],
                "adjustment": adjustment,
            }
            backlog.add(
                task_id,
                queue,
                entry["scheme"],
                now,
                entry["due"],
                now,
                None,
                now,
                adjustment=adjustment,
                calendar=entry["calendar"],
            )
            model[task_id] = entry
        elif operation[0] == "remove":
            task_id = f"t{operation[1]}"
            backlog.remove(task_id)
            model.pop(task_id, None)
        else:
            now += operation[1]
            backlog.advance(now)

        for task_id, entry in model.items():
            assert backlog.get(task_id).priority == brute_priority(entry, now)
        for queue in QUEUES:
            expected = min(
                (
                    (-brute_priority(entry, now), entry["start"], task_id)
                    for task_id, entry in model.items()
                    if entry["queue"] == queue
                ),
                default=None,
            )
            actual = backlog.best([queue])
            if expected is None:
                assert actual is None
            else:
                assert (-actual.priority, actual.queued, actual.task_id) == expected


def test_next_change_skips_closed_weekend() -> None:
    backlog = Backlog()
    hourly = PriorityScheme(name="hourly", initial=100, increment=10)
    # Friday 16:30 in Berlin, one hour before closing.
    friday = datetime(2026, 12, 4, 15, 30, tzinfo=UTC).timestamp()
    backlog.add(
        "a", "reception", hourly, friday, None, friday, None, friday, calendar=OFFICE
    )

    first = backlog.next_change()
    backlog.advance(first)
    second = backlog.next_change()

    # 17:30 Friday, then 60 open minutes later: 09:00 Monday in Berlin.
    assert at(first) == datetime(2026, 12, 4, 16, 30, tzinfo=UTC)
    assert at(second) == datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    assert backlog.get("a").priority == 110
