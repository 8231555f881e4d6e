"""Executors for the tests: they record every hook call on the Trio clock."""

from __future__ import annotations

from typing import Any

import trio

from trio_bucket import Executor, TaskRecord


class RecordingExecutor(Executor):
    """Records each hook call as ``(time, hook, task id)``.

    ``task.data`` steers ``on_execute``: a dict whose ``"sleep"`` is seconds to
    sleep, and whose ``"error"`` is an exception (or ``"fail"`` a message for a
    RuntimeError, which JSON can carry) to raise after that. Any other data
    finishes at once.
    """

    def __init__(self) -> None:
        self.events: list[tuple[float, str, str]] = []
        self.errors: dict[str, Exception] = {}

    def _record(self, hook: str, task: TaskRecord) -> None:
        self.events.append((trio.current_time(), hook, task.id))

    def hooks_of(self, task_id: str) -> list[str]:
        """Return the names of the hooks called for *task_id*, in order."""
        return [hook for _, hook, event_id in self.events if event_id == task_id]

    def times_of(self, task_id: str) -> dict[str, float]:
        """Return when each hook was called for *task_id*."""
        return {hook: at for at, hook, event_id in self.events if event_id == task_id}

    async def on_execute(self, task: TaskRecord) -> None:
        self._record("on_execute", task)
        steps: Any = task.data if isinstance(task.data, dict) else {}
        if "sleep" in steps:
            await trio.sleep(steps["sleep"])
        if "error" in steps:
            raise steps["error"]
        if "fail" in steps:
            raise RuntimeError(steps["fail"])

    async def on_finish(self, task: TaskRecord) -> None:
        self._record("on_finish", task)

    async def on_execute_error(self, task: TaskRecord, error: Exception) -> None:
        self._record("on_execute_error", task)
        self.errors[task.id] = error

    async def on_exhausted(self, task: TaskRecord) -> None:
        self._record("on_exhausted", task)

    async def on_panic(self, task: TaskRecord) -> None:
        self._record("on_panic", task)


def sleeps(seconds: float) -> dict[str, Any]:
    """Return task data that makes on_execute sleep for *seconds*."""
    return {"sleep": seconds}


def raises(error: Exception, after: float = 0.0) -> dict[str, Any]:
    """Return task data that makes on_execute raise *error* after *after* seconds."""
    return {"sleep": after, "error": error}
