"""Stream entries: one filled task as it travels between processes."""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping
from typing import Any

import attrs

from .._records import TaskKind, TaskRecord


@attrs.frozen
class TaskEntry:
    """One filled task as the streams carry it.

    Times travel as the fill's wall-clock time (seconds since the epoch) plus the
    task's run_after and lifespan, because each process has its own Trio clock.
    A process that takes the entry counts the time already spent from the fill.
    """

    task_id: str
    #: A fresh random value per fill, which distinguishes it from a later fill of the same id.
    token: str
    data: Any
    kind: TaskKind
    run_after: float
    lifespan: float
    filled_wall: float

    def to_fields(self) -> list[str]:
        """Return the entry's field/value pairs, flattened, for XADD."""
        return [
            "id", self.task_id,
            "token", self.token,
            "data", json.dumps(self.data),
            "kind", self.kind.value,
            "run_after", repr(self.run_after),
            "lifespan", repr(self.lifespan),
            "filled_wall", repr(self.filled_wall),
        ]  # fmt: skip

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> TaskEntry:
        """Return the entry that :meth:`to_fields` wrote.

        Raises:
            ValueError: if a field is missing or malformed.
        """
        try:
            return cls(
                task_id=fields["id"],
                token=fields["token"],
                data=json.loads(fields["data"]),
                kind=TaskKind(fields["kind"]),
                run_after=float(fields["run_after"]),
                lifespan=float(fields["lifespan"]),
                filled_wall=float(fields["filled_wall"]),
            )
        except (KeyError, ValueError) as error:
            raise ValueError(f"malformed task entry {dict(fields)!r}: {error!r}") from None


class Where(enum.Enum):
    """The state of a task that this process owns, between taking it and its outcome."""

    #: Taken from a stream; the TAKE script is checking that it is still live.
    CHECKING = enum.auto()
    #: Still live, waiting for room in the local bucket.
    WAITING = enum.auto()
    #: In the local bucket.
    LOCAL = enum.auto()


@attrs.define(eq=False)
class OwnedTask:
    """A task in this process's pending list: its entry and where that entry lives."""

    entry: TaskEntry
    #: The key of the stream that contains the entry.
    stream: str
    #: The entry's id in that stream.
    entry_id: str
    where: Where
    #: Seconds that had passed since the fill when the local bucket got the task.
    elapsed: float = 0.0
    #: A drain arrived while the TAKE script was checking the entry.
    drained: bool = False

    def shared_record(self, local: TaskRecord) -> TaskRecord:
        """Return *local* with its times counted from the original fill, on this clock."""
        filled_at = local.filled_at - self.elapsed
        return attrs.evolve(
            local,
            filled_at=filled_at,
            run_at=filled_at + self.run_after,
            deadline=filled_at + self.entry.lifespan,
        )

    def expired_record(self, now: float, elapsed: float) -> TaskRecord:
        """Return the record of a task whose lifespan ran out before any process took it."""
        filled_at = now - elapsed
        return TaskRecord(
            self.entry.task_id,
            self.entry.data,
            self.entry.kind,
            filled_at,
            filled_at + self.run_after,
            filled_at + self.entry.lifespan,
        )

    @property
    def run_after(self) -> float:
        """float: Seconds from fill to run; zero for an immediate task."""
        return self.entry.run_after if self.entry.kind is TaskKind.TIME_BOMB else 0.0


def times_left(entry: TaskEntry, elapsed: float) -> tuple[float, float]:
    """Return the (run_after, lifespan) still left *elapsed* seconds after the fill.

    The lifespan left may be zero or less: the task is then already exhausted.
    """
    lifespan_left = entry.lifespan - elapsed
    if entry.kind is TaskKind.IMMEDIATE:
        return 0.0, lifespan_left

    run_after_left = max(0.0, entry.run_after - elapsed)
    # Rounding can make the two equal; the bucket needs run_after < lifespan.
    run_after_left = min(run_after_left, math.nextafter(lifespan_left, -math.inf))
    return max(0.0, run_after_left), lifespan_left
