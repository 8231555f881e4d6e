"""SharedExecutor: the local bucket's executor in a shared bucket."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, final

import trio

from .._executor import ExecutorProtocol
from .._records import TaskRecord
from ._entry import OwnedTask

if TYPE_CHECKING:
    from ._bucket import SharedBucket


@final
class SharedExecutor:
    """The local bucket's executor: shows the user's executor shared times and
    lets Redis decide which process runs each outcome hook."""

    def __init__(self, executor: ExecutorProtocol, shared: SharedBucket) -> None:
        self._executor = executor
        self._shared = shared

    def _task(self, record: TaskRecord) -> OwnedTask:
        task = self._shared._local.get(record.id)  # pyright: ignore[reportPrivateUsage]
        assert task is not None, f"no owned task for local task {record.id!r}"
        return task

    async def on_execute(self, task: TaskRecord) -> None:
        await self._executor.on_execute(self._task(task).shared_record(task))

    async def on_finish(self, task: TaskRecord) -> None:
        await self._outcome(task, self._executor.on_finish)

    async def on_execute_error(self, task: TaskRecord, error: Exception) -> None:
        executor = self._executor

        async def hook(record: TaskRecord) -> None:
            await executor.on_execute_error(record, error)

        await self._outcome(task, hook)

    async def on_exhausted(self, task: TaskRecord) -> None:
        await self._outcome(task, self._executor.on_exhausted)

    async def on_panic(self, task: TaskRecord) -> None:
        # The caller of the local bucket's rescue requeues the handed tasks, with
        # a Redis connection that works even under cancellation.
        owned = self._shared._claim_local(task)  # pyright: ignore[reportPrivateUsage]
        if owned is not None:
            self._shared._handed.append(owned)  # pyright: ignore[reportPrivateUsage]
        await trio.lowlevel.checkpoint()

    async def _outcome(
        self, record: TaskRecord, hook: Callable[[TaskRecord], Awaitable[None]]
    ) -> None:
        # The local bucket calls this right after claiming the outcome, before any
        # checkpoint, so the id still maps to this task.
        owned = self._shared._claim_local(record)  # pyright: ignore[reportPrivateUsage]
        if owned is None:
            return  # Handed back or dropped: another process owns its outcome now.
        shared_record = owned.shared_record(record)
        await self._shared._run_outcome(owned, shared_record, hook)  # pyright: ignore[reportPrivateUsage]
