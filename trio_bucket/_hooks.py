"""Calling outcome hooks: shielded, bounded by the hook timeout, errors logged."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import trio

logger = logging.getLogger("trio_bucket")


async def call_hook(
    hook: Callable[[], Awaitable[None]], *, hook_name: str, task_id: str, seconds: float
) -> bool:
    """Await *hook* shielded from outside cancellation and bounded by *seconds*.

    An exception from the hook cannot be raised without harming other tasks, so it
    is logged with the task id and its traceback instead.

    Returns:
        True if the hook returned normally, False if it raised or timed out.
    """
    with trio.CancelScope(shield=True) as scope:
        scope.deadline = trio.current_time() + seconds
        try:
            await hook()
        except Exception:
            logger.exception("%s hook failed for task %r", hook_name, task_id)
            return False

    if scope.cancelled_caught:
        logger.error(
            "%s hook for task %r timed out after %s seconds and was cancelled; "
            "raise hook_timeout if it needs longer",
            hook_name,
            task_id,
            seconds,
        )
        return False
    return True
