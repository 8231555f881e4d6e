"""Validation of the bucket's configuration and of per-task times."""

from __future__ import annotations

import math

import attrs

from ._records import TaskKind

#: Seconds an outcome hook may run before it is cancelled.
DEFAULT_HOOK_TIMEOUT = 30.0


def check_lifespan(name: str, value: float) -> float:
    """Return *value* as a float if it is a valid lifespan, else raise ValueError."""
    seconds = _as_seconds(name, value)
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"{name} must be a finite number of seconds > 0, got {value!r}")
    return seconds


def check_run_after(name: str, value: float) -> float:
    """Return *value* as a float if it is a valid delay, else raise ValueError."""
    seconds = _as_seconds(name, value)
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}")
    return seconds


def check_run_after_below_lifespan(run_after: float, lifespan: float) -> None:
    """Raise ValueError unless a time bomb can start before its lifespan runs out."""
    if run_after >= lifespan:
        raise ValueError(
            f"run_after ({run_after!r}) must be less than lifespan ({lifespan!r}), "
            "or the task would run out of time before it starts; "
            "lower run_after or raise lifespan"
        )


def check_task_id_and_kind(task_id: object, kind: object) -> None:
    """Raise TypeError or ValueError unless *task_id* and *kind* are valid for a fill."""
    if not isinstance(task_id, str):
        raise TypeError(f"task_id must be a str, got {type(task_id).__name__} {task_id!r}")
    if not task_id:
        raise ValueError("task_id must not be empty")
    if not isinstance(kind, TaskKind):
        raise TypeError(f"kind must be a TaskKind, got {kind!r}")


def check_task_times(
    immediate: bool,
    run_after: float | None,
    lifespan: float | None,
    *,
    default_run_after: float,
    default_lifespan: float,
) -> tuple[float, float]:
    """Return a task's ``(run_after, lifespan)`` in seconds, its own or the defaults.

    Raises ValueError for a run_after given to an immediate task, for times out of
    range, and for a time bomb whose run_after is not below its lifespan.
    """
    task_lifespan = default_lifespan if lifespan is None else check_lifespan("lifespan", lifespan)
    if immediate:
        if run_after is not None:
            raise ValueError(
                f"run_after ({run_after!r}) applies only to time bombs; "
                "pass kind=TaskKind.TIME_BOMB or drop run_after"
            )
        return 0.0, task_lifespan

    task_run_after = (
        default_run_after if run_after is None else check_run_after("run_after", run_after)
    )
    check_run_after_below_lifespan(task_run_after, task_lifespan)
    return task_run_after, task_lifespan


def _as_seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, got {value!r}")
    return float(value)


def _check_max_tasks(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"max_tasks must be an int >= 1, got {value!r}")
    return value


def _check_hook_timeout(value: float) -> float:
    seconds = _as_seconds("hook_timeout", value)
    if not seconds > 0:  # math.inf is allowed: it turns the bound off.
        raise ValueError(f"hook_timeout must be a number of seconds > 0, got {value!r}")
    return seconds


@attrs.frozen(kw_only=True)
class BucketConfig:
    """The validated settings of one bucket."""

    lifespan: float
    run_after: float
    max_tasks: int
    verbose: bool
    hook_timeout: float

    @classmethod
    def validated(
        cls,
        *,
        lifespan: float,
        run_after: float,
        max_tasks: int,
        verbose: bool,
        hook_timeout: float,
    ) -> BucketConfig:
        """Check every setting, raising ValueError or TypeError that names the bad one."""
        checked_lifespan = check_lifespan("lifespan", lifespan)
        checked_run_after = check_run_after("run_after", run_after)
        check_run_after_below_lifespan(checked_run_after, checked_lifespan)
        return cls(
            lifespan=checked_lifespan,
            run_after=checked_run_after,
            max_tasks=_check_max_tasks(max_tasks),
            verbose=bool(verbose),
            hook_timeout=_check_hook_timeout(hook_timeout),
        )
