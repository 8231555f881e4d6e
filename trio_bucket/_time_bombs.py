"""The queue of time bombs that are waiting to run.

A waiting time bomb has no Trio task: it is an entry in a heap ordered by its
``run_at``, and one timer task sleeps until the earliest entry is due.
"""

from __future__ import annotations

import heapq
import itertools

from ._handle import TaskHandle, TaskState


class TimeBombQueue:
    """A heap of queued time bombs, earliest ``run_at`` first, ties in fill order."""

    # Invariants: every handle in the queue state is in the heap exactly once.
    # Entries whose handle has left the queue state are stale; they are skipped when
    # popped, and the heap is rebuilt once they outnumber the live entries, so the
    # heap holds at most twice as many entries as there are queued time bombs.

    __slots__ = ("_heap", "_live", "_order")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, TaskHandle]] = []
        self._order = itertools.count()
        self._live = 0

    def __len__(self) -> int:
        return self._live

    def push(self, handle: TaskHandle) -> None:
        """Queue *handle* until its ``run_at``."""
        heapq.heappush(self._heap, (handle.record.run_at, next(self._order), handle))
        self._live += 1

    def discard(self, handle: TaskHandle) -> None:
        """Forget a queued handle that has just left the queue state."""
        self._live -= 1
        if self._live == 0:
            self._heap.clear()
        elif len(self._heap) > 2 * self._live:
            self._heap = [entry for entry in self._heap if entry[2]._state is TaskState.QUEUED]  # pyright: ignore[reportPrivateUsage]
            heapq.heapify(self._heap)

    def clear(self) -> None:
        """Forget every entry."""
        self._heap.clear()
        self._live = 0

    def next_run_at(self) -> float:
        """Return the earliest ``run_at`` of a queued time bomb (inf when none is)."""
        self._drop_stale_head()
        return self._heap[0][0] if self._heap else float("inf")

    def pop_due(self, now: float) -> list[TaskHandle]:
        """Remove and return the queued handles whose ``run_at`` is at or before *now*."""
        due: list[TaskHandle] = []
        self._drop_stale_head()
        while self._heap and self._heap[0][0] <= now:
            due.append(heapq.heappop(self._heap)[2])
            self._live -= 1
            self._drop_stale_head()
        return due

    def _drop_stale_head(self) -> None:
        heap = self._heap
        while heap and heap[0][2]._state is not TaskState.QUEUED:  # pyright: ignore[reportPrivateUsage]
            heapq.heappop(heap)
