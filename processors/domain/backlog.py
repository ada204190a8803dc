"""The waiting items of one routing domain, ranked per queue by current priority.

Each queue is a heap ordered by (highest priority, longest in routing). An
item's priority is a step function of time (see `priority`). So the backlog
keeps a second heap of the moments at which items change priority, and
re-ranks only those items when time passes them. Time passing costs one heap
push per priority step, never a rescan of the backlog. An item whose scheme
runs on a business calendar keeps a `BusinessClock`, so its change moments
are wall-clock instants found by the calendar's table, not by scanning
its hours. Removed
and re-ranked items leave stale heap entries behind, which are skipped when
they reach the top and dropped when the heaps are compacted.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from processors.domain.calendar import MICROSECONDS
from processors.domain.priority import BusinessClock, Curve, WallClock, curve_clock
from schemas.calendar import Calendar
from schemas.routing import PriorityScheme

__all__ = ["Backlog", "Waiting"]

# Compact when stale heap entries outnumber live items by this factor.
COMPACTION_FACTOR = 2


@dataclass(slots=True)
class Waiting:
    """One waiting item. Times are seconds since the epoch; `span` is the
    curve time from the start to the due date, in seconds."""

    task_id: str
    queue: str
    scheme: PriorityScheme
    start: float
    span: float | None
    queued: float
    initial: int | None
    priority: int
    version: int
    adjustment: int = 0
    calendar: Calendar | None = None
    curve: Curve | None = None
    clock: WallClock | BusinessClock | None = None

    def priority_at(self, now: float) -> int:
        """Return the item's priority at `now`, seconds since the epoch."""
        return self.curve.value(self.clock.elapsed(_micros(now)))


class Backlog:
    def __init__(self) -> None:
        self._items: dict[str, Waiting] = {}
        self._queues: dict[str, list[tuple]] = {}
        # (moment in microseconds since the epoch, sequence, task id, version)
        self._changes: list[tuple[int, int, str, int]] = []
        self._sequence = itertools.count()
        self._entries = 0

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, task_id: str) -> bool:
        return task_id in self._items

    def __iter__(self) -> Iterator[Waiting]:
        return iter(self._items.values())

    def get(self, task_id: str) -> Waiting | None:
        return self._items.get(task_id)

    def queue_names(self) -> list[str]:
        return list(self._queues)

    def add(
        self,
        task_id: str,
        queue: str,
        scheme: PriorityScheme,
        start: float,
        due: float | None,
        queued: float,
        initial: int | None,
        now: float,
        *,
        adjustment: int = 0,
        calendar: Calendar | None = None,
    ) -> Waiting:
        """Put an item in its queue, replacing any earlier entry of it.

        `adjustment` is added to the start priority; with `calendar`, the
        curve runs on that calendar's open time (see `priority`).
        """
        previous = self._items.get(task_id)
        version = 0 if previous is None else previous.version + 1
        clock = curve_clock(
            calendar, _micros(start), None if due is None else _micros(due)
        )
        curve = Curve(scheme, initial, clock.span, adjustment)
        item = Waiting(
            task_id=task_id,
            queue=queue,
            scheme=scheme,
            start=start,
            span=None if clock.span is None else clock.span / MICROSECONDS,
            queued=queued,
            initial=initial,
            priority=curve.value(clock.elapsed(_micros(now))),
            version=version,
            adjustment=adjustment,
            calendar=calendar,
            curve=curve,
            clock=clock,
        )
        self._items[task_id] = item
        self._push(item)
        self._schedule_change(item, now)
        return item

    def remove(self, task_id: str) -> Waiting | None:
        """Take an item out; its heap entries become stale."""
        item = self._items.pop(task_id, None)
        if item is not None and len(self._items) * COMPACTION_FACTOR < self._entries:
            self._compact()
        return item

    def advance(self, now: float) -> list[tuple[Waiting, int]]:
        """Re-rank every item whose priority changed by `now`.

        Returns each changed item with its previous priority, in time order.
        """
        changed = []
        current = _micros(now)
        while self._changes and self._changes[0][0] <= current:
            _, _, task_id, version = heapq.heappop(self._changes)
            item = self._items.get(task_id)
            if item is None or item.version != version:
                continue
            previous = item.priority
            item.priority = item.priority_at(now)
            item.version += 1
            self._push(item)
            self._schedule_change(item, now)
            if item.priority != previous:
                changed.append((item, previous))
        if len(self._items) * COMPACTION_FACTOR < self._entries:
            self._compact()
        return changed

    def next_change(self) -> float | None:
        """Return the earliest moment an item's priority changes."""
        while self._changes:
            _, _, task_id, version = self._changes[0]
            item = self._items.get(task_id)
            if item is not None and item.version == version:
                return self._changes[0][0] / MICROSECONDS
            heapq.heappop(self._changes)
        return None

    def head(self, queue: str) -> Waiting | None:
        """Return the best item of a queue, dropping stale entries on the way."""
        heap = self._queues.get(queue)
        while heap:
            _, _, task_id, version = heap[0]
            item = self._items.get(task_id)
            if item is not None and item.version == version and item.queue == queue:
                return item
            heapq.heappop(heap)
            self._entries -= 1
        return None

    def best(self, queues: Iterable[str]) -> Waiting | None:
        """Return the best head among `queues`: highest priority, then longest
        in routing, then task id."""
        best: Waiting | None = None
        for queue in queues:
            item = self.head(queue)
            if item is not None and (best is None or _rank(item) < _rank(best)):
                best = item
        return best

    def ranked(self, queue: str) -> list[Waiting]:
        """Return a queue's live items, best first (for inspection, not routing)."""
        items = [item for item in self._items.values() if item.queue == queue]
        return sorted(items, key=_rank)

    def _push(self, item: Waiting) -> None:
        entry = (-item.priority, item.queued, item.task_id, item.version)
        heapq.heappush(self._queues.setdefault(item.queue, []), entry)
        self._entries += 1

    def _schedule_change(self, item: Waiting, now: float) -> None:
        current = _micros(now)
        offset = item.curve.next_change(item.clock.elapsed(current))
        if offset is not None:
            # The clock maps a later curve time to a later instant, so the
            # moment is after `now`; the bound only guards that invariant.
            moment = max(item.clock.instant(offset), current + 1)
            entry = (moment, next(self._sequence), item.task_id, item.version)
            heapq.heappush(self._changes, entry)

    def _compact(self) -> None:
        """Rebuild the heaps from the live items only."""
        for name in self._queues:
            self._queues[name] = []
        self._entries = 0
        for item in self._items.values():
            self._push(item)
        self._changes = [
            entry
            for entry in self._changes
            if (item := self._items.get(entry[2])) is not None
            and item.version == entry[3]
        ]
        heapq.heapify(self._changes)


def _rank(item: Waiting) -> tuple:
    return (-item.priority, item.queued, item.task_id)


def _micros(seconds: float) -> int:
    return round(seconds * MICROSECONDS)
