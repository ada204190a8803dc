"""The waiting items of one routing domain, ranked per queue by current priority.

Each queue is a heap ordered by (highest priority, longest in routing). An
item's priority is a step function of time (see `priority`). So the backlog
keeps a second heap of the moments at which items change priority, and
re-ranks only those items when time passes them. Time passing costs one heap
push per priority step, never a rescan of the backlog. An item whose scheme
runs on a business calendar keeps a `BusinessClock`, so its change moments
are wall-clock instants found by the calendar's table, not by scanning its
hours. Items with the same scheme, start value, span and adjustment share
one `Curve`. Removed and re-ranked items leave stale heap entries behind,
which are skipped when they reach the top and dropped when their queue's
heap is compacted.
"""

from __future__ import annotations

import heapq
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from processors.domain.calendar import MICROSECONDS
from processors.domain.priority import BusinessClock, Curve, curve_clock
from schemas.calendar import Calendar
from schemas.routing import PriorityScheme

__all__ = ["Backlog", "Step", "Waiting"]

# A queue's heap is compacted when it has more than COMPACTION_FACTOR
# entries per live item, plus COMPACTION_SLACK. Each queue is compacted on its
# own, so the pause is bounded by one queue's size, not by the backlog's.
COMPACTION_FACTOR = 2
COMPACTION_SLACK = 64


@dataclass(slots=True)
class Waiting:
    """One waiting item. Times are seconds since the epoch. The curve carries
    the scheme, start value and span, and `clock` is None for a curve on
    wall time. Fields are kept few because a domain may have a million."""

    task_id: str
    queue: str
    start: float
    queued: float
    priority: int
    version: int
    curve: Curve
    clock: BusinessClock | None = None

    @property
    def scheme(self) -> PriorityScheme:
        return self.curve.scheme

    def priority_at(self, now: float) -> int:
        """Return the item's priority at `now`, seconds since the epoch."""
        return self.curve.value(self.elapsed(_micros(now)))

    def elapsed(self, now: int) -> int:
        """Return the curve time at `now`, both in microseconds."""
        if self.clock is None:
            return now - _micros(self.start)
        return self.clock.elapsed(now)

    def instant(self, offset: int) -> int:
        """Return the instant of curve time `offset`, both in microseconds."""
        if self.clock is None:
            return _micros(self.start) + offset
        return self.clock.instant(offset)


class Step(NamedTuple):
    """One step of a waiting item's priority curve."""

    task_id: str
    previous: int
    priority: int
    moment: float


class Backlog:
    def __init__(self) -> None:
        self._items: dict[str, Waiting] = {}
        self._queues: dict[str, list[tuple]] = {}
        # (moment in microseconds since the epoch, task id, version)
        self._changes: list[tuple[int, str, int]] = []
        # Live items per queue.
        self._sizes: dict[str, int] = {}
        self._curves: weakref.WeakValueDictionary = weakref.WeakValueDictionary()

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
        if previous is not None:
            self._sizes[previous.queue] -= 1
        clock = curve_clock(
            calendar, _micros(start), None if due is None else _micros(due)
        )
        item = Waiting(
            task_id=task_id,
            queue=queue,
            start=start,
            queued=queued,
            priority=0,
            version=version,
            curve=self._curve(scheme, initial, clock.span, adjustment),
            clock=clock if isinstance(clock, BusinessClock) else None,
        )
        item.priority = item.priority_at(now)
        self._items[task_id] = item
        self._sizes[queue] = self._sizes.get(queue, 0) + 1
        self._push(item)
        self._schedule_change(item, _micros(now))
        return item

    def remove(self, task_id: str) -> Waiting | None:
        """Take an item out; its heap entries become stale."""
        item = self._items.pop(task_id, None)
        if item is not None:
            self._sizes[item.queue] -= 1
            self._compact_if_sparse(item.queue)
        return item

    def advance(self, now: float) -> list[Step]:
        """Re-rank every item whose priority changed by `now`.

        Each step of each curve is taken at its own moment, so an item that
        stepped twice since the last call is reported twice. Returns the
        steps in time order.
        """
        changed = []
        current = _micros(now)
        while self._changes and self._changes[0][0] <= current:
            moment, task_id, version = heapq.heappop(self._changes)
            item = self._items.get(task_id)
            if item is None or item.version != version:
                continue
            previous = item.priority
            item.priority = item.curve.value(item.elapsed(moment))
            item.version += 1
            self._push(item)
            self._schedule_change(item, moment)
            if item.priority != previous:
                step = Step(task_id, previous, item.priority, moment / MICROSECONDS)
                changed.append(step)
        if len(self._changes) > COMPACTION_FACTOR * len(self._items) + 1024:
            self._compact_changes()
        return changed

    def next_change(self) -> float | None:
        """Return the earliest moment an item's priority changes."""
        while self._changes:
            _, task_id, version = self._changes[0]
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

    def _curve(
        self,
        scheme: PriorityScheme,
        initial: int | None,
        span: int | None,
        adjustment: int,
    ) -> Curve:
        """Return the shared curve of these settings, resolving it once."""
        key = (scheme, initial, span, adjustment)
        try:
            curve = self._curves.get(key)
        except TypeError:  # a scheme that cannot be hashed is not shared
            return Curve(scheme, initial, span, adjustment)
        if curve is None:
            curve = Curve(scheme, initial, span, adjustment)
            self._curves[key] = curve
        return curve

    def _push(self, item: Waiting) -> None:
        entry = (-item.priority, item.queued, item.task_id, item.version)
        heapq.heappush(self._queues.setdefault(item.queue, []), entry)
        self._compact_if_sparse(item.queue)

    def _schedule_change(self, item: Waiting, current: int) -> None:
        """Schedule the item's next priority step after `current` (µs)."""
        offset = item.curve.next_change(item.elapsed(current))
        if offset is not None:
            # The clock maps a later curve time to a later instant, so the
            # moment is after `current`; the bound only guards that invariant.
            moment = max(item.instant(offset), current + 1)
            heapq.heappush(self._changes, (moment, item.task_id, item.version))

    def _compact_if_sparse(self, queue: str) -> None:
        """Drop a queue's stale heap entries once they outnumber its items."""
        heap = self._queues[queue]
        if (
            len(heap)
            <= COMPACTION_FACTOR * self._sizes.get(queue, 0) + COMPACTION_SLACK
        ):
            return
        live = [entry for entry in heap if self._is_live(entry, queue)]
        heapq.heapify(live)
        self._queues[queue] = live

    def _is_live(self, entry: tuple, queue: str) -> bool:
        item = self._items.get(entry[2])
        return item is not None and item.version == entry[3] and item.queue == queue

    def _compact_changes(self) -> None:
        """Drop priority steps of items removed or re-added since."""
        self._changes = [
            entry
            for entry in self._changes
            if (item := self._items.get(entry[1])) is not None
            and item.version == entry[2]
        ]
        heapq.heapify(self._changes)


def _rank(item: Waiting) -> tuple:
    return (-item.priority, item.queued, item.task_id)


def _micros(seconds: float) -> int:
    return round(seconds * MICROSECONDS)
