"""Plain data: task kinds, outcomes, task records and statistics."""

from __future__ import annotations

import enum
from typing import Any

import attrs


class TaskKind(enum.Enum):
    """When a task starts running.

    .. versionadded:: 0.1
    """

    #: Runs as soon as it is filled; ``run_after`` does not apply.
    IMMEDIATE = "immediate"
    #: Runs ``run_after`` seconds after it is filled.
    TIME_BOMB = "time_bomb"


class Outcome(enum.Enum):
    """The way a task ended. Every filled task reaches exactly one outcome.

    .. versionadded:: 0.1
    """

    #: ``on_execute`` returned; ``on_finish`` ran.
    FINISHED = "finished"
    #: ``on_execute`` raised an :exc:`Exception`; ``on_execute_error`` ran.
    FAILED = "failed"
    #: The lifespan ran out first; ``on_exhausted`` ran.
    EXHAUSTED = "exhausted"
    #: :meth:`Bucket.drain` cancelled the task; no hook ran.
    DRAINED = "drained"
    #: :meth:`Bucket.rescue` cancelled the task; ``on_panic`` ran.
    RESCUED = "rescued"


@attrs.frozen
class TaskRecord:
    """An immutable description of one filled task.

    Times are in seconds on the Trio clock (:func:`trio.current_time`), so they
    are comparable only within one :func:`trio.run`.

    .. versionadded:: 0.1
    """

    #: str: The task's id, unique among the live tasks of its bucket.
    id: str
    #: The value passed to :meth:`Bucket.fill`, handed to every hook.
    data: Any
    #: TaskKind: Whether the task ran at once or after ``run_after``.
    kind: TaskKind
    #: float: When the task was filled.
    filled_at: float
    #: float: When ``on_execute`` is due to start.
    run_at: float
    #: float: When the lifespan runs out: ``filled_at + lifespan``.
    deadline: float

    @property
    def lifespan(self) -> float:
        """float: Seconds from fill to :attr:`deadline`."""
        return self.deadline - self.filled_at

    @property
    def run_after(self) -> float:
        """float: Seconds from fill to :attr:`run_at`; zero for an immediate task."""
        return self.run_at - self.filled_at


@attrs.frozen(kw_only=True)
class BucketStatistics:
    """A snapshot of a bucket's counters, returned by :meth:`Bucket.statistics`.

    The outcome counters count since the bucket was opened.

    .. versionadded:: 0.1
    """

    #: int: Tasks filled and not yet at their outcome: ``waiting + running``.
    live: int
    #: int: Live tasks whose ``on_execute`` has not started.
    waiting: int
    #: int: Live tasks whose ``on_execute`` is running.
    running: int
    #: int: The bucket's ``max_tasks``.
    max_tasks: int
    #: int: Tasks filled since the bucket opened.
    filled: int
    #: int: Tasks that reached :attr:`Outcome.FINISHED`.
    finished: int
    #: int: Tasks that reached :attr:`Outcome.FAILED`.
    failed: int
    #: int: Tasks that reached :attr:`Outcome.EXHAUSTED`.
    exhausted: int
    #: int: Tasks that reached :attr:`Outcome.DRAINED`.
    drained: int
    #: int: Tasks that reached :attr:`Outcome.RESCUED`.
    rescued: int
    #: int: Outcome hooks still running.
    hooks_running: int
    #: int: Hook calls that raised an exception or timed out.
    hook_errors: int
