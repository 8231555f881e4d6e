"""Faults: what the bucket does when executors, hooks, callers or threads misbehave.

Each test's docstring states the behaviour it pins. In short:

* A BaseException that is not an Exception (KeyboardInterrupt, SystemExit, ...)
  raised from ``on_execute`` or from any hook is not a task failure: it crashes the
  bucket. The bucket rescues every task still live at that moment, the crashed task
  included, and the exception leaves ``async with open_bucket()`` inside a
  BaseExceptionGroup. A task whose outcome hook raised it keeps that outcome.
* A hook that never returns is cancelled at ``hook_timeout`` and counted in
  ``hook_errors``. A hook that shields itself from cancellation runs on, because a
  timeout acts only at a checkpoint.
* An executor that blocks without a checkpoint stops the whole event loop: its
  lifespan, drains and every other task wait until it reaches a checkpoint.
* Cancelling the scope around the bucket rescues every live task and ends quietly.
* rescue() from several tasks at once rescues each task once, in one of the calls.
* A journal write that fails crashes the bucket, which rescues every live task.
* Other threads reach the bucket through ``trio.from_thread``; calling it directly
  from another thread raises RuntimeError and changes nothing.

Set ``TRIO_BUCKET_STRESS=1`` to run many more seeded cancellation trials.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest
import trio
import trio.testing

from trio_bucket import (
    Bucket,
    BucketClosedError,
    Executor,
    Outcome,
    TaskHandle,
    TaskKind,
    TaskRecord,
    open_bucket,
)

STRESS = os.environ.get("TRIO_BUCKET_STRESS", "") not in ("", "0")
CANCEL_TRIALS = 2000 if STRESS else 100

OUTCOME_HOOKS = {
    "on_finish": Outcome.FINISHED,
    "on_execute_error": Outcome.FAILED,
    "on_exhausted": Outcome.EXHAUSTED,
    "on_panic": Outcome.RESCUED,
}


class Crash(BaseException):
    """A BaseException that is neither KeyboardInterrupt nor SystemExit."""


class ScriptedExecutor(Executor):
    """Runs each task as its data describes and logs every hook call.

    ``task.data`` is a dict: ``"sleep"`` seconds for on_execute (default 0),
    ``"raise"`` an exception for on_execute to raise after that, and ``"hooks"``
    a dict from hook name to an exception that hook raises, or to ``"forever"``
    for a hook that never returns, or to ``("shielded", seconds)`` for a hook that
    shields itself from cancellation for that long.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[float, str, str]] = []

    def hooks_of(self, task_id: str) -> list[str]:
        """Return the hooks called for *task_id*, in order."""
        return [hook for _, hook, called_id in self.calls if called_id == task_id]

    async def on_execute(self, task: TaskRecord) -> None:
        self.calls.append((trio.current_time(), "on_execute", task.id))
        script: dict[str, Any] = task.data or {}
        await trio.sleep(script.get("sleep", 0))
        if "raise" in script:
            raise script["raise"]

    async def _hook(self, name: str, task: TaskRecord) -> None:
        self.calls.append((trio.current_time(), name, task.id))
        script: dict[str, Any] = task.data or {}
        action = script.get("hooks", {}).get(name)
        if action == "forever":
            await trio.sleep_forever()
        elif isinstance(action, tuple):
            with trio.CancelScope(shield=True):
                await trio.sleep(action[1])
        elif action is not None:
            raise action

    async def on_finish(self, task: TaskRecord) -> None:
        await self._hook("on_finish", task)

    async def on_execute_error(self, task: TaskRecord, error: Exception) -> None:
        await self._hook("on_execute_error", task)

    async def on_exhausted(self, task: TaskRecord) -> None:
        await self._hook("on_exhausted", task)

    async def on_panic(self, task: TaskRecord) -> None:
        await self._hook("on_panic", task)


def script_reaching(hook: str, hooks: dict[str, Any]) -> dict[str, Any]:
    """Return task data whose task reaches the outcome of *hook* by itself, or waits."""
    if hook == "on_execute_error":
        return {"raise": ValueError("failed on purpose"), "hooks": hooks}
    if hook == "on_exhausted":
        return {"sleep": 100, "hooks": hooks}
    if hook == "on_panic":
        return {"sleep": 100, "hooks": hooks}  # The test rescues it.
    return {"hooks": hooks}


# BaseException from on_execute and from hooks


@pytest.mark.parametrize("error_type", [KeyboardInterrupt, SystemExit, Crash])
async def test_base_exception_from_on_execute(
    error_type: type[BaseException], autojump_clock: trio.testing.MockClock
) -> None:
    """A BaseException from on_execute crashes the bucket after rescuing every live task.

    It is not a task failure, so no on_execute_error runs. The crashed task is still
    live when the bucket's nursery is cancelled, so it is rescued with the others,
    and the exception leaves the block alone inside a BaseExceptionGroup.
    """
    executor = ScriptedExecutor()
    handles: list[TaskHandle] = []
    with pytest.RaisesGroup(error_type):
        async with open_bucket(executor, lifespan=20) as bucket:
            handles.append(bucket.fill_nowait("crash", {"sleep": 1, "raise": error_type()}))
            handles.append(bucket.fill_nowait("sleeper", {"sleep": 10}))
            handles.append(bucket.fill_nowait("bomb", kind=TaskKind.TIME_BOMB, run_after=5))
            await trio.sleep(3)
            pytest.fail("the body was not cancelled")

    assert [handle.outcome for handle in handles] == [Outcome.RESCUED] * 3
    assert executor.hooks_of("crash") == ["on_execute", "on_panic"]
    assert executor.hooks_of("sleeper") == ["on_execute", "on_panic"]
    assert executor.hooks_of("bomb") == ["on_panic"]
    assert {at for at, hook, _ in executor.calls if hook == "on_panic"} == {1.0}
    statistics = bucket.statistics()
    assert statistics.rescued == 3
    assert statistics.live == 0
    assert statistics.hooks_running == 0


@pytest.mark.parametrize("hook", ["on_finish", "on_execute_error", "on_exhausted"])
async def test_base_exception_from_outcome_hook(
    hook: str, autojump_clock: trio.testing.MockClock
) -> None:
    """A BaseException from an outcome hook crashes the bucket; the task keeps its outcome.

    The outcome is claimed before its hook runs, so the task is not rescued as
    well. The raise is not counted in hook_errors: it is not a hook error but a
    crash. Every other live task is rescued.
    """
    executor = ScriptedExecutor()
    with pytest.RaisesGroup(KeyboardInterrupt):
        async with open_bucket(executor, lifespan=5) as bucket:
            crashing = bucket.fill_nowait(
                "crash", script_reaching(hook, {hook: KeyboardInterrupt()})
            )
            bystander = bucket.fill_nowait("bystander", {"sleep": 40}, lifespan=50)
            await trio.sleep(100)

    assert crashing.outcome is OUTCOME_HOOKS[hook]
    assert executor.hooks_of("crash") == ["on_execute", hook]
    assert bystander.outcome is Outcome.RESCUED
    assert executor.hooks_of("bystander") == ["on_execute", "on_panic"]
    assert bucket.statistics().hook_errors == 0
    assert bucket.statistics().live == 0


async def test_base_exception_from_on_panic(autojump_clock: trio.testing.MockClock) -> None:
    """A BaseException from on_panic crashes the bucket; the other panic hooks still finish.

    Panic hooks run shielded in the bucket's nursery, so the crash cannot cut the
    others short. Every task keeps its single RESCUED outcome.
    """
    executor = ScriptedExecutor()
    slow_panic = {"sleep": 100, "hooks": {"on_panic": ("shielded", 2)}}
    with pytest.RaisesGroup(KeyboardInterrupt):
        async with open_bucket(executor, lifespan=200) as bucket:
            crashing = bucket.fill_nowait(
                "crash", script_reaching("on_panic", {"on_panic": KeyboardInterrupt()})
            )
            slow = bucket.fill_nowait("slow", slow_panic)
            await trio.sleep(1)
            await bucket.rescue()

    assert crashing.outcome is Outcome.RESCUED
    assert slow.outcome is Outcome.RESCUED
    assert executor.hooks_of("crash") == ["on_execute", "on_panic"]
    assert executor.hooks_of("slow") == ["on_execute", "on_panic"]
    assert trio.current_time() == 3.0  # The block waited for the slow panic hook.
    assert bucket.statistics().hooks_running == 0


async def test_base_exception_from_hook_during_exit_rescue(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A BaseException from on_panic while the block exits with an error joins that error.

    Both leave the block in one BaseExceptionGroup, so neither is lost.
    """
    executor = ScriptedExecutor()
    with pytest.RaisesGroup(ValueError, KeyboardInterrupt):
        async with open_bucket(executor, lifespan=200) as bucket:
            handle = bucket.fill_nowait(
                "crash", script_reaching("on_panic", {"on_panic": KeyboardInterrupt()})
            )
            await trio.sleep(1)
            raise ValueError("the body failed")

    assert handle.outcome is Outcome.RESCUED
    assert bucket.statistics().rescued == 1


def test_ctrl_c_rescues_and_propagates_as_itself() -> None:
    """SIGINT while the block waits rescues every live task; KeyboardInterrupt leaves as itself.

    Trio raises KeyboardInterrupt in the main task, which here is the body of the
    block, so it is the block's own exception and is not wrapped in a group.
    """
    executor = ScriptedExecutor()
    handles: list[TaskHandle] = []

    async def main() -> None:
        async with open_bucket(executor, lifespan=20) as bucket:
            handles.append(bucket.fill_nowait("sleeper", {"sleep": 10}))
            handles.append(bucket.fill_nowait("bomb", kind=TaskKind.TIME_BOMB, run_after=5))
            await trio.sleep(1)
            signal.raise_signal(signal.SIGINT)
            await trio.sleep(100)

    # Trio turns SIGINT into KeyboardInterrupt only while SIGINT has Python's default
    # handler; a shell that starts the tests in the background ignores SIGINT.
    previous_handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    finally:
        signal.signal(signal.SIGINT, previous_handler)

    assert [handle.outcome for handle in handles] == [Outcome.RESCUED, Outcome.RESCUED]
    assert executor.hooks_of("sleeper") == ["on_execute", "on_panic"]
    assert executor.hooks_of("bomb") == ["on_panic"]


# Hooks that do not return


@pytest.mark.parametrize("hook", sorted(OUTCOME_HOOKS))
async def test_stuck_hook_times_out(
    hook: str, autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A hook that never returns is cancelled after hook_timeout and counted in hook_errors.

    The timeout is logged at ERROR with the hook, the task id and the fix.
    """
    executor = ScriptedExecutor()
    async with open_bucket(executor, lifespan=5, hook_timeout=3) as bucket:
        handle = bucket.fill_nowait("stuck", script_reaching(hook, {hook: "forever"}))
        if hook == "on_panic":
            await trio.sleep(1)
            await bucket.rescue()
    settled_at = {"on_finish": 0.0, "on_execute_error": 0.0, "on_exhausted": 5.0, "on_panic": 1.0}

    assert trio.current_time() == settled_at[hook] + 3
    assert handle.outcome is OUTCOME_HOOKS[hook]
    assert bucket.statistics().hook_errors == 1
    assert bucket.statistics().hooks_running == 0
    assert [
        record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR
    ] == [
        f"{hook} hook for task 'stuck' timed out after 3.0 seconds and was cancelled; "
        "raise hook_timeout if it needs longer"
    ]


async def test_shielded_hook_outlives_timeout(autojump_clock: trio.testing.MockClock) -> None:
    """A hook that shields itself from cancellation runs past hook_timeout; the exit waits.

    The timeout cancels the hook, but cancellation acts only at a checkpoint outside
    the hook's own shield. The hook then returns normally, so it is not counted as
    a hook error. A hook that shields itself forever would hang the block's exit.
    """
    executor = ScriptedExecutor()
    async with open_bucket(executor, hook_timeout=3) as bucket:
        bucket.fill_nowait("shielded", {"hooks": {"on_finish": ("shielded", 100)}})

    assert trio.current_time() == 100.0
    assert bucket.statistics().hook_errors == 0


# Executors that block without a checkpoint


class BlockingExecutor(Executor):
    """An on_execute that lets ``task.data`` seconds pass without a checkpoint, like time.sleep."""

    def __init__(self, clock: trio.testing.MockClock) -> None:
        self.clock = clock
        self.calls: list[tuple[float, str, str]] = []

    async def on_execute(self, task: TaskRecord) -> None:
        self.calls.append((trio.current_time(), "on_execute", task.id))
        if task.data == "block":
            self.clock.jump(10)  # Time passes while the event loop is stuck here.
        else:
            await trio.sleep(task.data)

    async def on_finish(self, task: TaskRecord) -> None:
        self.calls.append((trio.current_time(), "on_finish", task.id))

    async def on_exhausted(self, task: TaskRecord) -> None:
        self.calls.append((trio.current_time(), "on_exhausted", task.id))


async def test_blocking_executor_finishes_past_lifespan(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The lifespan is enforced only at checkpoints: an executor that blocks past it finishes."""
    executor = BlockingExecutor(autojump_clock)
    async with open_bucket(executor, lifespan=5) as bucket:
        handle = bucket.fill_nowait("blocker", "block")

    assert handle.outcome is Outcome.FINISHED
    assert executor.calls == [(0.0, "on_execute", "blocker"), (10.0, "on_finish", "blocker")]


async def test_blocking_executor_delays_other_tasks(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """While one executor blocks, other tasks' deadlines and time bombs wait for the loop.

    A running task whose deadline passed meanwhile is exhausted when the loop runs
    again, and a time bomb that fell due meanwhile starts late, with only the rest
    of its lifespan left.
    """
    executor = BlockingExecutor(autojump_clock)
    async with open_bucket(executor, lifespan=5) as bucket:
        sleeper = bucket.fill_nowait("sleeper", 100)
        bomb = bucket.fill_nowait("bomb", 0, kind=TaskKind.TIME_BOMB, run_after=2, lifespan=20)
        await trio.sleep(1)
        bucket.fill_nowait("blocker", "block")

    assert sleeper.outcome is Outcome.EXHAUSTED
    assert bomb.outcome is Outcome.FINISHED
    assert (11.0, "on_exhausted", "sleeper") in executor.calls
    assert (11.0, "on_execute", "bomb") in executor.calls


# Cancelling the whole bucket


class CountingExecutor(Executor):
    """Random work per task; counts every hook call by task id."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()
        self.rescue_hooks_at: dict[str, float] = {}

    async def on_execute(self, task: TaskRecord) -> None:
        self.calls[task.id, "on_execute"] += 1
        seconds, fails = task.data
        await trio.sleep(seconds)
        if fails:
            raise ValueError("failed on purpose")

    async def on_finish(self, task: TaskRecord) -> None:
        self.calls[task.id, "on_finish"] += 1

    async def on_execute_error(self, task: TaskRecord, error: Exception) -> None:
        self.calls[task.id, "on_execute_error"] += 1

    async def on_exhausted(self, task: TaskRecord) -> None:
        self.calls[task.id, "on_exhausted"] += 1

    async def on_panic(self, task: TaskRecord) -> None:
        self.calls[task.id, "on_panic"] += 1
        self.rescue_hooks_at[task.id] = trio.current_time()
        await trio.sleep(0.5)


async def run_cancel_trial(seed: int) -> None:
    """Fill and drain at random, cancel the whole bucket at a random moment, check outcomes."""
    chooser = random.Random(seed)
    executor = CountingExecutor()
    handles: list[TaskHandle] = []
    cancel_at = chooser.choice([chooser.uniform(0, 6), float(chooser.randint(0, 6))])
    box: list[Bucket] = []
    cancel_deadline = trio.current_time() + cancel_at

    with trio.move_on_at(cancel_deadline) as outer:
        async with open_bucket(executor, lifespan=3, run_after=1, max_tasks=4) as bucket:
            box.append(bucket)
            for number in range(chooser.randint(0, 12)):
                kind = chooser.choice(list(TaskKind))
                data = (chooser.choice([0, 0.5, 1, 2, 5]), chooser.random() < 0.3)
                handles.append(await bucket.fill(f"task-{number}", data, kind=kind))
                if chooser.random() < 0.2 and bucket.get(f"task-{number}") is not None:
                    bucket.drain(f"task-{number}")
                await trio.sleep(chooser.choice([0, 0, 0.25, 1]))

    bucket = box[0]
    cancelled_inside = outer.cancelled_caught
    for handle in handles:
        assert handle.outcome is not None, f"seed {seed}: {handle.id} has no outcome"
        with trio.fail_after(1):
            assert await handle.wait() is handle.outcome
        outcome_hooks = [hook for hook in OUTCOME_HOOKS if executor.calls[handle.id, hook]]
        counts = [executor.calls[handle.id, hook] for hook in outcome_hooks]
        if handle.outcome is Outcome.DRAINED:
            assert outcome_hooks == [], f"seed {seed}: {handle.id}"
        else:
            assert outcome_hooks == [
                hook for hook, outcome in OUTCOME_HOOKS.items() if outcome is handle.outcome
            ], f"seed {seed}: {handle.id}"
            assert counts == [1], f"seed {seed}: {handle.id}"
        assert executor.calls[handle.id, "on_execute"] <= 1
        if handle.outcome is Outcome.RESCUED:
            assert cancelled_inside, f"seed {seed}: {handle.id} rescued without a cancel"
            assert executor.rescue_hooks_at[handle.id] == cancel_deadline

    statistics = bucket.statistics()
    assert statistics.live == 0
    assert statistics.hooks_running == 0
    assert statistics.filled == len(handles)
    by_outcome = Counter(handle.outcome for handle in handles)
    assert statistics.rescued == by_outcome[Outcome.RESCUED]
    assert statistics.drained == by_outcome[Outcome.DRAINED]
    assert statistics.finished == by_outcome[Outcome.FINISHED]


async def test_cancel_bucket_at_random_moments(autojump_clock: trio.testing.MockClock) -> None:
    """Cancelling the scope around the bucket, at any moment, leaves no task without an outcome.

    Every task live at the cancel is rescued (on_panic runs at that moment, once),
    every other task keeps the one outcome it had, and the cancellation is absorbed
    by the scope that asked for it: nothing is raised.
    """
    for seed in range(CANCEL_TRIALS):
        await run_cancel_trial(seed)


async def test_cancel_while_fill_waits_for_room(autojump_clock: trio.testing.MockClock) -> None:
    """A fill() waiting for room when the bucket is cancelled adds nothing; the rest is rescued."""
    executor = CountingExecutor()
    with trio.move_on_after(1):
        async with open_bucket(executor, lifespan=10, max_tasks=1) as bucket:
            first = bucket.fill_nowait("first", (5, False))
            await bucket.fill("second", (5, False))

    assert first.outcome is Outcome.RESCUED
    assert bucket.statistics().filled == 1
    assert ("second", "on_execute") not in executor.calls


# Concurrent rescue


async def test_concurrent_rescues_take_each_task_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """rescue() from several tasks at once: the first call takes every live task.

    The others find nothing live and return an empty list at once, without waiting
    for the first call's panic hooks. Every task gets on_panic exactly once.
    """
    executor = CountingExecutor()
    results: list[tuple[float, list[str]]] = []

    async def rescue(bucket: Bucket) -> None:
        records = await bucket.rescue()
        results.append((trio.current_time(), [record.id for record in records]))

    async with open_bucket(executor, lifespan=10) as bucket:
        for number in range(6):
            bucket.fill_nowait(f"task-{number}", (5, False))
        bucket.fill_nowait("bomb", (1, False), kind=TaskKind.TIME_BOMB, run_after=2)
        await trio.sleep(1)
        async with trio.open_nursery() as nursery:
            for _ in range(4):
                nursery.start_soon(rescue, bucket)

    by_size = sorted(results, key=lambda result: len(result[1]))
    assert [ids for _, ids in by_size[:3]] == [[], [], []]
    assert [at for at, _ in by_size[:3]] == [1.0, 1.0, 1.0]
    assert by_size[3] == (1.5, [f"task-{number}" for number in range(6)] + ["bomb"])
    assert all(count == 1 for (_, hook), count in executor.calls.items() if hook == "on_panic")
    assert bucket.statistics().rescued == 7


async def test_rescue_during_rescue_takes_new_tasks(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A rescue() while another's panic hooks run takes only the tasks filled since."""
    executor = CountingExecutor()
    async with open_bucket(executor, lifespan=10) as bucket, trio.open_nursery() as nursery:
        bucket.fill_nowait("old", (5, False))
        nursery.start_soon(bucket.rescue)
        await trio.testing.wait_all_tasks_blocked()
        bucket.fill_nowait("new", (5, False))
        records = await bucket.rescue()

    assert [record.id for record in records] == ["new"]
    assert executor.calls["old", "on_panic"] == 1
    assert executor.calls["new", "on_panic"] == 1


# A journal whose store fails


class FailingStore:
    """A rescue store in a dict whose save() raises OSError from its *fail_from*-th call on."""

    def __init__(self, fail_from: int) -> None:
        self.records: dict[str, TaskRecord] = {}
        self.saves = 0
        self.fail_from = fail_from

    async def save(self, records: Sequence[TaskRecord]) -> None:
        await trio.lowlevel.checkpoint()
        self.saves += 1
        if self.saves >= self.fail_from:
            raise OSError("disk full")
        for record in records:
            self.records[record.id] = record

    async def load(self) -> list[TaskRecord]:
        await trio.lowlevel.checkpoint()
        return list(self.records.values())

    async def remove(self, task_ids: Sequence[str]) -> None:
        await trio.lowlevel.checkpoint()
        for task_id in task_ids:
            self.records.pop(task_id, None)

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()


async def test_failed_journal_write_crashes_bucket(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A journal write that raises crashes the bucket, because the journal can no longer
    keep its promise. The store's error leaves the block in a BaseExceptionGroup, and
    every live task is rescued: on_panic runs although saving the rescued tasks fails
    too, which is logged.
    """
    executor = ScriptedExecutor()
    store = FailingStore(fail_from=2)
    with pytest.RaisesGroup(pytest.RaisesExc(OSError, match="^disk full$")):
        async with open_bucket(executor, store=store, journal=True, lifespan=50) as bucket:
            written = await bucket.fill("written", {"sleep": 10})
            unwritten = bucket.fill_nowait("unwritten", {"sleep": 10})
            await trio.sleep(5)

    assert written.outcome is Outcome.RESCUED
    assert unwritten.outcome is Outcome.RESCUED
    assert executor.hooks_of("written") == ["on_execute", "on_panic"]
    assert executor.hooks_of("unwritten") == ["on_panic"]  # Never written, so never run.
    assert list(store.records) == ["written"]
    assert "saving 2 rescued tasks to the store failed" in caplog.messages


async def test_fill_waiting_on_failed_journal_write_raises(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """In journal mode, fill() returns once the task is written; when the write fails it
    raises BucketClosedError rather than return a handle whose task the store never got.
    """
    store = FailingStore(fail_from=1)
    errors: list[BaseException] = []

    async def fill_from_outside(bucket: Bucket) -> None:
        try:
            await bucket.fill("outside")
        except BucketClosedError as error:
            errors.append(error)

    async with trio.open_nursery() as nursery:
        with pytest.RaisesGroup(OSError):
            async with open_bucket(Executor(), store=store, journal=True) as bucket:
                nursery.start_soon(fill_from_outside, bucket)
                await trio.sleep(1)

    assert "outside" not in store.records
    [error] = errors
    assert str(error) == (
        "task 'outside' may not be in the journal: writing to the store failed, "
        "so the bucket is shutting down; check the store, then fill the task again"
    )


# Other threads


class GatedExecutor(Executor):
    """on_execute waits until the test opens the gate, so drains find tasks running."""

    def __init__(self) -> None:
        self.gate = trio.Event()
        self.finished: list[str] = []

    async def on_execute(self, task: TaskRecord) -> None:
        await self.gate.wait()

    async def on_finish(self, task: TaskRecord) -> None:
        self.finished.append(task.id)


async def test_threads_fill_and_drain_through_from_thread(
    mock_clock: trio.testing.MockClock,
) -> None:
    """Threads fill with fill_nowait and fill, and drain, through trio.from_thread.

    The calls run in the Trio thread, so the counters add up exactly. (The mock
    clock does not move, so the threads' real time cannot exhaust a task.)
    """
    executor = GatedExecutor()
    threads, per_thread = 4, 50

    def worker(number: int) -> None:
        for index in range(per_thread):
            task_id = f"thread-{number}-{index}"
            if index % 2:
                trio.from_thread.run_sync(bucket.fill_nowait, task_id)
            else:
                trio.from_thread.run(bucket.fill, task_id)
        for index in range(0, per_thread, 2):
            trio.from_thread.run_sync(bucket.drain, f"thread-{number}-{index}")

    async with open_bucket(executor, max_tasks=threads * per_thread) as bucket:
        async with trio.open_nursery() as nursery:
            for number in range(threads):
                nursery.start_soon(trio.to_thread.run_sync, worker, number)
        assert len(bucket) == threads * per_thread // 2
        executor.gate.set()

    statistics = bucket.statistics()
    assert statistics.filled == threads * per_thread
    assert statistics.drained == threads * per_thread // 2
    assert statistics.finished == threads * per_thread // 2
    assert sorted(executor.finished) == sorted(
        f"thread-{number}-{index}" for number in range(threads) for index in range(1, per_thread, 2)
    )


async def test_direct_call_from_thread_changes_nothing(mock_clock: trio.testing.MockClock) -> None:
    """fill_nowait called straight from another thread raises RuntimeError and adds no task."""
    errors: list[BaseException] = []

    async with open_bucket(Executor()) as bucket:

        def worker() -> None:
            try:
                bucket.fill_nowait("from-thread")
            except RuntimeError as error:
                errors.append(error)

        thread = threading.Thread(target=worker)
        thread.start()
        await trio.to_thread.run_sync(thread.join)

    assert len(errors) == 1
    assert "from-thread" not in bucket
    assert bucket.statistics().filled == 0
