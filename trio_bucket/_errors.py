"""Exceptions raised by the bucket."""

from __future__ import annotations

import trio


class BucketError(Exception):
    """Base class of every error that trio_bucket raises on purpose.

    .. versionadded:: 0.1
    """


class BucketFullError(BucketError, trio.WouldBlock):
    """Raised by :meth:`Bucket.fill_nowait` when ``max_tasks`` tasks are live.

    It is a :exc:`trio.WouldBlock`, after Trio's ``X`` / ``X_nowait`` convention:
    :meth:`Bucket.fill` waits for room instead.

    .. versionadded:: 0.1
    """


class DuplicateTaskError(BucketError):
    """Raised when a live task already has the id being filled.

    .. versionadded:: 0.1
    """


class TaskNotFoundError(BucketError, KeyError):
    """Raised when no live task has the given id.

    A task that has already reached its outcome is no longer live, so draining it
    raises this error too.

    .. versionadded:: 0.1
    """

    def __str__(self) -> str:
        # KeyError quotes its argument; this error carries a sentence instead.
        return str(self.args[0]) if self.args else ""


class BucketClosedError(BucketError):
    """Raised when a task is filled after the bucket's ``async with`` block has exited.

    .. versionadded:: 0.1
    """
