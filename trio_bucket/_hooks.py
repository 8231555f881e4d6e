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
    with trio.CancelScope(shield=True, deadline=trio.current_time() + seconds) as scope:
        try:
            await hook()
        except Exception:
            _log_hook_error(hook_name, task_id)
            return False

    if scope.cancelled_caught:
        _log_hook_timeout(hook_name, task_id, seconds)
        return False
    return True


async def call_hook_in_scope(
    scope: trio.CancelScope,
    hook: Callable[[], Awaitable[None]],
    *,
    hook_name: str,
    task_id: str,
    seconds: float,
) -> bool:
    """Await *hook* inside *scope*, which the caller has entered, as :func:`call_hook` does.

    This shields *scope* and moves its deadline to *seconds* from now, which costs
    less than entering a new scope. *scope* must not be cancelled yet, because a
    cancelled scope stays cancelled. If the hook times out, this logs it and lets
    :exc:`trio.Cancelled` propagate for *scope* to catch when the caller's block exits.

    Returns:
        True if the hook returned normally, False if it raised.
    """
    scope.shield = True
    scope.deadline = trio.current_time() + seconds
    try:
        await hook()
    except trio.Cancelled:
        # Shielded, the hook can be cancelled only by this scope's deadline.
        _log_hook_timeout(hook_name, task_id, seconds)
        raise
    except Exception:
        _log_hook_error(hook_name, task_id)
        return False
    return True


def _log_hook_error(hook_name: str, task_id: str) -> None:
    logger.exception("%s hook failed for task %r", hook_name, task_id)


def _log_hook_timeout(hook_name: str, task_id: str, seconds: float) -> None:
    logger.error(
        "%s hook for task %r timed out after %s seconds and was cancelled; "
        "raise hook_timeout if it needs longer",
        hook_name,
        task_id,
        seconds,
    )
