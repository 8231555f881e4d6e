"""The validated settings of one process of a shared bucket."""

from __future__ import annotations

import math
import os
import socket
import uuid
from collections.abc import Callable

import attrs


@attrs.frozen(kw_only=True)
class Settings:
    """The consumer name and timing of one process in a shared bucket."""

    consumer: str
    claim_idle: float
    heartbeat_interval: float
    read_block: float
    wall_clock: Callable[[], float]


def milliseconds(seconds: float) -> int:
    """Return *seconds* as whole milliseconds, at least 1, for Redis's BLOCK and min-idle-time."""
    return max(1, round(seconds * 1000))


def _default_consumer() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _check_seconds(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number of seconds > 0, got {value!r}")
    return float(value)


def _check_consumer(consumer: object) -> None:
    if consumer is not None and (not isinstance(consumer, str) or not consumer):
        raise ValueError(f"consumer must be a non-empty str, got {consumer!r}")


def validate_settings(
    consumer: str | None,
    claim_idle: float,
    heartbeat_interval: float | None,
    read_block: float,
    wall_clock: Callable[[], float],
) -> Settings:
    """Check the shared settings, raising ValueError or TypeError that names the bad one."""
    claim_idle = _check_seconds("claim_idle", claim_idle)
    if heartbeat_interval is None:
        heartbeat_interval = claim_idle / 3
    heartbeat_interval = _check_seconds("heartbeat_interval", heartbeat_interval)
    if heartbeat_interval >= claim_idle:
        raise ValueError(
            f"heartbeat_interval ({heartbeat_interval!r}) must be less than claim_idle "
            f"({claim_idle!r}), or other processes take over live tasks; "
            "lower heartbeat_interval or raise claim_idle"
        )
    _check_consumer(consumer)
    return Settings(
        consumer=consumer or _default_consumer(),
        claim_idle=claim_idle,
        heartbeat_interval=heartbeat_interval,
        read_block=_check_seconds("read_block", read_block),
        wall_clock=wall_clock,
    )
