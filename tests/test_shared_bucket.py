"""The shared bucket against a real redis-server, several "processes" in one Trio run.

Each open_shared_bucket() block below plays one process: it has its own consumer
name and Redis connection. The Trio clock is a MockClock that moves only when a
test jumps it, and the wall clock follows it, so every timing assertion is exact.
Redis itself runs in real time, so waits for Redis work poll in real time, bounded
by POLL_SECONDS; XAUTOCLAIM's idle time is also real time.
"""

from __future__ import annotations

import functools
import gc
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import attrs
import coredis
import pytest
import trio
import trio.testing
from coredis import PureToken

from trio_bucket import (
    BucketClosedError,
    DuplicateTaskError,
    Executor,
    TaskKind,
    TaskNotFoundError,
    TaskRecord,
)
from trio_bucket._shared import SharedBucket, open_shared_bucket

pytestmark = pytest.mark.redis

#: The maximum real seconds that a test waits for Redis work to show.
POLL_SECONDS = 10.0
#: The wall-clock time at Trio time 0 in these tests.
EPOCH = 1_800_000_000.0


def wall_clock() -> float:
    return EPOCH + trio.current_time()


@attrs.frozen
class Event:
    process: str
    kind: str
    task_id: str
    at: float
    record: TaskRecord


class Recorder(Executor):
    """Record every hook call. A task whose data is {"block": true} runs until cancelled."""

    def __init__(self, process: str, events: list[Event]) -> None:
        self.process = process
        self.events = events

    def _note(self, kind: str, task: TaskRecord) -> None:
        self.events.append(Event(self.process, kind, task.id, trio.current_time(), task))

    async def on_execute(self, task: TaskRecord) -> None:
        self._note("execute", task)
        data: Any = task.data
        if isinstance(data, dict) and data.get("block"):
            await trio.sleep_forever()
        if isinstance(data, dict) and data.get("fail"):
            raise RuntimeError(f"task {task.id} failed on purpose")

    async def on_finish(self, task: TaskRecord) -> None:
        self._note("finish", task)

    async def on_execute_error(self, task: TaskRecord, error: Exception) -> None:
        self._note(f"error:{error}", task)

    async def on_exhausted(self, task: TaskRecord) -> None:
        self._note("exhausted", task)

    async def on_panic(self, task: TaskRecord) -> None:
        self._note("panic", task)


async def poll(condition: Callable[[], bool], what: str) -> None:
    """Wait in real time, while Redis and the consumers work, until *condition* holds."""
    deadline = time.monotonic() + POLL_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {POLL_SECONDS} seconds for {what}")
        await trio.to_thread.run_sync(time.sleep, 0.005)


async def poll_async(condition: Callable[[], Any], what: str) -> None:
    deadline = time.monotonic() + POLL_SECONDS
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {POLL_SECONDS} seconds for {what}")
        await trio.to_thread.run_sync(time.sleep, 0.005)


def kinds(events: list[Event], task_id: str) -> list[tuple[str, str]]:
    return [(event.process, event.kind) for event in events if event.task_id == task_id]


@pytest.fixture
def events() -> list[Event]:
    return []


@pytest.fixture
def process(
    redis_url: str, redis_name: str, events: list[Event]
) -> Callable[..., AbstractAsyncContextManager[SharedBucket]]:
    """Return a function that opens one "process" of the shared bucket."""

    def open_process(label: str, **options: Any) -> AbstractAsyncContextManager[SharedBucket]:
        settings: dict[str, Any] = {
            "lifespan": 100.0,
            "max_tasks": 2,
            "claim_idle": 30.0,
            "read_block": 0.05,
            "wall_clock": wall_clock,
            "consumer": label,
        }
        settings.update(options)
        return open_shared_bucket(
            Recorder(label, events), redis_url=redis_url, name=redis_name, **settings
        )

    return open_process


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[coredis.Redis[str]]:
    async with coredis.Redis.from_url(redis_url, decode_responses=True) as redis:
        yield redis


BLOCK = {"block": True}

# Filling


async def test_fill_goes_local_while_room(
    process: Callable[..., Any], events: list[Event], mock_clock: trio.testing.MockClock
) -> None:
    async with process("a") as a:
        assert await a.fill("one", BLOCK) is True
        assert await a.fill("two", BLOCK) is True
        assert await a.fill("three", BLOCK) is False

        assert "one" in a
        assert "three" not in a
        assert a.statistics().filled_queued == 1
        await a.drain("one")
        await a.drain("two")
        await a.drain("three")


async def test_queued_task_runs_on_process_with_room(
    process: Callable[..., Any], events: list[Event], mock_clock: trio.testing.MockClock
) -> None:
    async with process("a", max_tasks=1) as a, process("b") as b:
        await a.fill("blocker", BLOCK)
        assert await a.fill("queued") is False

        await poll(lambda: kinds(events, "queued") == [("b", "execute"), ("b", "finish")], "b")

        assert b.statistics().taken == 1
        await a.drain("blocker")


async def test_queued_task_runs_here_when_room_frees(
    process: Callable[..., Any], events: list[Event], mock_clock: trio.testing.MockClock
) -> None:
    async with process("a", max_tasks=1) as a:
        await a.fill("blocker", BLOCK)
        await a.fill("queued")
        await trio.to_thread.run_sync(time.sleep, 0.1)
        assert kinds(events, "queued") == []

        await a.drain("blocker")

        await poll(lambda: kinds(events, "queued") == [("a", "execute"), ("a", "finish")], "a")


async def test_concurrent_fills_all_run_once(
    process: Callable[..., Any], events: list[Event], mock_clock: trio.testing.MockClock
) -> None:
    task_ids = [f"t{number}" for number in range(60)]
    async with process("a", max_tasks=3) as a, process("b", max_tasks=3) as b:
        async with trio.open_nursery() as nursery:
            for task_id in task_ids:
                nursery.start_soon(a.fill, task_id)

        await poll(lambda: sum(event.kind == "finish" for event in events) == 60, "60 finishes")
        await poll_async(lambda: _is_zero(a.live_count()), "every id released")

        assert a.statistics().local.max_tasks == 3
        assert a.statistics().local.live == 0
        assert b.statistics().local.live == 0
    executions = sorted(event.task_id for event in events if event.kind == "execute")
    assert executions == sorted(task_ids)


async def test_duplicate_id_across_processes_raises(
    process: Callable[..., Any], mock_clock: trio.testing.MockClock
) -> None:
    async with process("a") as a, process("b") as b:
        await a.fill("same", BLOCK)

        with pytest.raises(DuplicateTaskError, match=r"already has id 'same'; drain it first"):
            await b.fill("same")

        await a.drain("same")


async def test_id_free_again_after_outcome(
    process: Callable[..., Any], events: list[Event], mock_clock: trio.testing.MockClock
) -> None:
    async with process("a") as a:
        await a.fill("again")
        await poll(lambda: ("a", "finish") in kinds(events, "again"), "the first run")
        await poll_async(lambda: _is_zero(a.live_count()), "the id to be released")

        assert await a.fill("again") is True


async def _is_zero(count: Awaitable[int]) -> bool:
    return await count == 0


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"task_id": 7}, TypeError, r"task_id must be a str, got int 7"),
        ({"task_id": ""}, ValueError, r"task_id must not be empty"),
        ({"task_id": "x", "data": {1, 2}}, TypeError, r"data of task 'x' cannot be stored as JSON"),
        ({"task_id": "x", "run_after": 1.0}, ValueError, r"run_after \(1.0\) applies only to"),
        ({"task_id": "x", "kind": "time_bomb"}, TypeError, r"kind must be a TaskKind"),
        ({"task_id": "x", "lifespan": -1}, ValueError, r"lifespan must be a finite number"),
        (
            {"task_id": "x", "kind": TaskKind.TIME_BOMB, "run_after": 200.0},
            ValueError,
            r"run_after \(200.0\) must be less than lifespan \(100.0\)",
        ),
    ],
)
async def test_bad_fill_raises(
    process: Callable[..., Any],
    arguments: dict[str, Any],
    error: type[Exception],
    message: str,
    mock_clock: trio.testing.MockClock,
) -> None:
    async with process("a") as a:
        with pytest.raises(error, match=message):
            await a.fill(**arguments)

        assert await a.live_count() == 0


async def test_fill_after_exit_raises(
    process: Callable[..., Any], mock_clock: trio.testing.MockClock
) -> None:
    async with process("a") as a:
        pass

    with pytest.raises(BucketClosedError, match=r"cannot fill task 'late'"):
        await a.fill("late")


# Outcomes


async def test_failure_runs_error_hook_once(
    process: Callable[..., Any], events: list[Event], mock_clock: trio.testing.MockClock
) -> None:
    async with process("a") as a:
        await a.fill("bad", {"fail": True})

        await poll(lambda: len(kinds(events, "bad")) == 2, "the error hook")

    assert kinds(events, "bad") == [("a", "execute"), ("a", "error:task bad failed on purpose")]


async def test_streams_empty_after_outcomes(
    process: Callable[..., Any],
    client: coredis.Redis[str],
    redis_name: str,
    events: list[Event],
    mock_clock: trio.testing.MockClock,
) -> None:
    async with process("a", max_tasks=1) as a:
        for number in range(5):
            await a.fill(f"t{number}")
        await poll(lambda: sum(event.kind == "finish" for event in events) == 5, "5 finishes")
        await poll_async(lambda: _is_zero(a.live_count()), "every id released")

    prefix = f"trio_bucket:{{{redis_name}}}"
    assert await client.xlen(f"{prefix}:queue") == 0
    assert await client.xlen(f"{prefix}:held") == 0


# Time counts from the original fill


async def test_lifespan_counts_from_fill(
    process: Callable[..., Any], events: list[Event], mock_clock: trio.testing.MockClock
) -> None:
    async with process("a", max_tasks=1) as a:
        await a.fill("blocker", BLOCK)
        await a.fill("late", BLOCK, lifespan=10.0)
        mock_clock.jump(4.0)

        async with process("b") as b:
            await poll(lambda: kinds(events, "late") == [("b", "execute")], "b to start it")
            (started,) = [
                event for event in events if event.kind == "execute" and event.task_id == "late"
            ]
            mock_clock.jump(6.0)
            await poll(lambda: ("b", "exhausted") in kinds(events, "late"), "the lifespan")

            (exhausted,) = [event for event in events if event.kind == "exhausted"]
            assert started.at == 4.0
            assert started.record.filled_at == 0.0
            assert started.record.deadline == 10.0
            assert exhausted.at == 10.0
            assert b.statistics().local.exhausted == 1
        await a.drain("blocker")


async def test_run_after_counts_from_fill(
    process: Callable[..., Any], events: list[Event], mock_clock: trio.testing.MockClock
) -> None:
    async with process("a", max_tasks=1) as a:
        await a.fill("blocker", BLOCK)
        await a.fill("bomb", kind=TaskKind.TIME_BOMB, run_after=3.0)
        mock_clock.jump(2.0)

        async with process("b") as b:
            await poll(lambda: "bomb" in b, "b to take the time bomb")
            mock_clock.jump(0.5)
            await trio.testing.wait_all_tasks_blocked()
            assert kinds(events, "bomb") == []

            mock_clock.jump(0.5)
            await poll(lambda: ("b", "finish") in kinds(events, "bomb"), "the time bomb")

        (started,) = [
            event for event in events if event.kind == "execute" and event.task_id == "bomb"
        ]
        assert started.at == 3.0
        assert started.record.run_at == 3.0
        await a.drain("blocker")


async def test_expired_entry_exhausts_without_running(
    process: Callable[..., Any], events: list[Event], mock_clock: trio.testing.MockClock
) -> None:
    async with process("a", max_tasks=1) as a:
        await a.fill("blocker", BLOCK)
        await a.fill("stale", lifespan=2.0)
        mock_clock.jump(5.0)

        async with process("b") as b:
            await poll(lambda: kinds(events, "stale") == [("b", "exhausted")], "the exhaustion")

            assert b.statistics().expired == 1
            (exhausted,) = [event for event in events if event.task_id == "stale"]
            assert exhausted.record.deadline == 2.0
        await a.drain("blocker")


# Drain, wherever the task is


async def test_drain_local_task(
    process: Callable[..., Any], events: list[Event], mock_clock: trio.testing.MockClock
) -> None:
    async with process("a") as a:
        await a.fill("local", BLOCK)
        await poll(lambda: kinds(events, "local") == [("a", "execute")], "the start")

        await a.drain("local")

        assert "local" not in a
        assert a.statistics().local.drained == 1
        assert await a.live_count() == 0
    assert kinds(events, "local") == [("a", "execute")]


async def test_drain_queued_task_never_runs(
    process: Callable[..., Any], events: list[Event], mock_clock: trio.testing.MockClock
) -> None:
    async with process("a", max_tasks=1) as a:
        await a.fill("blocker", BLOCK)
        await a.fill("queued")

        await a.drain("queued")
        await a.drain("blocker")
        await poll(lambda: a.statistics().dropped == 1, "the queued entry to be dropped")

    assert kinds(events, "queued") == []


async def test_drain_task_on_other_process(
    process: Callable[..., Any], events: list[Event], mock_clock: trio.testing.MockClock
) -> None:
    async with process("a", max_tasks=1) as a, process("b") as b:
        await a.fill("blocker", BLOCK)
        await a.fill("remote", BLOCK)
        await poll(lambda: kinds(events, "remote") == [("b", "execute")], "b to start it")

        await a.drain("remote")

        await poll(lambda: b.statistics().local.drained == 1, "b to cancel it")
        assert "remote" not in b
        assert kinds(events, "remote") == [("b", "execute")]
        await a.drain("blocker")


async def test_missed_drain_found_at_heartbeat(
    process: Callable[..., Any],
    client: coredis.Redis[str],
    redis_name: str,
    events: list[Event],
    mock_clock: trio.testing.MockClock,
) -> None:
    live = f"trio_bucket:{{{redis_name}}}:live"
    async with process("a", heartbeat_interval=1.0) as a:
        await a.fill("missed", BLOCK)
        await poll(lambda: kinds(events, "missed") == [("a", "execute")], "a to start it")
        # A drain whose control message never reached a: only the registry shows it.
        await client.hdel(live, ["missed"])
        await trio.to_thread.run_sync(time.sleep, 0.1)
        assert "missed" in a

        mock_clock.jump(1.0)

        await poll(lambda: "missed" not in a, "a's heartbeat to drop it")
        assert a.statistics().local.drained == 1
    assert kinds(events, "missed") == [("a", "execute")]


async def test_drain_unknown_id_raises(
    process: Callable[..., Any], mock_clock: trio.testing.MockClock
) -> None:
    async with process("a") as a:
        with pytest.raises(
            TaskNotFoundError, match=r"no live task of shared bucket '\S+' has id 'x'"
        ):
            await a.drain("x")


async def test_drain_twice_raises(
    process: Callable[..., Any], mock_clock: trio.testing.MockClock
) -> None:
    async with process("a") as a:
        await a.fill("once", BLOCK)
        await a.drain("once")

        with pytest.raises(TaskNotFoundError, match=r"has id 'once'"):
            await a.drain("once")


# Taking over from dead or stalled processes


async def test_idle_entry_of_dead_consumer_is_claimed(
    process: Callable[..., Any],
    client: coredis.Redis[str],
    redis_name: str,
    events: list[Event],
    mock_clock: trio.testing.MockClock,
) -> None:
    queue = f"trio_bucket:{{{redis_name}}}:queue"
    async with process("a", max_tasks=1) as a:
        await a.fill("blocker", BLOCK)
        await a.fill("orphan")
        # A process that read the entry and then died: it stays in "dead"'s pending list.
        await client.xreadgroup("workers", "dead", {queue: ">"}, count=1)
        await a.drain("blocker")

        async with process("b", claim_idle=0.2, heartbeat_interval=0.1) as b:
            await trio.to_thread.run_sync(time.sleep, 0.1)
            mock_clock.jump(0.1)  # A maintenance round before the entry is idle enough.
            await trio.to_thread.run_sync(time.sleep, 0.15)
            assert kinds(events, "orphan") == []

            await trio.to_thread.run_sync(time.sleep, 0.1)
            mock_clock.jump(0.1)
            await poll(lambda: kinds(events, "orphan") == [("b", "execute"), ("b", "finish")], "b")

            assert b.statistics().claimed == 1


async def test_task_of_process_killed_in_hook_runs_again(
    process: Callable[..., Any],
    client: coredis.Redis[str],
    redis_name: str,
    events: list[Event],
    mock_clock: trio.testing.MockClock,
) -> None:
    queue = f"trio_bucket:{{{redis_name}}}:queue"
    live = f"trio_bucket:{{{redis_name}}}:live"
    async with process("a", max_tasks=1) as a:
        await a.fill("blocker", BLOCK)
        await a.fill("half-done")
        # A process that took the entry and was killed during its outcome hook:
        # the registry marks the task as settling, and the entry is unacknowledged.
        await client.xreadgroup("workers", "dead", {queue: ">"}, count=1)
        token = await client.hget(live, "half-done")
        await client.hset(live, {"half-done": f"{token}|dead"})
        await a.drain("blocker")

        async with process("b", claim_idle=0.1, heartbeat_interval=0.05) as b:
            await trio.to_thread.run_sync(time.sleep, 0.15)
            mock_clock.jump(0.05)
            await poll(lambda: ("b", "finish") in kinds(events, "half-done"), "b to run it")
            await poll_async(lambda: _is_zero(b.live_count()), "the id to be released")

    assert kinds(events, "half-done") == [("b", "execute"), ("b", "finish")]


async def test_heartbeat_keeps_running_task(
    process: Callable[..., Any], events: list[Event], mock_clock: trio.testing.MockClock
) -> None:
    fast = {"claim_idle": 0.2, "heartbeat_interval": 0.05}
    async with process("a", **fast) as a, process("b", **fast) as b:
        await a.fill("long", BLOCK)
        await poll(lambda: "long" in a, "a to hold it")

        for _ in range(8):  # 0.4 real seconds: twice claim_idle.
            await trio.to_thread.run_sync(time.sleep, 0.05)
            mock_clock.jump(0.05)
            await trio.testing.wait_all_tasks_blocked()

        assert b.statistics().claimed == 0
        assert "long" in a
        await a.drain("long")


async def test_task_claimed_elsewhere_stops_here(
    process: Callable[..., Any],
    client: coredis.Redis[str],
    redis_name: str,
    events: list[Event],
    mock_clock: trio.testing.MockClock,
) -> None:
    held = f"trio_bucket:{{{redis_name}}}:held"
    async with process("a", heartbeat_interval=1.0) as a:
        await a.fill("stolen", BLOCK)
        await poll(lambda: kinds(events, "stolen") == [("a", "execute")], "a to start it")
        # What XAUTOCLAIM does when a stalls for claim_idle: the entry moves to "other".
        await client.xautoclaim(held, "workers", "other", 0, "0-0")

        mock_clock.jump(1.0)
        await poll(lambda: a.statistics().taken_over == 1, "a's heartbeat to notice")

        assert "stolen" not in a
        assert kinds(events, "stolen") == [("a", "execute")]


async def test_survives_killed_connections(
    process: Callable[..., Any],
    client: coredis.Redis[str],
    events: list[Event],
    mock_clock: trio.testing.MockClock,
) -> None:
    async with process("a", max_tasks=1) as a:
        await a.fill("before", BLOCK)
        await poll(lambda: "before" in a, "a to hold it")

        # Closes the connections of a's blocking reads, as a network failure would.
        assert await client.client_kill(type_=PureToken.NORMAL, skipme=True) >= 1
        for _ in range(10):  # coredis waits 0.01 s on the Trio clock between retries.
            await trio.to_thread.run_sync(time.sleep, 0.02)
            mock_clock.jump(0.01)
        assert await a.fill("queued") is False
        await a.drain("before")

        await poll(lambda: ("a", "finish") in kinds(events, "queued"), "a to take it")
        assert a.statistics().taken == 1


# Rescue and shutdown


async def test_rescue_requeues_with_fill_times(
    process: Callable[..., Any], events: list[Event], mock_clock: trio.testing.MockClock
) -> None:
    async with process("a") as a, process("b", max_tasks=5) as b:
        await a.fill("first", BLOCK)
        await a.fill("second", BLOCK)
        await poll(lambda: len(events) == 2, "a to start both")
        mock_clock.jump(3.0)

        rescued = await a.rescue()

        assert sorted(record.id for record in rescued) == ["first", "second"]
        assert [record.filled_at for record in rescued] == [0.0, 0.0]
        assert a.statistics().requeued == 2
        for task_id in ("first", "second"):
            ran_again = functools.partial(lambda name: len(kinds(events, name)) == 2, task_id)
            await poll(ran_again, f"{task_id} to run again")
            await (a if task_id in a else b).drain(task_id)

    again = [event for event in events[2:] if event.kind == "execute"]
    assert [event.at for event in again] == [3.0, 3.0]
    assert [event.record.filled_at for event in again] == [0.0, 0.0]
    assert [event.record.deadline for event in again] == [100.0, 100.0]
    assert [event for event in events if event.kind == "panic"] == []


async def test_body_error_propagates_and_requeues(
    process: Callable[..., Any], events: list[Event], mock_clock: trio.testing.MockClock
) -> None:
    with pytest.raises(ZeroDivisionError):
        async with process("a") as a:
            await a.fill("survivor", BLOCK)
            await poll(lambda: "survivor" in a, "a to hold it")
            1 / 0  # noqa: B018

    async with process("b") as b:
        await poll(lambda: kinds(events, "survivor")[-1:] == [("b", "execute")], "b to run it")
        await b.drain("survivor")


# A cancellation from outside also cancels coredis's connections, and coredis 6.9
# leaves the memory streams of a connection cancelled while connecting unclosed.
# The test collects that garbage itself, so the warnings land here, not in a
# later test.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_outside_cancel_requeues(
    process: Callable[..., Any], events: list[Event], mock_clock: trio.testing.MockClock
) -> None:
    with trio.CancelScope() as scope:
        async with process("a") as a:
            await a.fill("survivor", BLOCK)
            await poll(lambda: "survivor" in a, "a to hold it")
            scope.cancel()
            await trio.sleep_forever()

    assert scope.cancelled_caught
    assert a.statistics().requeued == 1
    async with process("b") as b:
        await poll(lambda: kinds(events, "survivor")[-1:] == [("b", "execute")], "b to run it")
        await b.drain("survivor")
    gc.collect()


# Settings


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"claim_idle": 0}, ValueError, r"claim_idle must be a finite number of seconds > 0"),
        ({"claim_idle": math.inf}, ValueError, r"claim_idle must be a finite number"),
        ({"claim_idle": "30"}, TypeError, r"claim_idle must be a number of seconds, got '30'"),
        (
            {"claim_idle": 1.0, "heartbeat_interval": 1.0},
            ValueError,
            r"heartbeat_interval \(1.0\) must be less than claim_idle \(1.0\)",
        ),
        ({"read_block": -1}, ValueError, r"read_block must be a finite number of seconds > 0"),
        ({"consumer": ""}, ValueError, r"consumer must be a non-empty str, got ''"),
        ({"max_tasks": 0}, ValueError, r"max_tasks must be an int >= 1, got 0"),
        ({"name": "a}b"}, ValueError, r"bucket name must be a non-empty str without"),
    ],
)
async def test_bad_setting_raises(
    redis_url: str, options: dict[str, Any], error: type[Exception], message: str
) -> None:
    settings: dict[str, Any] = {"name": "settings"}
    settings.update(options)
    with pytest.raises(error, match=message):
        async with open_shared_bucket(Executor(), redis_url=redis_url, **settings):
            pass
