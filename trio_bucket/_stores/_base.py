"""The RescueStore interface, and the encoding that every store shares.

A TaskRecord's times are on the Trio clock of one run, so a store cannot keep them
as they are. It keeps them relative to the moment of saving instead, and
:func:`decode_record` shifts them onto the clock of the loading run. The clock
therefore stops while a task sits in a store: a task rescued with 3 seconds of
lifespan left has 3 seconds left when it is restored, however long it waited.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import trio

from .._records import TaskKind, TaskRecord


@runtime_checkable
class RescueStore(Protocol):
    """Storage for rescued tasks, so that a later run can redo them.

    .. versionadded:: 0.1
    """

    async def save(self, records: Sequence[TaskRecord]) -> None:
        """Store *records* in one transaction, replacing any stored task with the same id."""

    async def load(self) -> list[TaskRecord]:
        """Return every stored task, in the order saved, with times on the current clock."""
        ...

    async def remove(self, task_ids: Sequence[str]) -> None:
        """Delete the stored tasks with these ids, in one transaction; unknown ids are ignored."""

    async def aclose(self) -> None:
        """Release the store's connection."""


def check_json_data(task_id: str, data: Any) -> None:
    """Raise TypeError unless *data* can be stored as JSON.

    A bucket with a store calls this at fill time, so that data which cannot be
    stored is rejected then, never lost at rescue time.
    """
    try:
        json.dumps(data)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"data of task {task_id!r} cannot be stored as JSON ({error}); "
            "a bucket with a rescue store needs JSON data: dicts, lists, str, numbers, "
            "bool and None"
        ) from None


def encode_record(record: TaskRecord, now: float) -> dict[str, Any]:
    """Return *record* as a JSON-ready dict, its times relative to *now*."""
    return {
        "id": record.id,
        "data": record.data,
        "kind": record.kind.value,
        "filled_at": record.filled_at - now,
        "run_at": record.run_at - now,
        "deadline": record.deadline - now,
        "saved_at": time.time(),
    }


def decode_record(fields: dict[str, Any], now: float) -> TaskRecord:
    """Return the record that :func:`encode_record` encoded, its times shifted onto *now*."""
    return TaskRecord(
        id=fields["id"],
        data=fields["data"],
        kind=TaskKind(fields["kind"]),
        filled_at=now + fields["filled_at"],
        run_at=now + fields["run_at"],
        deadline=now + fields["deadline"],
    )


def current_time() -> float:
    """Return the Trio clock's time, the *now* that stores encode against."""
    return trio.current_time()
