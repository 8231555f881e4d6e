"""The executor: the five async hooks that live a task's life."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ._records import TaskRecord


@runtime_checkable
class ExecutorProtocol(Protocol):
    """The five async hooks that a bucket calls. Any object that has them works.

    .. versionadded:: 0.1
    """

    async def on_execute(self, task: TaskRecord) -> None:
        """Do the task's work, inside the task's cancel scope."""

    async def on_finish(self, task: TaskRecord) -> None:
        """Handle a task whose :meth:`on_execute` returned."""

    async def on_execute_error(self, task: TaskRecord, error: Exception) -> None:
        """Handle a task whose :meth:`on_execute` raised *error*."""

    async def on_exhausted(self, task: TaskRecord) -> None:
        """Handle a task whose lifespan ran out; :meth:`on_execute` was cancelled."""

    async def on_panic(self, task: TaskRecord) -> None:
        """Handle a rescued task, for example by storing it to run again later."""


class Executor:
    """A base class whose five hooks do nothing; override the ones you need.

    :meth:`on_execute` runs inside the task's cancel scope, whose deadline is the
    end of the lifespan. The four outcome hooks run once ``on_execute`` has ended,
    shielded from cancellation (drain, rescue, the lifespan and the bucket's own)
    and bounded by the bucket's ``hook_timeout``, so they can await (to save the
    task, say). At most one outcome hook runs for
    each task, and none for a drained task.

    .. versionadded:: 0.1
    """

    async def on_execute(self, task: TaskRecord) -> None:
        """Do the task's work. The default does nothing, so the task finishes."""

    async def on_finish(self, task: TaskRecord) -> None:
        """Handle a task whose :meth:`on_execute` returned."""

    async def on_execute_error(self, task: TaskRecord, error: Exception) -> None:
        """Handle a task whose :meth:`on_execute` raised *error*."""

    async def on_exhausted(self, task: TaskRecord) -> None:
        """Handle a task whose lifespan ran out; :meth:`on_execute` was cancelled."""

    async def on_panic(self, task: TaskRecord) -> None:
        """Handle a rescued task, for example by storing it to run again later."""
