"""Group (c): drain every held time bomb, and rescue() N live tasks, in one process.

Prints one JSON object with seconds per task. Drain is timed call by call, so the
slowest single call shows up next to the mean. "Until exit" adds the time until
the bucket's (or the nursery's) block has exited and no task is left.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from collections.abc import Sequence
from typing import Any

import trio
import trio.testing
from contestants import FAR_AHEAD, LIFESPAN, RawHooks, SleepingExecutor

import trio_bucket


async def bucket_drain(ids: Sequence[str]) -> dict[str, float]:
    """Hold one time bomb per id, then drain them one by one."""
    async with trio_bucket.open_bucket(
        trio_bucket.Executor(), lifespan=LIFESPAN, max_tasks=len(ids)
    ) as bucket:
        for task_id in ids:
            bucket.fill_nowait(task_id, kind=trio_bucket.TaskKind.TIME_BOMB, run_after=FAR_AHEAD)
        await trio.testing.wait_all_tasks_blocked()
        gc.collect()
        start = time.perf_counter()
        calls, slowest = 0.0, 0.0
        for task_id in ids:
            before = time.perf_counter()
            bucket.drain(task_id)
            took = time.perf_counter() - before
            calls += took
            slowest = max(slowest, took)
    return per_task(ids, calls, slowest, time.perf_counter() - start)


async def raw_trio_drain(ids: Sequence[str]) -> dict[str, float]:
    """Hold one sleeping task per id, then cancel them one by one by id."""
    scopes: dict[str, trio.CancelScope] = {}

    async def run_later(run_at: float, scope: trio.CancelScope) -> None:
        with scope:
            await trio.sleep_until(run_at)

    async with trio.open_nursery() as nursery:
        for task_id in ids:
            now = trio.current_time()
            scope = scopes[task_id] = trio.CancelScope(deadline=now + LIFESPAN)
            nursery.start_soon(run_later, now + FAR_AHEAD, scope)
        await trio.testing.wait_all_tasks_blocked()
        gc.collect()
        start = time.perf_counter()
        calls, slowest = 0.0, 0.0
        for task_id in ids:
            before = time.perf_counter()
            scopes.pop(task_id).cancel()
            took = time.perf_counter() - before
            calls += took
            slowest = max(slowest, took)
    return per_task(ids, calls, slowest, time.perf_counter() - start)


async def bucket_rescue(ids: Sequence[str], kind: trio_bucket.TaskKind) -> dict[str, float]:
    """Fill one task per id (running, or a held time bomb), then time rescue()."""
    run_after = FAR_AHEAD if kind is trio_bucket.TaskKind.TIME_BOMB else None
    async with trio_bucket.open_bucket(
        SleepingExecutor(), lifespan=LIFESPAN, max_tasks=len(ids)
    ) as bucket:
        for task_id in ids:
            bucket.fill_nowait(task_id, kind=kind, run_after=run_after)
        await trio.testing.wait_all_tasks_blocked()
        gc.collect()
        start = time.perf_counter()
        await bucket.rescue()
        call = time.perf_counter() - start
    return per_task(ids, call, None, time.perf_counter() - start)


async def raw_trio_rescue(ids: Sequence[str]) -> dict[str, float]:
    """Run one sleeping task per id, then cancel all and await a shielded on_panic in each."""
    hooks = RawHooks()
    scopes: dict[str, trio.CancelScope] = {}

    async def run(task_id: str, data: Any, scope: trio.CancelScope) -> None:
        with scope:
            await trio.sleep_forever()
        del scopes[task_id]
        with trio.CancelScope(shield=True):
            await hooks.on_panic(task_id, data)

    async with trio.open_nursery() as nursery:
        for task_id in ids:
            scope = scopes[task_id] = trio.CancelScope(deadline=trio.current_time() + LIFESPAN)
            nursery.start_soon(run, task_id, None, scope)
        await trio.testing.wait_all_tasks_blocked()
        gc.collect()
        start = time.perf_counter()
        for scope in list(scopes.values()):
            scope.cancel()
        call = time.perf_counter() - start
    return per_task(ids, call, None, time.perf_counter() - start)


def per_task(
    ids: Sequence[str], calls: float, slowest: float | None, until_exit: float
) -> dict[str, Any]:
    """Return the timings divided by the number of tasks (the slowest call as it is)."""
    n = len(ids)
    return {"call": calls / n, "slowest_call": slowest, "until_exit": until_exit / n}


def measure(drain_sizes: list[int], rescue_sizes: list[int]) -> dict[str, Any]:
    """Run every drain and rescue measurement; return seconds per task by size."""
    results: dict[str, dict[str, dict[str, Any]]] = {"drain": {}, "rescue": {}}
    for n in drain_sizes:
        ids = [f"task-{i}" for i in range(n)]
        results["drain"][str(n)] = {
            "trio_bucket": trio.run(bucket_drain, ids),
            "raw Trio": trio.run(raw_trio_drain, ids),
        }
    for n in rescue_sizes:
        ids = [f"task-{i}" for i in range(n)]
        results["rescue"][str(n)] = {
            "trio_bucket, running": trio.run(bucket_rescue, ids, trio_bucket.TaskKind.IMMEDIATE),
            "trio_bucket, held": trio.run(bucket_rescue, ids, trio_bucket.TaskKind.TIME_BOMB),
            "raw Trio, running": trio.run(raw_trio_rescue, ids),
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--drain-sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--rescue-sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    print(json.dumps(measure(args.drain_sizes, args.rescue_sizes)))


if __name__ == "__main__":
    main()
