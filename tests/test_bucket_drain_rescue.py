"""drain() cancels one task with no hook; rescue() hands every live task to on_panic."""

from __future__ import annotations

import pytest
import trio
import trio.testing
from executors import RecordingExecutor, sleeps

from trio_bucket import (
    BucketError,
    Executor,
    Outcome,
    TaskKind,
    TaskNotFoundError,
    TaskRecord,
    open_bucket,
)


async def test_drain_waiting_time_bomb(autojump_clock: trio.testing.MockClock) -> None:
    executor = RecordingExecutor()
    async with open_bucket(executor) as bucket:
        handle = bucket.fill_nowait("bomb", kind=TaskKind.TIME_BOMB)
        record = bucket.drain("bomb")

    assert record is handle.record
    assert handle.outcome is Outcome.DRAINED
    assert executor.events == []
    assert trio.current_time() == 0.0  # Nothing was left to wait for.


async def test_drain_immediate_before_it_starts(autojump_clock: trio.testing.MockClock) -> None:
    executor = RecordingExecutor()
    async with open_bucket(executor) as bucket:
        bucket.fill_nowait("job")
        bucket.drain("job")

    assert executor.events == []


async def test_drain_running_task_cancels_it(autojump_clock: trio.testing.MockClock) -> None:
    cancelled_at: list[float] = []

    class Long(Executor):
        async def on_execute(self, task: TaskRecord) -> None:
            try:
                await trio.sleep(10)
            except trio.Cancelled:
                cancelled_at.append(trio.current_time())
                raise

    async with open_bucket(Long()) as bucket:
        handle = bucket.fill_nowait("job")
        await trio.sleep(2)
        bucket.drain("job")
        assert "job" not in bucket
        assert await handle.wait() is Outcome.DRAINED

    assert cancelled_at == [2.0]
    assert bucket.statistics().drained == 1


async def test_drain_unknown_id_raises(autojump_clock: trio.testing.MockClock) -> None:
    async with open_bucket(RecordingExecutor()) as bucket:
        with pytest.raises(TaskNotFoundError, match=r"no live task has id 'nope'") as info:
            bucket.drain("nope")
        handle = bucket.fill_nowait("done")
        await handle.wait()
        with pytest.raises(TaskNotFoundError, match=r"no live task has id 'done'"):
            bucket.drain("done")

    assert isinstance(info.value, KeyError)
    assert isinstance(info.value, BucketError)


async def test_handle_drain_targets_its_own_task(autojump_clock: trio.testing.MockClock) -> None:
    async with open_bucket(RecordingExecutor()) as bucket:
        old = bucket.fill_nowait("same")
        await old.wait()
        new = bucket.fill_nowait("same", sleeps(1))
        with pytest.raises(TaskNotFoundError, match=r"task 'same' is no longer live"):
            old.drain()
        assert new.outcome is None
        new.drain()
        assert new.outcome is Outcome.DRAINED


async def test_drain_frees_room_for_fill(autojump_clock: trio.testing.MockClock) -> None:
    async with open_bucket(RecordingExecutor(), max_tasks=1) as bucket:
        bucket.fill_nowait("a", sleeps(10))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(bucket.fill, "b")
            await trio.testing.wait_all_tasks_blocked()
            bucket.drain("a")

        assert trio.current_time() == 0.0


async def test_rescue_runs_on_panic_once_each(autojump_clock: trio.testing.MockClock) -> None:
    executor = RecordingExecutor()
    async with open_bucket(executor) as bucket:
        running = bucket.fill_nowait("running", sleeps(10))
        waiting = bucket.fill_nowait("waiting", kind=TaskKind.TIME_BOMB)
        bucket.fill_nowait("done")
        await trio.sleep(0.5)
        rescued = await bucket.rescue()

    assert rescued == [running.record, waiting.record]
    assert executor.hooks_of("running") == ["on_execute", "on_panic"]
    assert executor.hooks_of("waiting") == ["on_panic"]
    assert executor.hooks_of("done") == ["on_execute", "on_finish"]
    assert (running.outcome, waiting.outcome) == (Outcome.RESCUED, Outcome.RESCUED)
    assert bucket.statistics().rescued == 2
    assert len(bucket) == 0


async def test_rescue_returns_after_hooks(autojump_clock: trio.testing.MockClock) -> None:
    class SlowPanic(Executor):
        async def on_panic(self, task: TaskRecord) -> None:
            await trio.sleep(3)

    async with open_bucket(SlowPanic()) as bucket:
        bucket.fill_nowait("a", kind=TaskKind.TIME_BOMB)
        bucket.fill_nowait("b", kind=TaskKind.TIME_BOMB)
        await bucket.rescue()
        assert trio.current_time() == 3.0  # The two hooks ran side by side.


async def test_rescue_empty_bucket(autojump_clock: trio.testing.MockClock) -> None:
    async with open_bucket(RecordingExecutor()) as bucket:
        assert await bucket.rescue() == []


async def test_rescue_caller_cancelled_hooks_finish(
    autojump_clock: trio.testing.MockClock,
) -> None:
    done: list[float] = []

    class SlowPanic(Executor):
        async def on_panic(self, task: TaskRecord) -> None:
            await trio.sleep(3)
            done.append(trio.current_time())

    async with open_bucket(SlowPanic()) as bucket:
        bucket.fill_nowait("a", kind=TaskKind.TIME_BOMB)
        with trio.move_on_after(1) as scope:
            await bucket.rescue()
        assert scope.cancelled_caught
        assert trio.current_time() == 1.0

    assert done == [3.0]


async def test_rescue_skips_waiting_for_shielded_task(
    autojump_clock: trio.testing.MockClock,
) -> None:
    class Stubborn(Executor):
        async def on_execute(self, task: TaskRecord) -> None:
            with trio.CancelScope(shield=True):
                await trio.sleep(4)

    async with open_bucket(Stubborn(), lifespan=10) as bucket:
        bucket.fill_nowait("stubborn")
        await trio.sleep(1)
        await bucket.rescue()
        assert trio.current_time() == 1.0

    assert trio.current_time() == 4.0  # The nursery still waits for it to stop.
