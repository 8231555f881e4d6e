"""The contestants: trio_bucket, the raw Trio code it replaces, and aiojobs on asyncio.

Each contestant runs the same no-op work for every task id: an ``on_execute`` hook
and then one outcome hook. Both run inside a cancel scope (or an asyncio timeout)
whose deadline is the task's lifespan, and the live tasks are kept in a dict by id.

The raw Trio and aiojobs versions are the shortest correct code a user would write
without the bucket: no input checks, no statistics, no shielded hooks with a
timeout, no logging. Their hooks take the id and the data instead of a record.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import aiojobs
import trio
import trio.testing

import trio_bucket

#: Seconds from fill until a task is cancelled; no task lives this long here.
LIFESPAN = 3600.0
#: Seconds from fill until a held time bomb is due: never reached while measured.
FAR_AHEAD = 1800.0


class RawHooks:
    """No-op hooks for the raw Trio and aiojobs versions."""

    async def on_execute(self, task_id: str, data: Any) -> None:
        pass

    async def on_finish(self, task_id: str, data: Any) -> None:
        pass

    async def on_panic(self, task_id: str, data: Any) -> None:
        pass


class SleepingExecutor(trio_bucket.Executor):
    """An executor whose ``on_execute`` waits until it is cancelled."""

    async def on_execute(self, task: trio_bucket.TaskRecord) -> None:
        await trio.sleep_forever()


# Immediate no-op tasks, from the first fill until every outcome hook has returned.


async def bucket_immediate(ids: Sequence[str]) -> float:
    """Fill one immediate task per id and return the seconds until the block exits."""
    executor = trio_bucket.Executor()
    start = time.perf_counter()
    async with trio_bucket.open_bucket(executor, lifespan=LIFESPAN, max_tasks=len(ids)) as bucket:
        for task_id in ids:
            bucket.fill_nowait(task_id)
    return time.perf_counter() - start


async def raw_trio_immediate(ids: Sequence[str]) -> float:
    """Start one task per id in a nursery and return the seconds until it exits."""
    hooks = RawHooks()
    scopes: dict[str, trio.CancelScope] = {}

    async def run(task_id: str, data: Any, scope: trio.CancelScope) -> None:
        with scope:
            await hooks.on_execute(task_id, data)
        del scopes[task_id]
        await hooks.on_finish(task_id, data)

    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for task_id in ids:
            scope = trio.CancelScope(deadline=trio.current_time() + LIFESPAN)
            scopes[task_id] = scope
            nursery.start_soon(run, task_id, None, scope)
    return time.perf_counter() - start


async def aiojobs_immediate(ids: Sequence[str]) -> float:
    """Spawn one job per id and return the seconds until the scheduler is closed.

    A counter sets an event at the last outcome, so ``close()`` finds no live job.
    """
    hooks = RawHooks()
    jobs: dict[str, aiojobs.Job[None]] = {}
    remaining = len(ids)
    all_done = asyncio.Event()

    async def run(task_id: str, data: Any) -> None:
        nonlocal remaining
        async with asyncio.timeout(LIFESPAN):
            await hooks.on_execute(task_id, data)
        del jobs[task_id]
        await hooks.on_finish(task_id, data)
        remaining -= 1
        if remaining == 0:
            all_done.set()

    start = time.perf_counter()
    scheduler = aiojobs.Scheduler(limit=None, pending_limit=0)
    for task_id in ids:
        jobs[task_id] = await scheduler.spawn(run(task_id, None))
    await all_done.wait()
    await scheduler.close()
    return time.perf_counter() - start


async def aiojobs_immediate_async_with(ids: Sequence[str]) -> float:
    """Spawn one job per id in ``async with Scheduler()``; return the seconds until it exits.

    Leaving the block calls ``wait_and_close()``, the way aiojobs documents waiting
    for every job. It wraps each job still live at that point in ``asyncio.shield``.
    """
    hooks = RawHooks()
    jobs: dict[str, aiojobs.Job[None]] = {}

    async def run(task_id: str, data: Any) -> None:
        async with asyncio.timeout(LIFESPAN):
            await hooks.on_execute(task_id, data)
        del jobs[task_id]
        await hooks.on_finish(task_id, data)

    start = time.perf_counter()
    async with aiojobs.Scheduler(limit=None, pending_limit=0) as scheduler:
        for task_id in ids:
            jobs[task_id] = await scheduler.spawn(run(task_id, None))
    return time.perf_counter() - start


IMMEDIATE: dict[str, Callable[[Sequence[str]], float]] = {
    "trio_bucket": lambda ids: trio.run(bucket_immediate, ids),
    "raw Trio": lambda ids: trio.run(raw_trio_immediate, ids),
    "aiojobs (counter)": lambda ids: asyncio.run(aiojobs_immediate(ids)),
    "aiojobs (async with)": lambda ids: asyncio.run(aiojobs_immediate_async_with(ids)),
}


# Held time bombs: each contestant fills them, then calls `measure` while they wait.


async def bucket_hold(ids: Sequence[str], measure: Callable[[], None]) -> None:
    """Hold one time bomb per id in a bucket, call *measure*, then drain them."""
    async with trio_bucket.open_bucket(
        trio_bucket.Executor(), lifespan=LIFESPAN, max_tasks=len(ids)
    ) as bucket:
        for task_id in ids:
            bucket.fill_nowait(task_id, kind=trio_bucket.TaskKind.TIME_BOMB, run_after=FAR_AHEAD)
        await trio.testing.wait_all_tasks_blocked()
        measure()
        for task_id in ids:
            bucket.drain(task_id)


async def raw_trio_hold(ids: Sequence[str], measure: Callable[[], None]) -> None:
    """Hold one sleeping Trio task per id, call *measure*, then cancel them."""
    hooks = RawHooks()
    scopes: dict[str, trio.CancelScope] = {}

    async def run_later(task_id: str, data: Any, run_at: float, scope: trio.CancelScope) -> None:
        with scope:
            await trio.sleep_until(run_at)
            await hooks.on_execute(task_id, data)
        scopes.pop(task_id, None)
        if not scope.cancel_called:
            await hooks.on_finish(task_id, data)

    async with trio.open_nursery() as nursery:
        for task_id in ids:
            now = trio.current_time()
            scope = trio.CancelScope(deadline=now + LIFESPAN)
            scopes[task_id] = scope
            nursery.start_soon(run_later, task_id, None, now + FAR_AHEAD, scope)
        await trio.testing.wait_all_tasks_blocked()
        measure()
        for scope in list(scopes.values()):
            scope.cancel()


async def aiojobs_hold(ids: Sequence[str], measure: Callable[[], None]) -> None:
    """Hold one sleeping aiojobs job per id, call *measure*, then close the scheduler."""
    hooks = RawHooks()
    jobs: dict[str, aiojobs.Job[None]] = {}

    async def run_later(task_id: str, data: Any) -> None:
        async with asyncio.timeout(LIFESPAN):
            await asyncio.sleep(FAR_AHEAD)
            await hooks.on_execute(task_id, data)
        jobs.pop(task_id, None)
        await hooks.on_finish(task_id, data)

    scheduler = aiojobs.Scheduler(limit=None, pending_limit=0, close_timeout=math.inf)
    for task_id in ids:
        jobs[task_id] = await scheduler.spawn(run_later(task_id, None))
    for _ in range(3):  # Let every job start and reach its sleep.
        await asyncio.sleep(0)
    measure()
    await scheduler.close()
