"""Tests of the backlog index against a brute-force ranking."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from processors.domain.backlog import Backlog
from processors.domain.priority import curve_value
from processors.domain.rulesets import default_rules

RULES = default_rules()
SCHEMES = list(RULES.schemes.values())
QUEUES = ["network", "desktop", "reception"]


def brute_best(model: dict, queues: list[str], now: float):
    """Rank every live item from scratch, the way the index must agree with."""
    ranked = [
        (
            -curve_value(entry["scheme"], None, now - entry["start"], entry["span"]),
            entry["queued"],
            task_id,
        )
        for task_id, entry in model.items()
        if entry["queue"] in queues
    ]
    return min(ranked, default=None)


operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("add"),
            st.integers(0, 30),
            st.sampled_from(QUEUES),
            st.integers(0, len(SCHEMES) - 1),
            st.one_of(st.none(), st.floats(600, 200_000)),
        ),
        st.tuples(st.just("remove"), st.integers(0, 30)),
        st.tuples(st.just("wait"), st.floats(1, 20_000)),
    ),
    max_size=80,
)


@settings(max_examples=200, deadline=None)
@given(operations=operations)
def test_best_matches_brute_force(operations) -> None:
    backlog = Backlog()
    model: dict[str, dict] = {}
    now = 1_000_000.0
    for operation in operations:
        if operation[0] == "add":
            _, number, queue, scheme_index, sla = operation
            task_id = f"t{number}"
            scheme = SCHEMES[scheme_index]
            due = None if sla is None else now + sla
            backlog.add(task_id, queue, scheme, now, due, now, None, now)
            model[task_id] = {
                "queue": queue,
                "scheme": scheme,
                "start": now,
                "span": None if due is None else due - now,
                "queued": now,
            }
        elif operation[0] == "remove":
            task_id = f"t{operation[1]}"
            backlog.remove(task_id)
            model.pop(task_id, None)
        else:
            now += operation[1]
            backlog.advance(now)

        for queues in ([q] for q in QUEUES):
            expected = brute_best(model, queues, now)
            actual = backlog.best(queues)
            if expected is None:
                assert actual is None
            else:
                assert actual is not None
                assert (-actual.priority, actual.queued, actual.task_id) == expected
        expected_all = brute_best(model, QUEUES, now)
        actual_all = backlog.best(QUEUES)
        assert (actual_all is None) == (expected_all is None)
        if actual_all is not None:
            assert actual_all.task_id == expected_all[2]
    assert len(backlog) == len(model)


def test_advance_reports_steps() -> None:
    backlog = Backlog()
    standard = RULES.schemes["standard"]
    backlog.add("a", "reception", standard, 0.0, None, 0.0, None, 0.0)

    steps = backlog.advance(3 * 3600.0)

    assert [tuple(step) for step in steps] == [
        ("a", 100, 110, 3600.0),
        ("a", 110, 120, 7200.0),
        ("a", 120, 130, 10800.0),
    ]
    assert backlog.next_change() == 4 * 3600.0


def test_remove_drops_from_queue() -> None:
    backlog = Backlog()
    standard = RULES.schemes["standard"]
    backlog.add("a", "reception", standard, 0.0, None, 0.0, None, 0.0)
    backlog.add("b", "reception", standard, 10.0, None, 10.0, None, 10.0)

    removed = backlog.remove("a")

    assert removed is not None
    assert backlog.head("reception").task_id == "b"
    assert "a" not in backlog


def test_requeue_moves_between_queues() -> None:
    backlog = Backlog()
    standard = RULES.schemes["standard"]
    backlog.add("a", "reception", standard, 0.0, None, 0.0, None, 0.0)
    backlog.add("a", "network", standard, 0.0, None, 0.0, None, 5.0)

    assert backlog.head("reception") is None
    assert backlog.head("network").task_id == "a"
    assert len(backlog) == 1
