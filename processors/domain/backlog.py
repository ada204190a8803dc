"""The waiting items of one routing domain, ranked per queue by current priority.

Each queue is a heap ordered by (highest priority, longest in routing). An
item's priority is a step function of time (see `priority`). So the backlog
keeps a second heap of the moments at which items change priority, and
re-ranks only those items when time passes them. Time passing costs one heap
push per priority step, never a rescan of the backlog. Removed
and re-ranked items leave stale heap entries behind, which are skipped when
they reach the top and dropped when the heaps are compacted.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from processors.domain.priority import curve_value, next_change_after
from schemas.routing import PriorityScheme

__all__ = ["Backlog", "Step", "Waiting"]

# A queue's heap is compacted when it holds more than COMPACTION_FACTOR
# entries per live item, plus COMPACTION_SLACK. Each queue is compacted on its
# own, so the pause is bounded by one queue's size, not by the backlog's.
COMPACTION_FACTOR = 2
COMPACTION_SLACK = 64


@dataclass(slots=True)
class Waiting:
    """One waiting item. Times are seconds since the epoch."""

    task_id: str
    queue: str
    scheme: PriorityScheme
    start: float
    span: float | None
    queued: float
    initial: int | None
    priority: int
    version: int


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
        # (moment, task id, version, offset of the moment on the curve)
        self._changes: list[tuple[float, str, int, float]] = []
        # Live items per queue.
        self._sizes: dict[str, int] = {}

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
    ) -> Waiting:
        """Put an item in its queue, replacing any earlier entry of it."""
        previous = self._items.get(task_id)
        version = 0 if previous is None else previous.version + 1
        if previous is not None:
            self._sizes[previous.queue] -= 1
        span = None if due is None else due - start
        priority = curve_value(scheme, initial, now - start, span)
        item = Waiting(
            task_id, queue, scheme, start, span, queued, initial, priority, version
        )
        self._items[task_id] = item
        self._sizes[queue] = self._sizes.get(queue, 0) + 1
        self._push(item)
        self._schedule_change(item, now - start)
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
        stepped twice since the last call is reported twice. Returns each
        step as (item, previous priority, moment), in time order.
        """
        changed = []
        while self._changes and self._changes[0][0] <= now:
            moment, task_id, version, offset = heapq.heappop(self._changes)
            item = self._items.get(task_id)
            if item is None or item.version != version:
                continue
            previous = item.priority
            # The offset, not moment - start, so float rounding cannot land
            # just before the step and schedule the same step again.
            item.priority = curve_value(item.scheme, item.initial, offset, item.span)
            item.version += 1
            self._push(item)
            self._schedule_change(item, offset)
            if item.priority != previous:
                changed.append(Step(task_id, previous, item.priority, moment))
        if len(self._changes) > COMPACTION_FACTOR * len(self._items) + 1024:
            self._compact_changes()
        return changed

    def next_change(self) -> float | None:
        """Return the earliest moment an item's priority changes."""
        while self._changes:
            _, task_id, version, _ = self._changes[0]
            item = self._items.get(task_id)
            if item is not None and item.version == version:
                return self._changes[0][0]
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

    def _push(self, item: Waiting) -> None:
        entry = (-item.priority, item.queued, item.task_id, item.version)
        heap = self._queues.setdefault(item.queue, [])
        heapq.heappush(heap, entry)
        self._compact_if_sparse(item.queue)

    def _schedule_change(self, item: Waiting, elapsed: float) -> None:
        """Schedule the item's next priority step after `elapsed` on its curve."""
        offset = next_change_after(item.scheme, item.initial, elapsed, item.span)
        if offset is not None:
            moment = item.start + offset
            entry = (moment, item.task_id, item.version, offset)
            heapq.heappush(self._changes, entry)

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
