"""Bad input: every invalid argument of the public API, with its exact error message.

Each row is one invalid call and the error it must raise. A rejected call leaves
the bucket as it was, which the fill rows check too.
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio

from trio_bucket import (
    Bucket,
    BucketClosedError,
    BucketFullError,
    DuplicateTaskError,
    Executor,
    SqliteRescueStore,
    TaskKind,
    TaskNotFoundError,
    open_bucket,
)

BOMB = TaskKind.TIME_BOMB


def exactly(message: str) -> str:
    """Return a pattern that matches *message* and nothing else."""
    return "^" + re.escape(message) + "$"


@attrs.frozen
class Row:
    """One invalid call: its keyword arguments, the error type and its exact message."""

    arguments: dict[str, Any]
    error: type[Exception]
    message: str


def positive(name: str, value: object) -> str:
    return f"{name} must be a finite number of seconds > 0, got {value!r}"


def non_negative(name: str, value: object) -> str:
    return f"{name} must be a finite number of seconds >= 0, got {value!r}"


def not_a_number(name: str, value: object) -> str:
    return f"{name} must be a number of seconds, got {value!r}"


def run_after_too_long(run_after: float, lifespan: float) -> str:
    return (
        f"run_after ({run_after!r}) must be less than lifespan ({lifespan!r}), "
        "or the task would run out of time before it starts; "
        "lower run_after or raise lifespan"
    )


def max_tasks_message(value: object) -> str:
    return f"max_tasks must be an int >= 1, got {value!r}"


def hook_timeout_message(value: object) -> str:
    return f"hook_timeout must be a number of seconds > 0, got {value!r}"


# open_bucket(Executor(), **arguments)
OPEN_BUCKET_ROWS = {
    "lifespan zero": Row({"lifespan": 0}, ValueError, positive("lifespan", 0)),
    "lifespan negative": Row({"lifespan": -1.5}, ValueError, positive("lifespan", -1.5)),
    "lifespan infinite": Row({"lifespan": math.inf}, ValueError, positive("lifespan", math.inf)),
    "lifespan nan": Row({"lifespan": math.nan}, ValueError, positive("lifespan", math.nan)),
    "lifespan str": Row({"lifespan": "5"}, TypeError, not_a_number("lifespan", "5")),
    "lifespan bool": Row({"lifespan": True}, TypeError, not_a_number("lifespan", True)),
    "lifespan None": Row({"lifespan": None}, TypeError, not_a_number("lifespan", None)),
    "run_after negative": Row({"run_after": -1}, ValueError, non_negative("run_after", -1)),
    "run_after infinite": Row(
        {"run_after": math.inf}, ValueError, non_negative("run_after", math.inf)
    ),
    "run_after nan": Row({"run_after": math.nan}, ValueError, non_negative("run_after", math.nan)),
    "run_after str": Row({"run_after": "1"}, TypeError, not_a_number("run_after", "1")),
    "run_after bool": Row({"run_after": False}, TypeError, not_a_number("run_after", False)),
    "run_after equals lifespan": Row(
        {"run_after": 5, "lifespan": 5}, ValueError, run_after_too_long(5.0, 5.0)
    ),
    "run_after above lifespan": Row(
        {"run_after": 6, "lifespan": 2.5}, ValueError, run_after_too_long(6.0, 2.5)
    ),
    "max_tasks zero": Row({"max_tasks": 0}, ValueError, max_tasks_message(0)),
    "max_tasks negative": Row({"max_tasks": -3}, ValueError, max_tasks_message(-3)),
    # NOTE: a max_tasks of the wrong type raises ValueError, where the other settings
    # raise TypeError; these rows pin the current behaviour.
    "max_tasks float": Row({"max_tasks": 1.5}, ValueError, max_tasks_message(1.5)),
    "max_tasks bool": Row({"max_tasks": True}, ValueError, max_tasks_message(True)),
    "max_tasks str": Row({"max_tasks": "3"}, ValueError, max_tasks_message("3")),
    "max_tasks None": Row({"max_tasks": None}, ValueError, max_tasks_message(None)),
    "hook_timeout zero": Row({"hook_timeout": 0}, ValueError, hook_timeout_message(0)),
    "hook_timeout negative": Row({"hook_timeout": -1}, ValueError, hook_timeout_message(-1)),
    "hook_timeout nan": Row({"hook_timeout": math.nan}, ValueError, hook_timeout_message(math.nan)),
    "hook_timeout str": Row({"hook_timeout": "3"}, TypeError, not_a_number("hook_timeout", "3")),
    "hook_timeout bool": Row({"hook_timeout": True}, TypeError, not_a_number("hook_timeout", True)),
    "hook_timeout None": Row({"hook_timeout": None}, TypeError, not_a_number("hook_timeout", None)),
    "journal without store": Row(
        {"journal": True},
        ValueError,
        "journal=True needs a rescue store to write to; pass store= as well",
    ),
}


@pytest.mark.parametrize("row", OPEN_BUCKET_ROWS.values(), ids=OPEN_BUCKET_ROWS.keys())
async def test_open_bucket_rejects(row: Row) -> None:
    with pytest.raises(row.error, match=exactly(row.message)):
        open_bucket(Executor(), **row.arguments)


def executor_message(executor: object, missing: str) -> str:
    return (
        f"executor {executor!r} lacks the hooks {missing}; subclass trio_bucket.Executor, "
        "which has all five, and override the ones you need"
    )


class OnlyExecute:
    """An executor with on_execute and none of the outcome hooks."""

    def __repr__(self) -> str:
        return "<OnlyExecute>"

    async def on_execute(self, task: object) -> None:
        """Do nothing."""


class SyncAttributes:
    """An executor whose hooks are plain values, not callables."""

    on_execute = on_finish = on_execute_error = on_exhausted = on_panic = None

    def __repr__(self) -> str:
        return "<SyncAttributes>"


ALL_HOOKS = "on_execute, on_finish, on_execute_error, on_exhausted, on_panic"


@pytest.mark.parametrize(
    ("executor", "missing"),
    [
        (None, ALL_HOOKS),
        ("executor", ALL_HOOKS),
        (OnlyExecute(), "on_finish, on_execute_error, on_exhausted, on_panic"),
        (SyncAttributes(), ALL_HOOKS),
    ],
    ids=["None", "str", "only on_execute", "hooks not callable"],
)
async def test_open_bucket_rejects_executor(executor: object, missing: str) -> None:
    with pytest.raises(TypeError, match=exactly(executor_message(executor, missing))):
        open_bucket(executor)  # type: ignore[arg-type]


async def test_open_bucket_rejects_executor_class() -> None:
    message = "executor must be an instance, got the class Executor; pass Executor() instead"
    with pytest.raises(TypeError, match=exactly(message)):
        open_bucket(Executor)  # type: ignore[arg-type]


@pytest.mark.parametrize("store", [object(), "rescued.db"], ids=["object", "path str"])
async def test_open_bucket_rejects_non_store(store: object) -> None:
    message = (
        "store must be a RescueStore, with async save, load, remove and aclose, "
        f"got {store!r}; open one with `await SqliteRescueStore.open(path)`"
    )
    with pytest.raises(TypeError, match=exactly(message)):
        open_bucket(Executor(), store=store)  # type: ignore[arg-type]


async def test_open_bucket_context_entered_twice() -> None:
    context = open_bucket(Executor())
    async with context:
        pass

    with pytest.raises(
        RuntimeError, match=exactly("an open_bucket() context can be entered only once")
    ):
        async with context:
            pass


# bucket.fill_nowait(**arguments) and await bucket.fill(**arguments), in a bucket
# opened with lifespan=5, run_after=1.
FILL_ROWS = {
    "task_id int": Row({"task_id": 1}, TypeError, "task_id must be a str, got int 1"),
    "task_id None": Row({"task_id": None}, TypeError, "task_id must be a str, got NoneType None"),
    "task_id bytes": Row({"task_id": b"x"}, TypeError, "task_id must be a str, got bytes b'x'"),
    "task_id empty": Row({"task_id": ""}, ValueError, "task_id must not be empty"),
    "kind str": Row(
        {"task_id": "t", "kind": "immediate"},
        TypeError,
        "kind must be a TaskKind, got 'immediate'",
    ),
    "kind None": Row(
        {"task_id": "t", "kind": None}, TypeError, "kind must be a TaskKind, got None"
    ),
    "lifespan zero": Row({"task_id": "t", "lifespan": 0}, ValueError, positive("lifespan", 0)),
    "lifespan negative": Row(
        {"task_id": "t", "lifespan": -2}, ValueError, positive("lifespan", -2)
    ),
    "lifespan infinite": Row(
        {"task_id": "t", "lifespan": math.inf}, ValueError, positive("lifespan", math.inf)
    ),
    "lifespan nan": Row(
        {"task_id": "t", "lifespan": math.nan}, ValueError, positive("lifespan", math.nan)
    ),
    "lifespan str": Row(
        {"task_id": "t", "lifespan": "1"}, TypeError, not_a_number("lifespan", "1")
    ),
    "lifespan bool": Row(
        {"task_id": "t", "lifespan": True}, TypeError, not_a_number("lifespan", True)
    ),
    "run_after on immediate": Row(
        {"task_id": "t", "run_after": 1},
        ValueError,
        "run_after (1) applies only to time bombs; pass kind=TaskKind.TIME_BOMB or drop run_after",
    ),
    "run_after zero on immediate": Row(
        {"task_id": "t", "run_after": 0},
        ValueError,
        "run_after (0) applies only to time bombs; pass kind=TaskKind.TIME_BOMB or drop run_after",
    ),
    "run_after negative": Row(
        {"task_id": "t", "kind": BOMB, "run_after": -1}, ValueError, non_negative("run_after", -1)
    ),
    "run_after infinite": Row(
        {"task_id": "t", "kind": BOMB, "run_after": math.inf},
        ValueError,
        non_negative("run_after", math.inf),
    ),
    "run_after str": Row(
        {"task_id": "t", "kind": BOMB, "run_after": "1"},
        TypeError,
        not_a_number("run_after", "1"),
    ),
    "run_after equals bucket lifespan": Row(
        {"task_id": "t", "kind": BOMB, "run_after": 5}, ValueError, run_after_too_long(5.0, 5.0)
    ),
    "run_after above own lifespan": Row(
        {"task_id": "t", "kind": BOMB, "run_after": 3, "lifespan": 2},
        ValueError,
        run_after_too_long(3.0, 2.0),
    ),
    "lifespan below bucket run_after": Row(
        {"task_id": "t", "kind": BOMB, "lifespan": 1}, ValueError, run_after_too_long(1.0, 1.0)
    ),
}

FillCall = Callable[[Bucket, dict[str, Any]], Awaitable[object]]


async def call_fill_nowait(bucket: Bucket, arguments: dict[str, Any]) -> object:
    return bucket.fill_nowait(**arguments)


async def call_fill(bucket: Bucket, arguments: dict[str, Any]) -> object:
    return await bucket.fill(**arguments)


FILL_CALLS = pytest.mark.parametrize(
    "fill", [call_fill_nowait, call_fill], ids=["fill_nowait", "fill"]
)


@FILL_CALLS
@pytest.mark.parametrize("row", FILL_ROWS.values(), ids=FILL_ROWS.keys())
async def test_fill_rejects(fill: FillCall, row: Row) -> None:
    async with open_bucket(Executor(), lifespan=5, run_after=1) as bucket:
        with pytest.raises(row.error, match=exactly(row.message)):
            await fill(bucket, row.arguments)

        assert len(bucket) == 0
        assert bucket.statistics().filled == 0


@FILL_CALLS
async def test_fill_rejects_duplicate_id(fill: FillCall) -> None:
    async with open_bucket(Executor(), lifespan=5) as bucket:
        bucket.fill_nowait("job", kind=BOMB)
        message = "a live task already has id 'job'; drain it first or use another id"
        with pytest.raises(DuplicateTaskError, match=exactly(message)):
            await fill(bucket, {"task_id": "job"})

        assert bucket.statistics().filled == 1
        bucket.drain("job")


async def test_fill_nowait_rejects_when_full() -> None:
    async with open_bucket(Executor(), max_tasks=2) as bucket:
        bucket.fill_nowait("one", kind=BOMB)
        bucket.fill_nowait("two", kind=BOMB)
        message = (
            "the bucket is full (2 live tasks); await fill() to wait for room, or raise max_tasks"
        )
        with pytest.raises(BucketFullError, match=exactly(message)):
            bucket.fill_nowait("three")

        assert "three" not in bucket
        await bucket.rescue()


@FILL_CALLS
async def test_fill_rejects_after_exit(fill: FillCall) -> None:
    async with open_bucket(Executor()) as bucket:
        pass

    message = "cannot fill task 'late': the bucket's block has exited"
    with pytest.raises(BucketClosedError, match=exactly(message)):
        await fill(bucket, {"task_id": "late"})


async def test_fill_rejects_during_failed_exit() -> None:
    """A fill from a hook while the block exits with an error names that error."""
    errors: list[BucketClosedError] = []

    class RefillingExecutor(Executor):
        async def on_panic(self, task: Any) -> None:
            try:
                bucket.fill_nowait("refill")
            except BucketClosedError as error:
                errors.append(error)

    with pytest.raises(ValueError, match=exactly("the body failed")):
        async with open_bucket(RefillingExecutor(), lifespan=5, run_after=1) as bucket:
            bucket.fill_nowait("waiting", kind=BOMB)
            raise ValueError("the body failed")

    assert [str(error) for error in errors] == [
        "cannot fill task 'refill': the bucket is shutting down after ValueError"
    ]


# Drain and restore


async def test_drain_rejects_unknown_id() -> None:
    async with open_bucket(Executor()) as bucket:
        message = (
            "no live task has id 'nope': it was never filled, or it has already reached its outcome"
        )
        with pytest.raises(TaskNotFoundError, match=exactly(message)):
            bucket.drain("nope")


async def test_drain_rejects_settled_id() -> None:
    async with open_bucket(Executor()) as bucket:
        handle = bucket.fill_nowait("done")
        await handle.wait()

        message = (
            "no live task has id 'done': it was never filled, or it has already reached its outcome"
        )
        with pytest.raises(TaskNotFoundError, match=exactly(message)):
            bucket.drain("done")
        with pytest.raises(
            TaskNotFoundError,
            match=exactly("task 'done' is no longer live: it has already reached its outcome"),
        ):
            handle.drain()


async def test_restore_needs_store() -> None:
    async with open_bucket(Executor()) as bucket:
        message = "restore() needs a rescue store: pass store= to open_bucket()"
        with pytest.raises(RuntimeError, match=exactly(message)):
            await bucket.restore()


# A bucket with a rescue store


@pytest.mark.parametrize(
    ("data", "type_name"),
    [(object(), "object"), ({1, 2}, "set"), (b"raw", "bytes")],
    ids=["object", "set", "bytes"],
)
async def test_store_rejects_non_json_data(tmp_path: Path, data: object, type_name: str) -> None:
    store = await SqliteRescueStore.open(tmp_path / "rescued.db")
    async with store, open_bucket(Executor(), store=store) as bucket:
        message = (
            f"data of task 'job' cannot be stored as JSON (Object of type {type_name} is "
            "not JSON serializable); a bucket with a rescue store needs JSON data: dicts, "
            "lists, str, numbers, bool and None"
        )
        with pytest.raises(TypeError, match=exactly(message)):
            bucket.fill_nowait("job", data)

        assert len(bucket) == 0


async def test_closed_store_rejects_calls(tmp_path: Path) -> None:
    path = tmp_path / "rescued.db"
    store = await SqliteRescueStore.open(path)
    await store.aclose()

    message = f"the rescue store {str(path)!r} is closed; open a new one to use it"
    with pytest.raises(trio.ClosedResourceError, match=exactly(message)):
        await store.load()


async def test_store_rejects_non_database_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database\n" * 200)

    with pytest.raises(sqlite3.DatabaseError, match=exactly("file is not a database")):
        await SqliteRescueStore.open(path)
