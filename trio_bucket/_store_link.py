"""StoreLink: what a bucket writes to its rescue store, and when.

Without a journal the store receives only rescued tasks, and the removal of restored
tasks once they reach an outcome. With a journal every fill is written too, and
every outcome but RESCUED removes the task, so the store always contains every task
that has no outcome yet, apart from the last batch still being written.

Writes are batched: one writer task runs while anything is pending and writes the
removals, then the saves, of everything pending, in one transaction each.
"""

from __future__ import annotations

from collections.abc import Sequence

import trio

from ._records import Outcome, TaskRecord
from ._stores._base import RescueStore


class StoreLink:
    """The batched writer between one bucket and its :class:`RescueStore`."""

    # Invariants: an id is in both _removes and _saves only when an older task with
    # that id awaits removal and a newer one awaits saving. A batch writes removals
    # before saves, so the newer task is the one that stays in the store.

    def __init__(self, store: RescueStore, nursery: trio.Nursery, *, journal: bool) -> None:
        self.store = store
        self.journal = journal
        self._nursery = nursery
        self._saves: dict[str, TaskRecord] = {}
        self._removes: dict[str, None] = {}
        self._restored: set[str] = set()
        self._batches_queued = 0
        self._batches_written = 0
        self._written = trio.lowlevel.ParkingLot()
        self._write_lock = trio.Lock()
        self._writer_running = False
        # The first error a write raised. Its items went back to pending, so a later
        # write can still store them, but no waiter waits for that retry: see wait_written.
        self._failure: BaseException | None = None

    def note_fill(self, record: TaskRecord) -> int:
        """Queue a journaled fill; return the batch number that will contain it."""
        self._saves[record.id] = record
        self._start_writer()
        return self._batches_queued + 1

    def note_restored(self, task_id: str) -> None:
        """Remember that this live task came from the store, so its outcome removes it."""
        self._restored.add(task_id)

    def note_outcome(self, task_id: str, outcome: Outcome) -> None:
        """Queue the removal of a task that reached *outcome*, if the store contains it."""
        if outcome is Outcome.RESCUED:
            return  # rescue() saves it again.
        if task_id in self._restored:
            self._restored.discard(task_id)
        elif not self.journal:
            return
        if self._saves.pop(task_id, None) is None:
            self._removes[task_id] = None
            self._start_writer()

    def is_written(self, batch: int) -> bool:
        """Return whether the given batch has been written."""
        return self._batches_written >= batch

    async def wait_written(self, batch: int) -> bool:
        """Wait until the given batch has been written.

        Returns:
            True once it is written, False if a write failed first.
        """
        while not self.is_written(batch):
            if self._failure is not None:
                return False
            await self._written.park()
        return True

    async def save_rescued(self, records: Sequence[TaskRecord]) -> None:
        """Write pending changes and *records* in one batch, shielded from cancellation."""
        with trio.CancelScope(shield=True):
            for record in records:
                self._saves.pop(record.id, None)
                self._saves[record.id] = record
                self._restored.discard(record.id)
            try:
                await self._write_pending()
            except BaseException:
                # The caller reports this failure; a retry at close would report it twice.
                for record in records:
                    self._saves.pop(record.id, None)
                raise

    async def flush(self) -> None:
        """Write everything pending, shielded from cancellation."""
        with trio.CancelScope(shield=True):
            await self._write_pending()

    def _start_writer(self) -> None:
        if not self._writer_running:
            self._writer_running = True
            self._nursery.start_soon(self._run_writer, name="trio_bucket store writer")

    async def _run_writer(self) -> None:
        try:
            with trio.CancelScope(shield=True):
                # Let the fills of this tick join the batch before it is written.
                await trio.lowlevel.cancel_shielded_checkpoint()
                while self._saves or self._removes:
                    await self._write_pending()
        finally:
            self._writer_running = False

    async def _write_pending(self) -> None:
        async with self._write_lock:
            removes, self._removes = self._removes, {}
            saves, self._saves = self._saves, {}
            self._batches_queued += 1
            batch = self._batches_queued
            try:
                if removes:
                    await self.store.remove(list(removes))
                if saves:
                    await self.store.save(list(saves.values()))
            except BaseException as error:
                self._requeue(removes, saves)
                self._failure = self._failure or error
                self._written.unpark_all()
                raise
            self._batches_written = batch
            self._written.unpark_all()

    def _requeue(self, removes: dict[str, None], saves: dict[str, TaskRecord]) -> None:
        # Put a failed batch back, under anything queued since, so a retry writes it.
        self._removes = removes | self._removes
        for task_id, record in saves.items():
            self._saves.setdefault(task_id, record)
