"""open_shared_bucket: join a bucket that several processes share through Redis."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager

import coredis
import trio
from coredis.exceptions import StreamDuplicateConsumerGroupError

from .._config import DEFAULT_HOOK_TIMEOUT, BucketConfig
from .._executor import ExecutorProtocol
from .._open import open_bucket
from .._stores._redis import check_bucket_name, connect_redis
from . import _scripts
from ._bucket import SharedBucket
from ._executor import SharedExecutor
from ._settings import validate_settings


@asynccontextmanager
async def open_shared_bucket(
    executor: ExecutorProtocol,
    *,
    redis_url: str,
    name: str,
    lifespan: float = 5.0,
    run_after: float = 1.0,
    max_tasks: int = 1024,
    verbose: bool = False,
    hook_timeout: float = DEFAULT_HOOK_TIMEOUT,
    consumer: str | None = None,
    claim_idle: float = 30.0,
    heartbeat_interval: float | None = None,
    read_block: float = 1.0,
    wall_clock: Callable[[], float] = time.time,
) -> AsyncGenerator[SharedBucket]:
    """Join the bucket *name* that several processes share through Redis at *redis_url*.

    This process runs a local bucket with *max_tasks* room. A fill goes into it
    while it has room and onto the shared queue stream otherwise; the process
    takes queued tasks whenever its bucket has room. Leaving the block normally
    stops taking new tasks, hands back the ones taken but not started, and waits
    for the local ones. Leaving it with an exception hands the local tasks back
    to the queue too (see :meth:`SharedBucket.rescue`).

    Args:
        executor: The :class:`Executor` whose hooks run this process's tasks.
        redis_url: A Redis URL such as ``redis://127.0.0.1:6379/0``.
        name: The shared bucket's name; non-empty, without braces.
        lifespan: As in :func:`open_bucket`, counted from the original fill.
        run_after: As in :func:`open_bucket`, counted from the original fill.
        max_tasks: The most tasks this process runs or holds at once.
        verbose: As in :func:`open_bucket`.
        hook_timeout: As in :func:`open_bucket`.
        consumer: This process's consumer name; by default host name, process
            id and a random suffix. Two live processes must not share one.
        claim_idle: Seconds an entry may go without its owner's heartbeat before
            another process takes it over (XAUTOCLAIM min-idle-time).
        heartbeat_interval: Seconds between heartbeats, registry checks and
            XAUTOCLAIM rounds; defaults to a third of *claim_idle*.
        read_block: Seconds that a blocking stream read (BLOCK) waits on the server
            before it is sent again. New entries end the wait at once, so this
            mostly sets how long leaving the block waits for reads in flight.
        wall_clock: Seconds since the epoch; every process must agree on it, so
            that the time since a fill is counted right. Tests pass a clock that
            follows :class:`trio.testing.MockClock`.

    Raises:
        ValueError: if a setting is out of range, before anything connects.
        TypeError: if a setting has the wrong type.

    .. versionadded:: 0.1
    """
    config = BucketConfig.validated(
        lifespan=lifespan,
        run_after=run_after,
        max_tasks=max_tasks,
        verbose=verbose,
        hook_timeout=hook_timeout,
    )
    keys = _scripts.SharedKeys(check_bucket_name(name))
    settings = validate_settings(consumer, claim_idle, heartbeat_interval, read_block, wall_clock)

    # connect_redis unwraps the exception group of coredis's task group, so that
    # the body's exception propagates as itself, as it does from open_bucket.
    body_error: BaseException | None = None
    async with connect_redis(redis_url) as client:
        await create_groups(client, keys)
        shared = SharedBucket(client, keys, config, settings)
        wrapper = SharedExecutor(executor, shared)
        async with trio.open_nursery() as services:
            try:
                async with open_bucket(
                    wrapper,
                    lifespan=lifespan,
                    run_after=run_after,
                    max_tasks=max_tasks,
                    verbose=verbose,
                    hook_timeout=hook_timeout,
                ) as bucket:
                    shared._attach(bucket, services, executor)  # pyright: ignore[reportPrivateUsage]
                    await shared._run_services()  # pyright: ignore[reportPrivateUsage]
                    try:
                        yield shared
                    except BaseException:
                        await shared._hand_back_all(redis_url)  # pyright: ignore[reportPrivateUsage]
                        raise
                    await shared._stop_taking()  # pyright: ignore[reportPrivateUsage]
            except BaseException as error:
                # Raised after the nursery, which would otherwise cancel the
                # services in the middle of their Redis calls.
                body_error = error
            finally:
                shared._closed = True  # pyright: ignore[reportPrivateUsage]
                shared._stop_services()  # pyright: ignore[reportPrivateUsage]
                # A backstop in case Redis stops responding.
                services.cancel_scope.deadline = trio.current_time() + claim_idle
        if body_error is not None:
            raise body_error


async def create_groups(client: coredis.Redis[str], keys: _scripts.SharedKeys) -> None:
    """Create the consumer group on both streams, unless another process already has."""
    for stream in (keys.held, keys.queue):
        try:
            await client.xgroup_create(stream, _scripts.GROUP, identifier="0", mkstream=True)
        except StreamDuplicateConsumerGroupError:
            pass  # Another process created it first.
