"""Filling: immediate tasks, time bombs, records, limits and argument checks."""

from __future__ import annotations

import pytest
import trio
import trio.testing
from executors import RecordingExecutor, sleeps

import trio_bucket
from trio_bucket import (
    BucketClosedError,
    BucketFullError,
    DuplicateTaskError,
    Outcome,
    TaskKind,
    TaskRecord,
    open_bucket,
)


async def test_immediate_task_runs_at_fill(autojump_clock: trio.testing.MockClock) -> None:
    executor = RecordingExecutor()
    async with open_bucket(executor) as bucket:
        await trio.sleep(2)
        bucket.fill_nowait("job")

    assert executor.events == [(2.0, "on_execute", "job"), (2.0, "on_finish", "job")]


async def test_time_bomb_runs_after_run_after(autojump_clock: trio.testing.MockClock) -> None:
    executor = RecordingExecutor()
    async with open_bucket(executor, run_after=1.5) as bucket:
        bucket.fill_nowait("bomb", kind=TaskKind.TIME_BOMB)

    assert executor.times_of("bomb") == {"on_execute": 1.5, "on_finish": 1.5}


async def test_per_task_times_override_bucket(autojump_clock: trio.testing.MockClock) -> None:
    executor = RecordingExecutor()
    async with open_bucket(executor, lifespan=5, run_after=1) as bucket:
        handle = bucket.fill_nowait(
            "bomb", sleeps(60), kind=TaskKind.TIME_BOMB, run_after=3, lifespan=10
        )

    assert handle.record.run_at == 3.0
    assert handle.record.deadline == 10.0
    assert executor.times_of("bomb") == {"on_execute": 3.0, "on_exhausted": 10.0}


async def test_record_fields(autojump_clock: trio.testing.MockClock) -> None:
    async with open_bucket(RecordingExecutor(), lifespan=4, run_after=1) as bucket:
        await trio.sleep(10)
        handle = bucket.fill_nowait("bomb", {"n": 1}, kind=TaskKind.TIME_BOMB)

    assert handle.record == TaskRecord(
        id="bomb",
        data={"n": 1},
        kind=TaskKind.TIME_BOMB,
        filled_at=10.0,
        run_at=11.0,
        deadline=14.0,
    )
    assert handle.record.run_after == 1.0
    assert handle.record.lifespan == 4.0


async def test_immediate_ignores_bucket_run_after(autojump_clock: trio.testing.MockClock) -> None:
    async with open_bucket(RecordingExecutor(), run_after=2) as bucket:
        handle = bucket.fill_nowait("now")

    assert handle.record.run_at == handle.record.filled_at


async def test_time_bombs_due_together_run_in_fill_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    executor = RecordingExecutor()
    async with open_bucket(executor, run_after=1) as bucket:
        for name in ["c", "a", "b"]:
            bucket.fill_nowait(name, kind=TaskKind.TIME_BOMB)
        bucket.fill_nowait("early", kind=TaskKind.TIME_BOMB, run_after=0.5)

    started = [task_id for _, hook, task_id in executor.events if hook == "on_execute"]
    assert started[0] == "early"
    assert sorted(started[1:]) == ["a", "b", "c"]


async def test_earlier_time_bomb_wakes_timer(autojump_clock: trio.testing.MockClock) -> None:
    executor = RecordingExecutor()
    async with open_bucket(executor, lifespan=100) as bucket:
        bucket.fill_nowait("late", kind=TaskKind.TIME_BOMB, run_after=50)
        await trio.sleep(1)
        bucket.fill_nowait("soon", kind=TaskKind.TIME_BOMB, run_after=2)

    assert executor.times_of("soon")["on_execute"] == 3.0
    assert executor.times_of("late")["on_execute"] == 50.0


async def test_duplicate_id_raises(autojump_clock: trio.testing.MockClock) -> None:
    async with open_bucket(RecordingExecutor()) as bucket:
        bucket.fill_nowait("same", sleeps(1))
        with pytest.raises(DuplicateTaskError, match=r"a live task already has id 'same'"):
            bucket.fill_nowait("same")
        with pytest.raises(DuplicateTaskError):
            await bucket.fill("same")


async def test_full_bucket_raises_would_block(autojump_clock: trio.testing.MockClock) -> None:
    async with open_bucket(RecordingExecutor(), max_tasks=2) as bucket:
        bucket.fill_nowait("a", sleeps(1))
        bucket.fill_nowait("b", sleeps(1))
        with pytest.raises(BucketFullError, match=r"the bucket is full \(2 live tasks\)") as info:
            bucket.fill_nowait("c")

    assert isinstance(info.value, trio.WouldBlock)
    assert isinstance(info.value, trio_bucket.BucketError)


async def test_fill_waits_for_room(autojump_clock: trio.testing.MockClock) -> None:
    executor = RecordingExecutor()
    async with open_bucket(executor, max_tasks=1) as bucket:
        bucket.fill_nowait("first", sleeps(2))
        handle = await bucket.fill("second")
        assert trio.current_time() == 2.0
        assert handle.record.filled_at == 2.0

    assert executor.hooks_of("second") == ["on_execute", "on_finish"]


async def test_fill_waiters_all_get_room(autojump_clock: trio.testing.MockClock) -> None:
    executor = RecordingExecutor()
    async with open_bucket(executor, max_tasks=2) as bucket, trio.open_nursery() as nursery:
        for index in range(10):
            nursery.start_soon(bucket.fill, f"task-{index}", sleeps(1))

    assert bucket.statistics().finished == 10
    assert bucket.statistics().filled == 10


async def test_fill_after_close_raises(autojump_clock: trio.testing.MockClock) -> None:
    async with open_bucket(RecordingExecutor()) as bucket:
        pass

    with pytest.raises(BucketClosedError, match=r"cannot fill task 'late': .* exited"):
        bucket.fill_nowait("late")
    with pytest.raises(BucketClosedError):
        await bucket.fill("late")


@pytest.mark.parametrize(
    ("task_id", "error", "message"),
    [
        (42, TypeError, r"task_id must be a str, got int 42"),
        (None, TypeError, r"task_id must be a str, got NoneType None"),
        ("", ValueError, r"task_id must not be empty"),
    ],
)
async def test_invalid_id_raises(task_id: object, error: type[Exception], message: str) -> None:
    async with open_bucket(RecordingExecutor()) as bucket:
        with pytest.raises(error, match=message):
            bucket.fill_nowait(task_id)  # type: ignore[arg-type]
        with pytest.raises(error, match=message):
            await bucket.fill(task_id)  # type: ignore[arg-type]
        assert len(bucket) == 0


async def test_time_bomb_run_after_below_lifespan() -> None:
    async with open_bucket(RecordingExecutor(), lifespan=5) as bucket:
        with pytest.raises(ValueError, match=r"run_after \(5.0\) must be less than lifespan"):
            bucket.fill_nowait("bomb", kind=TaskKind.TIME_BOMB, run_after=5)
        with pytest.raises(ValueError, match=r"run_after \(1.0\) must be less than lifespan"):
            bucket.fill_nowait("bomb", kind=TaskKind.TIME_BOMB, lifespan=0.5)
        assert "bomb" not in bucket


async def test_run_after_on_immediate_task_raises() -> None:
    async with open_bucket(RecordingExecutor()) as bucket:
        with pytest.raises(ValueError, match=r"run_after \(2\) applies only to time bombs"):
            bucket.fill_nowait("now", run_after=2)


async def test_kind_must_be_task_kind() -> None:
    async with open_bucket(RecordingExecutor()) as bucket:
        with pytest.raises(TypeError, match=r"kind must be a TaskKind, got 'time_bomb'"):
            bucket.fill_nowait("x", kind="time_bomb")  # type: ignore[arg-type]


async def test_get_len_and_contains(autojump_clock: trio.testing.MockClock) -> None:
    async with open_bucket(RecordingExecutor()) as bucket:
        handle = bucket.fill_nowait("a", sleeps(1))
        bucket.fill_nowait("b", kind=TaskKind.TIME_BOMB)
        assert len(bucket) == 2
        assert "a" in bucket
        assert "missing" not in bucket
        assert bucket.get("a") is handle.record
        assert bucket.get("missing") is None
        await handle.wait()
        assert "a" not in bucket
        assert bucket.get("a") is None


async def test_statistics_counts_states(autojump_clock: trio.testing.MockClock) -> None:
    async with open_bucket(RecordingExecutor(), max_tasks=8) as bucket:
        bucket.fill_nowait("run", sleeps(2))
        bucket.fill_nowait("wait", kind=TaskKind.TIME_BOMB)
        await trio.sleep(0.5)
        stats = bucket.statistics()
        assert (stats.live, stats.running, stats.waiting) == (2, 1, 1)
        assert (stats.max_tasks, stats.filled) == (8, 2)

    stats = bucket.statistics()
    assert (stats.live, stats.running, stats.waiting) == (0, 0, 0)
    assert stats.finished == 2


async def test_handle_wait_returns_outcome(autojump_clock: trio.testing.MockClock) -> None:
    async with open_bucket(RecordingExecutor()) as bucket:
        handle = bucket.fill_nowait("job", sleeps(1))
        outcome_while_live = handle.outcome
        assert outcome_while_live is None
        assert handle.id == "job"
        assert await handle.wait() is Outcome.FINISHED
        assert handle.outcome is Outcome.FINISHED
        assert await handle.wait() is Outcome.FINISHED
