"""The queue of time bombs that are waiting to run.

A waiting time bomb has no Trio task: it is an entry in a heap ordered by its
``run_at``, and one timer task sleeps until the earliest entry is due.
"""

# The queue keeps its bookkeeping in private slots of TaskHandle.
# pyright: reportPrivateUsage=false

from __future__ import annotations

import itertools

from ._handle import TaskHandle


class TimeBombQueue:
    """A binary heap of queued time bombs, earliest ``run_at`` first, ties in fill order.

    Each queued handle stores its position in the heap, so removing any one of
    them takes O(log n) steps: a drain never pauses to rebuild the heap.
    """

    # Invariants: the heap contains exactly the handles in the queued state. For
    # each of them, handle._heap_index is its position, and handle._heap_key, a
    # (run_at, fill order) pair, is no less than its parent's.

    __slots__ = ("_heap", "_order")

    def __init__(self) -> None:
        self._heap: list[TaskHandle] = []
        self._order = itertools.count()

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, handle: TaskHandle) -> None:
        """Queue *handle* until its ``run_at``."""
        handle._heap_key = (handle.record.run_at, next(self._order))
        self._heap.append(handle)
        self._sift_up(len(self._heap) - 1)

    def discard(self, handle: TaskHandle) -> None:
        """Remove a handle that has just left the queue state, if it is still queued."""
        index = handle._heap_index
        heap = self._heap
        if index < len(heap) and heap[index] is handle:
            self._remove_at(index)

    def clear(self) -> None:
        """Forget every entry."""
        self._heap.clear()

    def next_run_at(self) -> float:
        """Return the earliest ``run_at`` of a queued time bomb (inf when none is)."""
        return self._heap[0]._heap_key[0] if self._heap else float("inf")

    def pop_due(self, now: float) -> list[TaskHandle]:
        """Remove and return the queued handles whose ``run_at`` is at or before *now*."""
        due: list[TaskHandle] = []
        heap = self._heap
        while heap and heap[0]._heap_key[0] <= now:
            due.append(heap[0])
            self._remove_at(0)
        return due

    def _remove_at(self, index: int) -> None:
        heap = self._heap
        last = heap.pop()
        if index == len(heap):
            return
        heap[index] = last
        last._heap_index = index
        if index > 0 and last._heap_key < heap[(index - 1) >> 1]._heap_key:
            self._sift_up(index)
        else:
            self._sift_down(index)

    def _sift_up(self, index: int) -> None:
        heap = self._heap
        handle = heap[index]
        key = handle._heap_key
        while index > 0:
            parent_index = (index - 1) >> 1
            parent = heap[parent_index]
            if parent._heap_key <= key:
                break
            heap[index] = parent
            parent._heap_index = index
            index = parent_index
        heap[index] = handle
        handle._heap_index = index

    def _sift_down(self, index: int) -> None:
        heap = self._heap
        size = len(heap)
        handle = heap[index]
        key = handle._heap_key
        while True:
            child_index = 2 * index + 1
            if child_index >= size:
                break
            child = heap[child_index]
            right_index = child_index + 1
            if right_index < size and heap[right_index]._heap_key < child._heap_key:
                child_index = right_index
                child = heap[right_index]
            if key <= child._heap_key:
                break
            heap[index] = child
            child._heap_index = index
            index = child_index
        heap[index] = handle
        handle._heap_index = index
