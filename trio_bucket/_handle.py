"""TaskHandle: the bucket's own entry for one task, and the caller's view of it."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, final

import trio

from ._records import Outcome, TaskRecord

if TYPE_CHECKING:
    from ._bucket import Bucket


class TaskState(enum.Enum):
    """The stage of a task's life. Only the bucket moves a task between states."""

    #: A time bomb in the time-bomb queue: no Trio task exists for it yet.
    QUEUED = enum.auto()
    #: Handed to the nursery; ``on_execute`` has not been called yet.
    STARTING = enum.auto()
    #: ``on_execute`` is running inside the task's cancel scope.
    RUNNING = enum.auto()
    #: The outcome is claimed; the outcome hook may still be running.
    SETTLED = enum.auto()


@final
class TaskHandle:
    """A filled task, returned by :meth:`Bucket.fill` and :meth:`Bucket.fill_nowait`.

    A handle stays valid after the task ends, and stays bound to this task even if
    its id is filled again later.

    .. versionadded:: 0.1
    """

    __slots__ = (
        "_bucket",
        "_done",
        "_event",
        "_heap_index",
        "_heap_key",
        "_journal_batch",
        "_outcome",
        "_record",
        "_scope",
        "_state",
    )

    def __init__(self, bucket: Bucket, record: TaskRecord, state: TaskState) -> None:
        self._bucket = bucket
        self._record = record
        self._state = state
        self._outcome: Outcome | None = None
        self._scope: trio.CancelScope | None = None
        # Set when the outcome hook has returned; the event is made only for waiters.
        self._done = False
        self._event: trio.Event | None = None
        # While the handle is queued as a time bomb: its position in the heap, and
        # its sort key there, (run_at, fill order).
        self._heap_index = -1
        self._heap_key: tuple[float, int] = (0.0, 0)
        # With a journal, the store batch that must be written before on_execute runs.
        self._journal_batch = 0

    def __repr__(self) -> str:
        return f"<TaskHandle id={self._record.id!r} outcome={self._outcome}>"

    @property
    def id(self) -> str:
        """str: The task's id."""
        return self._record.id

    @property
    def record(self) -> TaskRecord:
        """TaskRecord: The task's immutable record."""
        return self._record

    @property
    def outcome(self) -> Outcome | None:
        """Outcome or None: The task's outcome, or None while the task is live."""
        return self._outcome

    async def wait(self) -> Outcome:
        """Wait until the task has reached its outcome and its outcome hook has returned.

        Returns:
            The task's :class:`Outcome`.
        """
        if self._done:
            await trio.lowlevel.checkpoint()
        else:
            if self._event is None:
                self._event = trio.Event()
            await self._event.wait()

        assert self._outcome is not None
        return self._outcome

    def drain(self) -> TaskRecord:
        """Cancel this task, as :meth:`Bucket.drain` does for its id.

        Raises:
            TaskNotFoundError: if the task has already reached its outcome.
        """
        return self._bucket._drain_handle(self)  # pyright: ignore[reportPrivateUsage]

    def _mark_done(self) -> None:
        self._done = True
        if self._event is not None:
            self._event.set()
