"""Model-based test: hypothesis drives a real bucket and a plain model side by side.

How the steps reach Trio: a hypothesis state machine calls its rules synchronously,
but a bucket lives inside one ``trio.run``. Each example therefore runs its own
``trio.run`` in a worker thread, on a :class:`trio.testing.MockClock` whose time
moves only when a rule jumps it. A rule sends its step to that loop with
:func:`trio.from_thread.run` and blocks until the step is done and every Trio task
is blocked again (:func:`trio.testing.wait_all_tasks_blocked`). Between steps the
loop is idle and its clock does not move, so the invariant, which runs after every
step, compares a settled bucket with the model.

Time: every duration is a whole number of seconds, so every time is an exact float
and ties are exact. Advancing the clock jumps to each pending Trio deadline in turn,
as real time would pass, never past one.

The model is plain Python: it computes when each task starts and ends from its
plan, and replays claims, waiting fills and rescues in time order. Half the
examples open the bucket with ``journal=True`` on a store in a dict, whose writes
take no time, and the model also predicts which task the store contains for each
id after every step.

Set ``TRIO_BUCKET_STRESS=1`` to run the long profile (thousands of examples).
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import attrs
import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

from trio_bucket import (
    Bucket,
    BucketClosedError,
    BucketFullError,
    DuplicateTaskError,
    Outcome,
    TaskHandle,
    TaskKind,
    TaskNotFoundError,
    TaskRecord,
    open_bucket,
)

T = TypeVar("T")

#: Set to 1 to run the long hypothesis profile.
STRESS_VARIABLE = "TRIO_BUCKET_STRESS"

settings.register_profile(
    "bucket-model-quick",
    max_examples=200,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "bucket-model-long",
    max_examples=3000,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

TASK_IDS = ("a", "b", "c", "d", "e")

#: Outcome hook names by outcome.
HOOKS = {
    Outcome.FINISHED: "on_finish",
    Outcome.FAILED: "on_execute_error",
    Outcome.EXHAUSTED: "on_exhausted",
    Outcome.RESCUED: "on_panic",
}


class PlannedError(Exception):
    """Raised on purpose by on_execute or an outcome hook when the task's plan requests it."""


@attrs.frozen
class Plan:
    """What the executor does for one task; carried as the task's data."""

    serial: int
    #: Seconds that on_execute first spends shielded from cancellation.
    shield: int
    #: Seconds that on_execute then sleeps, unshielded; inf sleeps past any lifespan.
    work: float
    #: Whether on_execute raises PlannedError after its sleep.
    raises: bool
    #: Seconds that the outcome hook sleeps.
    hook_seconds: int
    #: Whether the outcome hook raises PlannedError after its sleep.
    hook_raises: bool


def plan_of(task: TaskRecord) -> Plan:
    """Return the plan that a task's data carries, as a JSON object so that stores accept it."""
    return Plan(**task.data)


def serial_of(task: TaskRecord) -> int:
    """Return the serial number of the task's plan."""
    return plan_of(task).serial


class MemoryStore:
    """A rescue store in a dict: each call is one checkpoint and takes no time."""

    def __init__(self) -> None:
        self.records: dict[str, TaskRecord] = {}

    async def save(self, records: Sequence[TaskRecord]) -> None:
        await trio.lowlevel.checkpoint()
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


@attrs.define
class Observations:
    """What the real bucket did, written by the executor and the step helpers."""

    executed: dict[int, list[float]] = attrs.field(factory=dict)
    hooks: dict[int, list[tuple[str, float]]] = attrs.field(factory=dict)
    errors: dict[int, Exception] = attrs.field(factory=dict)
    handles: dict[int, TaskHandle] = attrs.field(factory=dict)
    waited: dict[int, tuple[float, Outcome]] = attrs.field(factory=dict)
    rescues: dict[int, tuple[float, list[int]]] = attrs.field(factory=dict)
    waiting_fills: dict[int, str] = attrs.field(factory=dict)


class PlannedExecutor:
    """Runs each task by its :class:`Plan` and logs every call with the Trio clock's time."""

    def __init__(self, observed: Observations) -> None:
        self.observed = observed

    async def on_execute(self, task: TaskRecord) -> None:
        plan = plan_of(task)
        self.observed.executed.setdefault(plan.serial, []).append(trio.current_time())
        if plan.shield:
            with trio.CancelScope(shield=True):
                await trio.sleep(plan.shield)
        await trio.sleep(plan.work)
        if plan.raises:
            raise PlannedError(f"task {plan.serial} failed")

    async def _hook(self, name: str, task: TaskRecord) -> None:
        plan = plan_of(task)
        self.observed.hooks.setdefault(plan.serial, []).append((name, trio.current_time()))
        await trio.sleep(plan.hook_seconds)
        if plan.hook_raises:
            raise PlannedError(f"{name} of task {plan.serial} failed")

    async def on_finish(self, task: TaskRecord) -> None:
        await self._hook("on_finish", task)

    async def on_execute_error(self, task: TaskRecord, error: Exception) -> None:
        self.observed.errors[serial_of(task)] = error
        await self._hook("on_execute_error", task)

    async def on_exhausted(self, task: TaskRecord) -> None:
        await self._hook("on_exhausted", task)

    async def on_panic(self, task: TaskRecord) -> None:
        await self._hook("on_panic", task)


class TrioThread:
    """One ``trio.run`` on a MockClock in a worker thread, stepped by the caller."""

    def __init__(self) -> None:
        self.clock = trio.testing.MockClock()
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._token: trio.lowlevel.TrioToken | None = None
        self._stop: trio.Event | None = None
        self._nursery: trio.Nursery | None = None
        self._thread = threading.Thread(target=self._main, name="trio-model", daemon=True)
        self._thread.start()
        self._ready.wait()

    def _main(self) -> None:
        try:
            trio.run(self._serve, clock=self.clock)
        except BaseException as error:  # Reported to the test by check_alive().
            self.error = error
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        self._stop = trio.Event()
        self._token = trio.lowlevel.current_trio_token()
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            self._ready.set()
            await self._stop.wait()
            # Let the clock run, so that a failed example still ends: the cancelled
            # bucket rescues its tasks, and their hooks sleep on this clock.
            self.clock.autojump_threshold = 0
            nursery.cancel_scope.cancel()

    @property
    def nursery(self) -> trio.Nursery:
        """trio.Nursery: Where steps start their background tasks."""
        assert self._nursery is not None
        return self._nursery

    def check_alive(self) -> None:
        """Raise the error that ended the Trio thread, if it ended."""
        if self.error is not None:
            raise AssertionError("the Trio loop crashed") from self.error

    def run(self, step: Callable[[], Awaitable[T]]) -> T:
        """Run *step* in the loop, then wait until every Trio task is blocked again."""
        self.check_alive()

        async def run_then_settle() -> T:
            try:
                return await step()
            finally:
                await trio.testing.wait_all_tasks_blocked()

        return trio.from_thread.run(run_then_settle, trio_token=self._token)

    def run_sync(self, function: Callable[[], T]) -> T:
        """Call *function* in the loop, then wait until every Trio task is blocked again."""

        async def call() -> T:
            return function()

        return self.run(call)

    def advance(self, seconds: float) -> None:
        """Let *seconds* pass, stopping at every Trio deadline on the way."""

        async def advance() -> None:
            target = trio.current_time() + seconds
            while True:
                await trio.testing.wait_all_tasks_blocked()
                now = trio.current_time()
                due_in = trio.lowlevel.current_statistics().seconds_to_next_deadline
                if now + due_in > target:
                    break
                self.clock.jump(max(due_in, 0.0))
            self.clock.jump(target - trio.current_time())

        self.run(advance)

    def stop(self) -> None:
        """End the loop and its thread."""
        if self.error is None and self._stop is not None:
            try:
                trio.from_thread.run_sync(self._stop.set, trio_token=self._token)
            except trio.RunFinishedError:
                pass
        self._thread.join(timeout=30)


@attrs.define
class ModelTask:
    """The model's view of one filled task."""

    plan: Plan
    task_id: str
    kind: TaskKind
    filled_at: float
    run_at: float
    deadline: float
    hook_timeout: float
    outcome: Outcome | None = None
    settled_at: float = math.inf

    def natural_end(self) -> tuple[Outcome, float]:
        """Return the outcome the task reaches by itself, and when."""
        plan = self.plan
        shield_end = self.run_at + plan.shield
        if self.deadline <= shield_end:
            # The first checkpoint after the shield raises Cancelled.
            return Outcome.EXHAUSTED, shield_end
        end = shield_end + plan.work
        if self.deadline <= end:
            return Outcome.EXHAUSTED, self.deadline
        return (Outcome.FAILED if plan.raises else Outcome.FINISHED), end

    def started(self, now: float) -> bool:
        """Return whether on_execute has been called by *now*."""
        return self.run_at <= min(now, self.settled_at)

    @property
    def has_hook(self) -> bool:
        """bool: Whether an outcome hook runs: every settled task but a drained one."""
        return self.outcome is not None and self.outcome is not Outcome.DRAINED

    @property
    def done_at(self) -> float:
        """float: When the outcome hook returns or times out, which ends TaskHandle.wait()."""
        if not self.has_hook:
            return self.settled_at
        return self.settled_at + min(self.plan.hook_seconds, self.hook_timeout)

    @property
    def hook_failed(self) -> bool:
        """bool: Whether the outcome hook raises or times out."""
        return self.plan.hook_seconds >= self.hook_timeout or self.plan.hook_raises


@attrs.define
class ModelFill:
    """A fill() call waiting for room."""

    plan: Plan
    task_id: str
    kind: TaskKind
    run_after: float
    lifespan: float


@attrs.define
class ModelRescue:
    """A rescue() call: when it began, which tasks it took, when it returns."""

    started_at: float
    serials: list[int]
    returns_at: float


@attrs.define
class Model:
    """A plain model of a bucket on a clock that moves only in advance_to()."""

    lifespan: float
    run_after: float
    max_tasks: int
    hook_timeout: float
    journal: bool
    now: float = 0.0
    live: dict[str, ModelTask] = attrs.field(factory=dict)
    tasks: dict[int, ModelTask] = attrs.field(factory=dict)
    waiting: list[ModelFill] = attrs.field(factory=list)
    rescues: dict[int, ModelRescue] = attrs.field(factory=dict)
    #: With a journal: the serial of the task that the store contains for each id.
    stored: dict[str, int] = attrs.field(factory=dict)

    def insert(self, fill: ModelFill) -> None:
        """Add a filled task at the current time."""
        run_after = fill.run_after if fill.kind is TaskKind.TIME_BOMB else 0.0
        task = ModelTask(
            plan=fill.plan,
            task_id=fill.task_id,
            kind=fill.kind,
            filled_at=self.now,
            run_at=self.now + run_after,
            deadline=self.now + fill.lifespan,
            hook_timeout=self.hook_timeout,
        )
        self.live[fill.task_id] = task
        self.tasks[fill.plan.serial] = task
        if self.journal:
            self.stored[fill.task_id] = fill.plan.serial

    def claim(self, task: ModelTask, outcome: Outcome) -> None:
        """Give *task* its outcome now, and let the first waiting fill in."""
        task.outcome = outcome
        task.settled_at = self.now
        del self.live[task.task_id]
        if self.journal and outcome is not Outcome.RESCUED:
            # The journal removes a task at every outcome but RESCUED.
            assert self.stored.pop(task.task_id) == task.plan.serial
        if self.waiting and len(self.live) < self.max_tasks:
            self.insert(self.waiting.pop(0))

    def advance_to(self, target: float) -> None:
        """Settle every task whose natural end comes by *target*, in time order."""
        while True:
            ends = [(task.natural_end(), task) for task in self.live.values()]
            due = [(end, task) for end, task in ends if end[1] <= target]
            if not due:
                break
            self.now = min(end[1] for end, _ in due)
            for (outcome, at), task in due:
                if at == self.now:
                    self.claim(task, outcome)
        self.now = target

    def rescue(self, number: int) -> None:
        """Rescue every live task now."""
        rescued_tasks = list(self.live.values())
        for task in rescued_tasks:
            self.claim(task, Outcome.RESCUED)
        if self.journal:
            # rescue() saves the rescued tasks again, over their journal entries.
            self.stored.update({task.task_id: task.plan.serial for task in rescued_tasks})
        returns_at = max([self.now, *(task.done_at for task in rescued_tasks)])
        self.rescues[number] = ModelRescue(
            self.now, [t.plan.serial for t in rescued_tasks], returns_at
        )
        self.advance_to(self.now)

    def count(self, outcome: Outcome) -> int:
        """Return how many tasks have reached *outcome*."""
        return sum(1 for task in self.tasks.values() if task.outcome is outcome)


# Strategies

plans_without_serial = st.fixed_dictionaries(
    {
        "shield": st.one_of(st.just(0), st.integers(1, 3)),
        "work": st.one_of(st.integers(0, 4).map(float), st.just(math.inf)),
        "raises": st.booleans(),
        "hook_seconds": st.integers(0, 3),
        "hook_raises": st.booleans(),
    }
)


class BucketMachine(RuleBasedStateMachine):
    """Random fills, drains, rescues and clock advances, checked against :class:`Model`."""

    def __init__(self) -> None:
        super().__init__()
        self.loop: TrioThread | None = None
        self.model: Model | None = None
        self.observed = Observations()
        self.store: MemoryStore | None = None
        self.bucket: Bucket | None = None
        self.bucket_closed = False
        self.close_requested: trio.Event | None = None
        self.next_serial = 0
        self.next_rescue = 0
        self.last_handle: dict[str, TaskHandle] = {}

    def parts(self) -> tuple[TrioThread, Model, Bucket]:
        """Return the loop, the model and the bucket, which exist once open_in_loop has run."""
        assert self.loop is not None
        assert self.model is not None
        assert self.bucket is not None
        return self.loop, self.model, self.bucket

    # Setup

    @initialize(
        lifespan=st.integers(1, 8),
        run_after_share=st.floats(0, 0.99),
        max_tasks=st.integers(1, 4),
        hook_timeout=st.sampled_from([1.0, 2.0, 5.0, math.inf]),
        journal=st.booleans(),
    )
    def open_in_loop(
        self,
        lifespan: int,
        run_after_share: float,
        max_tasks: int,
        hook_timeout: float,
        journal: bool,
    ) -> None:
        run_after = float(int(lifespan * run_after_share))
        self.model = Model(float(lifespan), run_after, max_tasks, hook_timeout, journal)
        self.store = MemoryStore() if journal else None
        self.loop = TrioThread()
        executor = PlannedExecutor(self.observed)

        async def hold_bucket(task_status: trio.TaskStatus[Bucket]) -> None:
            self.close_requested = trio.Event()
            async with open_bucket(
                executor,
                lifespan=lifespan,
                run_after=run_after,
                max_tasks=max_tasks,
                hook_timeout=hook_timeout,
                store=self.store,
                journal=journal,
            ) as bucket:
                task_status.started(bucket)
                await self.close_requested.wait()
            self.bucket_closed = True

        loop = self.loop

        async def start() -> Bucket:
            bucket: Bucket = await loop.nursery.start(hold_bucket)
            return bucket

        self.bucket = loop.run(start)

    def teardown(self) -> None:
        loop = self.loop
        if loop is None:
            return
        try:
            if loop.error is None and self.close_requested is not None:
                self.close_and_check()
        finally:
            loop.stop()
        loop.check_alive()

    def close_and_check(self) -> None:
        """Leave the bucket's block, let time pass until it has exited, and check the end."""
        loop, model, bucket = self.parts()
        close_requested = self.close_requested
        assert close_requested is not None
        loop.run_sync(close_requested.set)
        for _ in range(100):
            if loop.run_sync(lambda: self.bucket_closed):
                break
            self.advance(10)
            self.matches_model()
        assert self.bucket_closed, "the bucket's block did not exit once every task settled"

        assert not model.live
        assert not model.waiting
        assert all(task.outcome is not None for task in model.tasks.values())
        assert set(self.observed.waited) == set(model.tasks)
        if self.store is not None:
            # After the exit, the journal keeps only rescued tasks that no later
            # task with the same id replaced.
            store = self.store
            rescued = {
                task.plan.serial for task in model.tasks.values() if task.outcome is Outcome.RESCUED
            }
            assert set(model.stored.values()) <= rescued
            stored = loop.run_sync(lambda: {i: serial_of(r) for i, r in store.records.items()})
            assert stored == model.stored
        with pytest.raises(
            BucketClosedError, match=r"^cannot fill task 'a': the bucket's block has exited$"
        ):
            loop.run_sync(lambda: bucket.fill_nowait("a"))

    # Rules

    @rule(
        task_id=st.sampled_from(TASK_IDS),
        kind=st.sampled_from(TaskKind),
        lifespan=st.one_of(st.none(), st.integers(1, 8)),
        run_after=st.one_of(st.none(), st.integers(0, 8)),
        plan_fields=plans_without_serial,
        awaited=st.booleans(),
    )
    def fill(
        self,
        task_id: str,
        kind: TaskKind,
        lifespan: int | None,
        run_after: int | None,
        plan_fields: dict[str, Any],
        awaited: bool,
    ) -> None:
        loop, model, bucket = self.parts()
        plan = Plan(serial=self.next_serial, **plan_fields)
        self.next_serial += 1
        task_lifespan = model.lifespan if lifespan is None else float(lifespan)
        task_run_after = model.run_after if run_after is None else float(run_after)
        waiting_ids = {fill.task_id for fill in model.waiting}
        full = len(model.live) >= model.max_tasks
        if awaited and full and task_id in waiting_ids:
            awaited = False  # Two waiting fills of one id would race; the model forbids it.

        def call() -> TaskHandle:
            return bucket.fill_nowait(
                task_id, attrs.asdict(plan), kind=kind, run_after=run_after, lifespan=lifespan
            )

        if kind is TaskKind.IMMEDIATE and run_after is not None:
            message = (
                rf"^run_after \({run_after}\) applies only to time bombs; "
                r"pass kind=TaskKind\.TIME_BOMB or drop run_after$"
            )
            with pytest.raises(ValueError, match=message):
                loop.run_sync(call)
            return
        if kind is TaskKind.TIME_BOMB and task_run_after >= task_lifespan:
            message = (
                rf"^run_after \({task_run_after}\) must be less than lifespan "
                rf"\({task_lifespan}\), or the task would run out of time before it starts; "
                r"lower run_after or raise lifespan$"
            )
            with pytest.raises(ValueError, match=message):
                loop.run_sync(call)
            return
        if task_id in model.live:
            with pytest.raises(
                DuplicateTaskError, match=rf"^a live task already has id '{task_id}'"
            ):
                loop.run_sync(call)
            return

        model_fill = ModelFill(plan, task_id, kind, task_run_after, task_lifespan)
        if full and not awaited:
            with pytest.raises(BucketFullError, match=r"^the bucket is full \("):
                loop.run_sync(call)
            return

        if awaited:
            loop.run(
                lambda: self._start_awaited_fill(bucket, task_id, plan, kind, run_after, lifespan)
            )
            if full:
                model.waiting.append(model_fill)
            else:
                model.insert(model_fill)
        else:
            loop.run_sync(lambda: self._watch(call()))
            model.insert(model_fill)
        model.advance_to(model.now)

    async def _start_awaited_fill(
        self,
        bucket: Bucket,
        task_id: str,
        plan: Plan,
        kind: TaskKind,
        run_after: int | None,
        lifespan: int | None,
    ) -> None:
        async def fill_and_watch() -> None:
            self.observed.waiting_fills[plan.serial] = task_id
            handle = await bucket.fill(
                task_id, attrs.asdict(plan), kind=kind, run_after=run_after, lifespan=lifespan
            )
            del self.observed.waiting_fills[plan.serial]
            self._watch(handle)

        assert self.loop is not None
        self.loop.nursery.start_soon(fill_and_watch)
        await trio.lowlevel.checkpoint()

    def _watch(self, handle: TaskHandle) -> None:
        """Record the handle, and when its wait() returns, from a background task."""
        serial = serial_of(handle.record)
        self.observed.handles[serial] = handle
        self.last_handle[handle.id] = handle

        async def wait() -> None:
            outcome = await handle.wait()
            self.observed.waited[serial] = (trio.current_time(), outcome)

        assert self.loop is not None
        self.loop.nursery.start_soon(wait)

    @rule(task_id=st.sampled_from(TASK_IDS), through_handle=st.booleans())
    def drain(self, task_id: str, through_handle: bool) -> None:
        loop, model, bucket = self.parts()
        handle = self.last_handle.get(task_id)
        if through_handle and handle is not None:
            drain: Callable[[], TaskRecord] = handle.drain
            serial = serial_of(handle.record)
            is_live = model.tasks[serial].outcome is None
            missing = rf"^task '{task_id}' is no longer live: it has already reached its outcome$"
        else:
            drain = lambda: bucket.drain(task_id)  # noqa: E731
            is_live = task_id in model.live
            missing = rf"^no live task has id '{task_id}': it was never filled, or it has"

        if not is_live:
            with pytest.raises(TaskNotFoundError, match=missing):
                loop.run_sync(drain)
            return

        record = loop.run_sync(drain)
        task = model.live[task_id]
        assert serial_of(record) == task.plan.serial
        model.claim(task, Outcome.DRAINED)
        model.advance_to(model.now)

    @rule()
    def rescue(self) -> None:
        loop, model, bucket = self.parts()
        number = self.next_rescue
        self.next_rescue += 1

        async def rescue_in_background() -> None:
            records = await bucket.rescue()
            serials = [serial_of(record) for record in records]
            self.observed.rescues[number] = (trio.current_time(), serials)

        async def start() -> None:
            loop.nursery.start_soon(rescue_in_background)
            await trio.lowlevel.checkpoint()

        loop.run(start)
        model.rescue(number)

    @rule(seconds=st.integers(0, 6))
    def advance(self, seconds: int) -> None:
        loop, model, _ = self.parts()
        loop.advance(seconds)
        model.advance_to(model.now + seconds)

    # The comparison after every step

    @invariant()
    def matches_model(self) -> None:
        loop, model, bucket = self.loop, self.model, self.bucket
        if loop is None or model is None or bucket is None:
            return
        snapshot = loop.run_sync(lambda: self._snapshot(bucket))
        now = model.now
        assert snapshot["now"] == now

        assert snapshot["live"] == {task_id: t.plan.serial for task_id, t in model.live.items()}
        assert snapshot["len"] == len(model.live)
        for task_id, task in model.live.items():
            assert snapshot["records"][task_id] == (task.filled_at, task.run_at, task.deadline)

        assert snapshot["statistics"] == self._expected_statistics(model)
        self._check_tasks(snapshot, model)
        self._check_rescues(model)
        assert snapshot["waiting_fills"] == {fill.plan.serial for fill in model.waiting}
        if self.store is not None:
            assert snapshot["stored"] == model.stored

    def _snapshot(self, bucket: Bucket) -> dict[str, Any]:
        live = {}
        records = {}
        for task_id in TASK_IDS:
            record = bucket.get(task_id)
            assert (task_id in bucket) == (record is not None)
            if record is not None:
                live[task_id] = serial_of(record)
                records[task_id] = (record.filled_at, record.run_at, record.deadline)
        return {
            "now": trio.current_time(),
            "live": live,
            "len": len(bucket),
            "records": records,
            "statistics": attrs.asdict(bucket.statistics()),
            "outcomes": {serial: h.outcome for serial, h in self.observed.handles.items()},
            "waiting_fills": set(self.observed.waiting_fills),
            "stored": (
                {}
                if self.store is None
                else {task_id: serial_of(r) for task_id, r in self.store.records.items()}
            ),
        }

    @staticmethod
    def _expected_statistics(model: Model) -> dict[str, int]:
        now = model.now
        tasks = model.tasks.values()
        running = sum(1 for task in model.live.values() if task.started(now))
        hooks_running = sum(1 for task in tasks if task.has_hook and task.done_at > now)
        hook_errors = sum(
            1 for task in tasks if task.has_hook and task.done_at <= now and task.hook_failed
        )
        return {
            "live": len(model.live),
            "waiting": len(model.live) - running,
            "running": running,
            "max_tasks": model.max_tasks,
            "filled": len(model.tasks),
            "finished": model.count(Outcome.FINISHED),
            "failed": model.count(Outcome.FAILED),
            "exhausted": model.count(Outcome.EXHAUSTED),
            "drained": model.count(Outcome.DRAINED),
            "rescued": model.count(Outcome.RESCUED),
            "hooks_running": hooks_running,
            "hook_errors": hook_errors,
        }

    def _check_tasks(self, snapshot: dict[str, Any], model: Model) -> None:
        now = model.now
        observed = self.observed
        assert set(snapshot["outcomes"]) == set(model.tasks)
        for serial, task in model.tasks.items():
            assert snapshot["outcomes"][serial] is task.outcome, f"task {serial}"

            executed = observed.executed.get(serial, [])
            assert executed == ([task.run_at] if task.started(now) else []), f"task {serial}"

            hooks = observed.hooks.get(serial, [])
            if task.has_hook:
                assert task.outcome is not None
                assert hooks == [(HOOKS[task.outcome], task.settled_at)], f"task {serial}"
            else:
                assert hooks == [], f"task {serial}"

            if task.outcome is Outcome.FAILED:
                error = observed.errors[serial]
                assert isinstance(error, PlannedError)
                assert str(error) == f"task {serial} failed"

            if task.outcome is not None and task.done_at <= now:
                assert observed.waited.get(serial) == (task.done_at, task.outcome), f"task {serial}"
            else:
                assert serial not in observed.waited, f"task {serial}"

    def _check_rescues(self, model: Model) -> None:
        for number, rescue in model.rescues.items():
            returned = self.observed.rescues.get(number)
            if rescue.returns_at > model.now:
                assert returned is None, f"rescue {number} returned early"
                continue
            assert returned is not None, f"rescue {number} has not returned"
            returned_at, serials = returned
            assert returned_at == rescue.returns_at
            assert sorted(serials) == sorted(rescue.serials)
            fill_times = [model.tasks[serial].filled_at for serial in serials]
            assert fill_times == sorted(fill_times), "rescue() returns records in fill order"


def _profile() -> settings:
    stress = os.environ.get(STRESS_VARIABLE, "") not in ("", "0")
    return settings.get_profile("bucket-model-long" if stress else "bucket-model-quick")


BucketMachine.TestCase.settings = _profile()
TestBucketModel = BucketMachine.TestCase
