"""open_bucket: the async context manager that owns a bucket's nursery."""

from __future__ import annotations

import sys
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import cast, final

import trio

from ._bucket import Bucket
from ._config import DEFAULT_HOOK_TIMEOUT, BucketConfig
from ._executor import ExecutorProtocol
from ._hooks import logger
from ._store_link import StoreLink
from ._stores._base import RescueStore

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup


def open_bucket(
    executor: ExecutorProtocol,
    *,
    lifespan: float = 5.0,
    run_after: float = 1.0,
    max_tasks: int = 1024,
    verbose: bool = False,
    hook_timeout: float = DEFAULT_HOOK_TIMEOUT,
    store: RescueStore | None = None,
    journal: bool = False,
) -> AbstractAsyncContextManager[Bucket]:
    """Open a bucket of background tasks, run by *executor*'s hooks.

    Leaving the ``async with`` block normally waits until every task has reached
    its outcome and every outcome hook has returned. Leaving it with an exception,
    or through cancellation from outside, rescues every live task first (each gets
    ``on_panic``), then lets that exception propagate as itself.

    Args:
        executor: An :class:`Executor`, or any object with its five async hooks.
        lifespan: Seconds from fill until a task is cancelled and exhausted.
            Finite and > 0.
        run_after: Seconds from fill until a time bomb runs. Finite, >= 0 and
            less than *lifespan*.
        max_tasks: The maximum number of live tasks; an int >= 1.
        verbose: Log each task's transitions at INFO on the ``trio_bucket`` logger.
        hook_timeout: Seconds an outcome hook may run before it is cancelled and
            counted in :attr:`BucketStatistics.hook_errors`, so that a stuck hook
            cannot hang shutdown forever. Defaults to 30; :data:`math.inf` turns
            the bound off.
        store: A :class:`RescueStore` that keeps rescued tasks: :meth:`Bucket.rescue`
            and the automatic rescue save them there before ``on_panic`` runs, and
            :meth:`Bucket.restore` refills them. Task data must then be
            JSON-serialisable; fill raises TypeError for data that is not.
        journal: Also write every task to *store* when it is filled, before it
            runs, and remove it at its outcome, so that a crash, even SIGKILL,
            loses no task: :meth:`Bucket.restore` in the next run refills every
            task that had no outcome. Needs *store*.

    Raises:
        ValueError: if a setting is out of range, before anything starts.
        TypeError: if a setting is not a number, or *executor* lacks a hook.

    .. versionadded:: 0.1
    """
    config = BucketConfig.validated(
        lifespan=lifespan,
        run_after=run_after,
        max_tasks=max_tasks,
        verbose=verbose,
        hook_timeout=hook_timeout,
    )
    _check_executor(executor)
    if store is not None and not isinstance(store, RescueStore):
        raise TypeError(
            f"store must be a RescueStore, with async save, load, remove and aclose, "
            f"got {store!r}; open one with `await SqliteRescueStore.open(path)`"
        )
    if journal and store is None:
        raise ValueError("journal=True needs a rescue store to write to; pass store= as well")
    return _BucketContext(executor, config, store, journal=bool(journal))


_HOOK_NAMES = ("on_execute", "on_finish", "on_execute_error", "on_exhausted", "on_panic")


def _check_executor(executor: object) -> None:
    if isinstance(executor, type):
        raise TypeError(
            f"executor must be an instance, got the class {executor.__qualname__}; "
            f"pass {executor.__qualname__}() instead"
        )
    missing = [name for name in _HOOK_NAMES if not callable(getattr(executor, name, None))]
    if missing:
        raise TypeError(
            f"executor {executor!r} lacks the hooks {', '.join(missing)}; "
            "subclass trio_bucket.Executor, which has all five, and override the ones you need"
        )


@final
class _BucketContext(AbstractAsyncContextManager[Bucket]):
    def __init__(
        self,
        executor: ExecutorProtocol,
        config: BucketConfig,
        store: RescueStore | None,
        *,
        journal: bool,
    ) -> None:
        self._executor = executor
        self._config = config
        self._store = store
        self._journal = journal
        self._nursery_manager: AbstractAsyncContextManager[trio.Nursery] | None = None
        self._bucket: Bucket | None = None

    async def __aenter__(self) -> Bucket:
        if self._nursery_manager is not None:
            raise RuntimeError("an open_bucket() context can be entered only once")
        self._nursery_manager = trio.open_nursery()
        nursery = await self._nursery_manager.__aenter__()
        link = None
        if self._store is not None:
            link = StoreLink(self._store, nursery, journal=self._journal)
        self._bucket = Bucket._create(self._executor, self._config, nursery, link)  # pyright: ignore[reportPrivateUsage]
        return self._bucket

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        bucket = self._bucket
        nursery_manager = self._nursery_manager
        assert bucket is not None
        assert nursery_manager is not None
        closing_error: BaseException | None = None
        if exc is None:
            try:
                await bucket._wait_until_idle()  # pyright: ignore[reportPrivateUsage]
            except BaseException as error:  # A task crashed, or the caller was cancelled.
                closing_error = error
        failure = exc if exc is not None else closing_error

        if failure is None:
            bucket._close("the bucket's block has exited")  # pyright: ignore[reportPrivateUsage]
        else:
            await self._rescue_after(bucket, failure)

        try:
            failure_type = None if failure is None else type(failure)
            await nursery_manager.__aexit__(failure_type, failure, traceback)
        except BaseExceptionGroup as group:
            if failure is None or not _holds_only(group, failure):
                raise
        if closing_error is not None:
            raise closing_error
        return False

    async def _rescue_after(self, bucket: Bucket, failure: BaseException) -> None:
        reason = f"the bucket is shutting down after {type(failure).__name__}"
        bucket._close(reason)  # pyright: ignore[reportPrivateUsage]
        with trio.CancelScope(shield=True):
            await bucket.rescue()
            link = bucket._store_link  # pyright: ignore[reportPrivateUsage]
            if link is not None:
                try:
                    await link.flush()
                except Exception:
                    # Raising here would leave the nursery open; failure already propagates.
                    logger.exception("writing the last changes to the store failed")


def _holds_only(group: BaseException, error: BaseException) -> bool:
    """Return whether every leaf of the exception group *group* is *error* itself."""
    if not isinstance(group, BaseExceptionGroup):
        return group is error
    leaves = cast("tuple[BaseException, ...]", group.exceptions)  # pyright: ignore[reportUnknownMemberType]
    return all(_holds_only(leaf, error) for leaf in leaves)
