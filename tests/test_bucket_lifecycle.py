"""Opening and closing, re-entrant hooks, verbose logging and checkpoints."""

from __future__ import annotations

import logging
import math

import pytest
import trio
import trio.testing
from executors import RecordingExecutor, sleeps

from trio_bucket import Bucket, Executor, Outcome, TaskKind, TaskRecord, open_bucket


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"lifespan": 0}, r"lifespan must be a finite number of seconds > 0, got 0"),
        ({"lifespan": -1.5}, r"lifespan must be a finite number of seconds > 0, got -1.5"),
        ({"lifespan": math.inf}, r"lifespan must be a finite number of seconds > 0, got inf"),
        ({"lifespan": math.nan}, r"lifespan must be a finite number of seconds > 0, got nan"),
        ({"run_after": -1}, r"run_after must be a finite number of seconds >= 0, got -1"),
        ({"run_after": math.inf}, r"run_after must be a finite number of seconds >= 0"),
        ({"run_after": 5}, r"run_after \(5.0\) must be less than lifespan \(5.0\)"),
        ({"lifespan": 2, "run_after": 3}, r"run_after \(3.0\) must be less than lifespan"),
        ({"max_tasks": 0}, r"max_tasks must be an int >= 1, got 0"),
        ({"max_tasks": 2.5}, r"max_tasks must be an int >= 1, got 2.5"),
        ({"max_tasks": True}, r"max_tasks must be an int >= 1, got True"),
        ({"hook_timeout": 0}, r"hook_timeout must be a number of seconds > 0, got 0"),
        ({"journal": True}, r"journal=True needs a rescue store"),
    ],
)
def test_invalid_config_raises_before_start(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        open_bucket(RecordingExecutor(), **options)  # type: ignore[arg-type]


def test_non_number_seconds_raise_type_error() -> None:
    with pytest.raises(TypeError, match=r"lifespan must be a number of seconds, got '5'"):
        open_bucket(RecordingExecutor(), lifespan="5")  # type: ignore[arg-type]


async def test_normal_exit_waits_for_tasks(autojump_clock: trio.testing.MockClock) -> None:
    executor = RecordingExecutor()
    async with open_bucket(executor, lifespan=20, run_after=5) as bucket:
        bucket.fill_nowait("long", sleeps(10))
        bucket.fill_nowait("bomb", kind=TaskKind.TIME_BOMB)

    assert trio.current_time() == 10.0
    assert bucket.statistics().finished == 2


async def test_body_error_rescues_and_propagates(
    autojump_clock: trio.testing.MockClock,
) -> None:
    executor = RecordingExecutor()
    error = LookupError("body failed")
    with pytest.raises(LookupError) as info:
        async with open_bucket(executor) as bucket:
            bucket.fill_nowait("running", sleeps(10))
            bucket.fill_nowait("waiting", kind=TaskKind.TIME_BOMB)
            await trio.sleep(0.5)
            raise error

    assert info.value is error  # Itself, not wrapped in an ExceptionGroup.
    assert executor.hooks_of("running") == ["on_execute", "on_panic"]
    assert executor.hooks_of("waiting") == ["on_panic"]
    assert bucket.statistics().rescued == 2


async def test_outside_cancel_rescues(autojump_clock: trio.testing.MockClock) -> None:
    executor = RecordingExecutor()
    with trio.move_on_after(1) as scope:
        async with open_bucket(executor) as bucket:
            bucket.fill_nowait("running", sleeps(10))
            await trio.sleep_forever()

    assert scope.cancelled_caught
    assert executor.hooks_of("running") == ["on_execute", "on_panic"]


async def test_cancel_while_closing_rescues(autojump_clock: trio.testing.MockClock) -> None:
    executor = RecordingExecutor()
    with trio.move_on_after(1) as scope:
        async with open_bucket(executor) as bucket:
            bucket.fill_nowait("running", sleeps(10))

    assert scope.cancelled_caught
    assert executor.hooks_of("running") == ["on_execute", "on_panic"]


async def test_keyboard_interrupt_rescues(autojump_clock: trio.testing.MockClock) -> None:
    executor = RecordingExecutor()
    with pytest.raises(KeyboardInterrupt):
        async with open_bucket(executor) as bucket:
            bucket.fill_nowait("running", sleeps(10))
            await trio.sleep(1)
            raise KeyboardInterrupt

    assert executor.hooks_of("running") == ["on_execute", "on_panic"]


async def test_fill_during_failure_raises(autojump_clock: trio.testing.MockClock) -> None:
    errors: list[Exception] = []

    class FillsOnPanic(Executor):
        async def on_panic(self, task: TaskRecord) -> None:
            try:
                bucket.fill_nowait("new")
            except Exception as error:
                errors.append(error)

    with pytest.raises(RuntimeError, match="stop"):
        async with open_bucket(FillsOnPanic()) as bucket:
            bucket.fill_nowait("job", kind=TaskKind.TIME_BOMB)
            raise RuntimeError("stop")

    assert [str(error) for error in errors] == [
        "cannot fill task 'new': the bucket is shutting down after RuntimeError"
    ]


async def test_fill_from_on_finish(autojump_clock: trio.testing.MockClock) -> None:
    class Chain(RecordingExecutor):
        async def on_finish(self, task: TaskRecord) -> None:
            await super().on_finish(task)
            if task.data < 3:
                await bucket.fill(f"step-{task.data + 1}", task.data + 1)

    executor = Chain()
    async with open_bucket(executor) as bucket:
        bucket.fill_nowait("step-0", 0)

    assert [task_id for _, hook, task_id in executor.events if hook == "on_finish"] == [
        "step-0",
        "step-1",
        "step-2",
        "step-3",
    ]


async def test_drain_own_task_from_on_execute(autojump_clock: trio.testing.MockClock) -> None:
    reached: list[str] = []

    class SelfDrain(Executor):
        async def on_execute(self, task: TaskRecord) -> None:
            bucket.drain(task.id)
            reached.append("after drain")
            await trio.sleep(1)
            reached.append("after sleep")

    async with open_bucket(SelfDrain()) as bucket:
        handle = bucket.fill_nowait("job")

    assert handle.outcome is Outcome.DRAINED
    assert reached == ["after drain"]


@pytest.mark.parametrize("hook", ["on_execute", "on_finish", "on_panic"])
async def test_rescue_from_hook(autojump_clock: trio.testing.MockClock, hook: str) -> None:
    executor = RecordingExecutor()

    async def rescue_others(task: TaskRecord) -> None:
        if task.id == "trigger":
            await bucket.rescue()

    async def on_execute(task: TaskRecord) -> None:
        await RecordingExecutor.on_execute(executor, task)
        if hook == "on_execute":
            await rescue_others(task)

    async def on_finish(task: TaskRecord) -> None:
        await RecordingExecutor.on_finish(executor, task)
        if hook == "on_finish":
            await rescue_others(task)

    async def on_panic(task: TaskRecord) -> None:
        await RecordingExecutor.on_panic(executor, task)
        if hook == "on_panic":
            await rescue_others(task)

    executor.on_execute = on_execute  # type: ignore[method-assign]
    executor.on_finish = on_finish  # type: ignore[method-assign]
    executor.on_panic = on_panic  # type: ignore[method-assign]
    async with open_bucket(executor) as bucket:
        bucket.fill_nowait("other", sleeps(10))
        bucket.fill_nowait("trigger", sleeps(1) if hook != "on_panic" else sleeps(10))
        if hook == "on_panic":
            await trio.sleep(1)
            bucket.fill_nowait("late", kind=TaskKind.TIME_BOMB)
            await bucket.rescue()

    assert trio.current_time() == 1.0
    assert executor.hooks_of("other") == ["on_execute", "on_panic"]


async def test_verbose_logs_transitions(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="trio_bucket")
    async with open_bucket(RecordingExecutor(), verbose=True) as bucket:
        bucket.fill_nowait("job")
        bucket.fill_nowait("bomb", kind=TaskKind.TIME_BOMB)
        bucket.drain("bomb")

    messages = [r.getMessage() for r in caplog.records if r.name == "trio_bucket"]
    assert all(r.levelno == logging.INFO for r in caplog.records)
    assert messages == [
        "task 'job' filled as immediate",
        "task 'bomb' filled as time_bomb",
        "task 'bomb' drained",
        "task 'job' started",
        "task 'job' finished",
    ]


async def test_silent_unless_verbose(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="trio_bucket")
    async with open_bucket(RecordingExecutor()) as bucket:
        bucket.fill_nowait("job", {"error": ValueError("x")})
        bucket.fill_nowait("bomb", kind=TaskKind.TIME_BOMB)
        await bucket.rescue()

    assert caplog.records == []


async def test_async_methods_are_checkpoints(autojump_clock: trio.testing.MockClock) -> None:
    async with open_bucket(RecordingExecutor()) as bucket:
        with trio.testing.assert_checkpoints():
            handle = await bucket.fill("a")
        with trio.testing.assert_checkpoints():
            await bucket.rescue()
        with trio.testing.assert_checkpoints():
            await bucket.rescue()  # Nothing live: still a checkpoint.
        with trio.testing.assert_checkpoints():
            await handle.wait()
        with trio.testing.assert_checkpoints():
            await handle.wait()  # Already done: still a checkpoint.


async def test_cancelled_fill_adds_nothing(autojump_clock: trio.testing.MockClock) -> None:
    async with open_bucket(RecordingExecutor()) as bucket:
        with trio.CancelScope() as scope:
            scope.cancel()
            await bucket.fill("never")
        assert "never" not in bucket
        assert bucket.statistics().filled == 0


async def test_bucket_repr() -> None:
    async with open_bucket(RecordingExecutor(), max_tasks=3) as bucket:
        assert repr(bucket) == "<Bucket live=0 max_tasks=3>"
        handle = bucket.fill_nowait("x", kind=TaskKind.TIME_BOMB)
        assert repr(handle) == "<TaskHandle id='x' outcome=None>"
        bucket.drain("x")


def test_bucket_has_no_public_constructor() -> None:
    with pytest.raises(TypeError, match=r"trio_bucket.Bucket has no public constructor"):
        Bucket(RecordingExecutor())  # type: ignore[call-arg]


def test_executor_without_hooks_raises() -> None:
    class OnlyExecute:
        async def on_execute(self, task: TaskRecord) -> None:
            pass

    message = r"lacks the hooks on_finish, on_execute_error, on_exhausted, on_panic; subclass"
    with pytest.raises(TypeError, match=message):
        open_bucket(OnlyExecute())  # type: ignore[arg-type]


async def test_protocol_executor_needs_no_base(autojump_clock: trio.testing.MockClock) -> None:
    calls: list[str] = []

    class Plain:
        async def on_execute(self, task: TaskRecord) -> None:
            calls.append("on_execute")

        async def on_finish(self, task: TaskRecord) -> None:
            calls.append("on_finish")

        async def on_execute_error(self, task: TaskRecord, error: Exception) -> None:
            calls.append("on_execute_error")

        async def on_exhausted(self, task: TaskRecord) -> None:
            calls.append("on_exhausted")

        async def on_panic(self, task: TaskRecord) -> None:
            calls.append("on_panic")

    async with open_bucket(Plain()) as bucket:
        bucket.fill_nowait("job")

    assert calls == ["on_execute", "on_finish"]
