"""Outcomes: one per task, the lifespan, shielded hooks, hook errors, released ids."""

from __future__ import annotations

import gc
import logging
import weakref

import pytest
import trio
import trio.testing
from executors import RecordingExecutor, raises, sleeps

from trio_bucket import Executor, Outcome, TaskKind, TaskRecord, open_bucket


async def test_finished_runs_on_finish(autojump_clock: trio.testing.MockClock) -> None:
    executor = RecordingExecutor()
    async with open_bucket(executor) as bucket:
        handle = bucket.fill_nowait("job", sleeps(1))

    assert handle.outcome is Outcome.FINISHED
    assert executor.events == [(0.0, "on_execute", "job"), (1.0, "on_finish", "job")]


async def test_failed_runs_on_execute_error(autojump_clock: trio.testing.MockClock) -> None:
    executor = RecordingExecutor()
    error = ValueError("boom")
    async with open_bucket(executor) as bucket:
        handle = bucket.fill_nowait("job", raises(error, after=1))

    assert handle.outcome is Outcome.FAILED
    assert executor.hooks_of("job") == ["on_execute", "on_execute_error"]
    assert executor.errors["job"] is error


async def test_exhausted_cancels_and_runs_hook(autojump_clock: trio.testing.MockClock) -> None:
    executor = RecordingExecutor()
    async with open_bucket(executor, lifespan=3) as bucket:
        handle = bucket.fill_nowait("job", sleeps(10))

    assert handle.outcome is Outcome.EXHAUSTED
    assert executor.events == [(0.0, "on_execute", "job"), (3.0, "on_exhausted", "job")]


async def test_lifespan_counts_from_fill(autojump_clock: trio.testing.MockClock) -> None:
    executor = RecordingExecutor()
    async with open_bucket(executor, lifespan=5, run_after=4) as bucket:
        bucket.fill_nowait("bomb", sleeps(2), kind=TaskKind.TIME_BOMB)

    # It ran at 4 and was cut at 5, one second into its two-second work.
    assert executor.times_of("bomb") == {"on_execute": 4.0, "on_exhausted": 5.0}


async def test_user_timeout_error_is_failed(autojump_clock: trio.testing.MockClock) -> None:
    class TimesOut(Executor):
        async def on_execute(self, task: TaskRecord) -> None:
            with trio.fail_after(1):
                await trio.sleep(2)

    async with open_bucket(TimesOut(), lifespan=5) as bucket:
        handle = bucket.fill_nowait("job")

    assert handle.outcome is Outcome.FAILED
    assert bucket.statistics().exhausted == 0


async def test_return_races_rescue_one_hook(autojump_clock: trio.testing.MockClock) -> None:
    # Both sides wake at t=1: on_execute returns and rescue() runs in the same tick.
    for _ in range(20):
        executor = RecordingExecutor()
        async with open_bucket(executor) as bucket:
            bucket.fill_nowait("job", sleeps(1))
            await trio.sleep(1)
            rescued = await bucket.rescue()

        hooks = executor.hooks_of("job")[1:]
        assert hooks in (["on_finish"], ["on_panic"])
        assert (hooks == ["on_panic"]) == (len(rescued) == 1)


async def test_error_races_drain_no_hook(autojump_clock: trio.testing.MockClock) -> None:
    for _ in range(20):
        executor = RecordingExecutor()
        async with open_bucket(executor) as bucket:
            handle = bucket.fill_nowait("job", raises(ValueError("x"), after=1))
            await trio.sleep(1)
            try:
                bucket.drain("job")
            except KeyError:
                pass

        hooks = executor.hooks_of("job")[1:]
        assert hooks == ([] if handle.outcome is Outcome.DRAINED else ["on_execute_error"])


class _SlowHooks(RecordingExecutor):
    """Each outcome hook sleeps two seconds before recording that it completed."""

    async def _slow(self, task: TaskRecord) -> None:
        await trio.sleep(2)
        self.events.append((trio.current_time(), "hook done", task.id))

    async def on_finish(self, task: TaskRecord) -> None:
        await self._slow(task)

    async def on_exhausted(self, task: TaskRecord) -> None:
        await self._slow(task)

    async def on_panic(self, task: TaskRecord) -> None:
        await self._slow(task)


async def test_exhausted_hook_can_await(autojump_clock: trio.testing.MockClock) -> None:
    executor = _SlowHooks()
    async with open_bucket(executor, lifespan=1, run_after=0.5) as bucket:
        bucket.fill_nowait("job", sleeps(5))

    assert executor.times_of("job")["hook done"] == 3.0


async def test_panic_hook_survives_cancelled_bucket(
    autojump_clock: trio.testing.MockClock,
) -> None:
    executor = _SlowHooks()
    with trio.move_on_after(1):
        async with open_bucket(executor) as bucket:
            bucket.fill_nowait("job", sleeps(5))
            await trio.sleep_forever()

    assert executor.times_of("job")["hook done"] == 3.0


async def test_hook_timeout_cancels_stuck_hook(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    class Stuck(Executor):
        async def on_finish(self, task: TaskRecord) -> None:
            await trio.sleep_forever()

    async with open_bucket(Stuck(), hook_timeout=7) as bucket:
        bucket.fill_nowait("job")

    assert trio.current_time() == 7.0
    assert bucket.statistics().hook_errors == 1
    assert "on_finish hook for task 'job' timed out after 7.0 seconds" in caplog.text


async def test_default_hook_timeout_is_30(autojump_clock: trio.testing.MockClock) -> None:
    class Stuck(Executor):
        async def on_panic(self, task: TaskRecord) -> None:
            await trio.sleep_forever()

    async with open_bucket(Stuck()) as bucket:
        bucket.fill_nowait("job", kind=TaskKind.TIME_BOMB)
        await bucket.rescue()
        assert trio.current_time() == 30.0


async def test_hook_error_is_logged_and_counted(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    class BadFinish(RecordingExecutor):
        async def on_finish(self, task: TaskRecord) -> None:
            if task.id == "bad":
                raise RuntimeError("hook broke")
            await super().on_finish(task)

    executor = BadFinish()
    async with open_bucket(executor) as bucket:
        bad = bucket.fill_nowait("bad")
        good = bucket.fill_nowait("good", sleeps(1))

    assert bad.outcome is Outcome.FINISHED
    assert good.outcome is Outcome.FINISHED
    assert executor.hooks_of("good") == ["on_execute", "on_finish"]
    assert bucket.statistics().hook_errors == 1
    [log] = [r for r in caplog.records if r.name == "trio_bucket"]
    assert log.levelno == logging.ERROR
    assert log.getMessage() == "on_finish hook failed for task 'bad'"
    assert log.exc_info is not None
    assert "hook broke" in caplog.text


async def test_id_released_at_outcome(autojump_clock: trio.testing.MockClock) -> None:
    class Refill(RecordingExecutor):
        async def on_finish(self, task: TaskRecord) -> None:
            # The id is free while the outcome hook of its first task still runs.
            if task.data == "first":
                second.append(bucket.fill_nowait(task.id, "second"))

    second: list[object] = []
    async with open_bucket(Refill()) as bucket:
        bucket.fill_nowait("same", "first")

    assert len(second) == 1
    assert bucket.statistics().finished == 2


async def test_no_reference_kept_after_outcome(autojump_clock: trio.testing.MockClock) -> None:
    class Data:
        pass

    async with open_bucket(RecordingExecutor()) as bucket:
        refs = []
        for index in range(3):
            data = Data()
            refs.append(weakref.ref(data))
            kind = TaskKind.TIME_BOMB if index else TaskKind.IMMEDIATE
            bucket.fill_nowait(f"t{index}", data, kind=kind)
        del data
        bucket.drain("t1")
        await trio.sleep(2)
        gc.collect()
        assert [ref() for ref in refs] == [None, None, None]
