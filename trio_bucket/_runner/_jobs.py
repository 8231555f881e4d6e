"""Parsing of job lines: one JSON object per line, a task or a drain.

A task line is ``{"id": ..., "data": ..., "kind": ..., "run_after": ..., "lifespan": ...}``
with only ``id`` required; a line with ``run_after`` and no ``kind`` is a time bomb.
A drain line is ``{"drain": ID}``. Every check happens here, before the bucket receives
the task, so that an error can name the line and the fix.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import attrs

from .._records import TaskKind

_TASK_KEYS = frozenset({"id", "data", "kind", "run_after", "lifespan"})
_KINDS = {kind.value: kind for kind in TaskKind}


class JobLineError(ValueError):
    """A job line that cannot be acted on; the message states what to fix."""


@attrs.frozen
class TaskLine:
    """A task to fill, as one job line gave it."""

    task_id: str
    data: Any
    kind: TaskKind
    run_after: float | None
    lifespan: float | None


@attrs.frozen
class DrainLine:
    """A request to drain the live task with this id."""

    task_id: str


@attrs.frozen
class TaskDefaults:
    """The run's ``--run-after`` and ``--lifespan``, for checking time bombs."""

    run_after: float
    lifespan: float


def parse_job_line(
    text: bytes,
    defaults: TaskDefaults,
    check_data: Callable[[Any], None] | None = None,
) -> TaskLine | DrainLine:
    """Parse one job line.

    Args:
        text: The line, without its line break.
        defaults: The times that a task line without its own times gets.
        check_data: Raises ValueError, with a message naming the problem, unless
            the executor can run this task data.

    Raises:
        JobLineError: if the line is not a valid task or drain; the message states
            what is wrong and how to fix it.
    """
    fields = _decode_object(text)
    if "drain" in fields:
        return _parse_drain(fields)

    return _parse_task(fields, defaults, check_data)


def _decode_object(text: bytes) -> dict[str, Any]:
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as error:
        raise JobLineError(f"invalid UTF-8 at byte {error.start}; save the file as UTF-8") from None

    try:
        value = json.loads(decoded)
    except json.JSONDecodeError as error:
        raise JobLineError(
            f"invalid JSON ({error.msg} at column {error.colno}); "
            'write one JSON object per line, like {"id": "a", "data": ...}'
        ) from None

    if not isinstance(value, dict):
        raise JobLineError(
            f"expected a JSON object, got {_json_type(value)}; "
            'write a task as {"id": ...} or a drain as {"drain": ID}'
        )
    return value  # pyright: ignore[reportUnknownVariableType]


def _parse_drain(fields: dict[str, Any]) -> DrainLine:
    other_keys = sorted(set(fields) - {"drain"})
    if other_keys:
        raise JobLineError(
            f"a drain line has only the key 'drain', got also {_names(other_keys)}; "
            "put the drain and the task on separate lines"
        )
    return DrainLine(_check_id(fields["drain"], "drain"))


def _parse_task(
    fields: dict[str, Any],
    defaults: TaskDefaults,
    check_data: Callable[[Any], None] | None,
) -> TaskLine:
    unknown = sorted(set(fields) - _TASK_KEYS)
    if unknown:
        raise JobLineError(
            f"unknown key {_names(unknown)}; a task line has the keys "
            f"{_names(sorted(_TASK_KEYS))}, and a drain line has only 'drain'"
        )
    if "id" not in fields:
        raise JobLineError('missing "id"; give every task a unique string id, like {"id": "a"}')

    task_id = _check_id(fields["id"], "id")
    data = fields.get("data")
    run_after = _seconds(fields, "run_after", minimum_allowed=True)
    lifespan = _seconds(fields, "lifespan", minimum_allowed=False)
    kind = _kind(fields, run_after)
    if kind is TaskKind.TIME_BOMB:
        _check_run_after_below_lifespan(run_after, lifespan, defaults)
    if check_data is not None:
        try:
            check_data(data)
        except ValueError as error:
            raise JobLineError(str(error)) from None
    return TaskLine(task_id, data, kind, run_after, lifespan)


def _check_id(value: object, key: str) -> str:
    if not isinstance(value, str) or not value:
        raise JobLineError(f'"{key}" must be a non-empty string, got {json.dumps(value)}')
    return value


def _seconds(fields: dict[str, Any], key: str, *, minimum_allowed: bool) -> float | None:
    if key not in fields:
        return None

    value = fields[key]
    rule = ">= 0" if minimum_allowed else "> 0"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise JobLineError(f'"{key}" must be a number of seconds {rule}, got {json.dumps(value)}')

    seconds = float(value)
    valid = seconds >= 0 if minimum_allowed else seconds > 0
    if not (math.isfinite(seconds) and valid):
        raise JobLineError(f'"{key}" must be a finite number of seconds {rule}, got {value!r}')
    return seconds


def _kind(fields: dict[str, Any], run_after: float | None) -> TaskKind:
    if "kind" not in fields:
        return TaskKind.IMMEDIATE if run_after is None else TaskKind.TIME_BOMB

    name = fields["kind"]
    kind = _KINDS.get(name) if isinstance(name, str) else None
    if kind is None:
        raise JobLineError(
            f'unknown "kind" {json.dumps(name)}; use "immediate" or "time_bomb", '
            'or leave it out: a task with "run_after" is a time bomb, any other is immediate'
        )
    if kind is TaskKind.IMMEDIATE and run_after is not None:
        raise JobLineError(
            '"run_after" applies only to time bombs; drop it, or set "kind": "time_bomb"'
        )
    return kind


def _check_run_after_below_lifespan(
    run_after: float | None, lifespan: float | None, defaults: TaskDefaults
) -> None:
    effective_run_after = defaults.run_after if run_after is None else run_after
    effective_lifespan = defaults.lifespan if lifespan is None else lifespan
    if effective_run_after >= effective_lifespan:
        raise JobLineError(
            f"time bomb run_after ({effective_run_after:g} s) must be less than its "
            f"lifespan ({effective_lifespan:g} s), or it runs out of time before it "
            'starts; lower "run_after" or raise "lifespan"'
        )


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"


def _names(keys: list[str]) -> str:
    return ", ".join(repr(key) for key in keys)
