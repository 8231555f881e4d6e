"""The contract every RescueStore keeps, run against each store kind.

To run these tests against another store, add an opener to ``_OPENERS``: a function
that takes the pytest request and a temporary folder and returns a callable that
opens the store. Every call of that callable must open the same stored tasks.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest
import trio
import trio.testing
from executors import RecordingExecutor, sleeps

from trio_bucket import Outcome, RescueStore, TaskKind, TaskRecord, open_bucket
from trio_bucket._stores._redis import open_redis_store
from trio_bucket._stores._sqlite import SqliteRescueStore

StoreOpener = Callable[[], AbstractAsyncContextManager[RescueStore]]


def _sqlite_opener(request: pytest.FixtureRequest, tmp_path: Path) -> StoreOpener:
    @asynccontextmanager
    async def open_store() -> AsyncIterator[RescueStore]:
        async with await SqliteRescueStore.open(tmp_path / "store.sqlite3") as store:
            yield store

    return open_store


def _redis_opener(request: pytest.FixtureRequest, tmp_path: Path) -> StoreOpener:
    redis_url: str = request.getfixturevalue("redis_url")
    name = f"contract-{uuid.uuid4().hex}"

    @asynccontextmanager
    async def open_store() -> AsyncIterator[RescueStore]:
        async with open_redis_store(redis_url, name=name) as store:
            yield store

    return open_store


_OPENERS: dict[str, Callable[[pytest.FixtureRequest, Path], StoreOpener]] = {
    "sqlite": _sqlite_opener,
    "redis": _redis_opener,
}


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreOpener:
    """Return a callable that opens a store of the kind under test."""
    kind: str = request.param
    return _OPENERS[kind](request, tmp_path)


@pytest.fixture
async def store(open_store: StoreOpener) -> AsyncIterator[RescueStore]:
    """Yield an open, empty store of the kind under test."""
    async with open_store() as opened:
        yield opened


def _record(task_id: str, data: object = None, *, at: float = 0.0) -> TaskRecord:
    return TaskRecord(task_id, data, TaskKind.TIME_BOMB, at, at + 1.0, at + 5.0)


def _ids(records: list[TaskRecord]) -> list[str]:
    return [record.id for record in records]


async def test_store_is_a_rescue_store(store: RescueStore) -> None:
    assert isinstance(store, RescueStore)


async def test_new_store_is_empty(store: RescueStore) -> None:
    assert await store.load() == []


async def test_load_returns_saved_records(
    store: RescueStore, mock_clock: trio.testing.MockClock
) -> None:
    records = [_record("a", {"n": 1}), _record("b", [1, "two"])]

    await store.save(records)

    assert await store.load() == records


async def test_time_stops_while_stored(
    store: RescueStore, mock_clock: trio.testing.MockClock
) -> None:
    mock_clock.jump(2.0)  # The task was filled at 0, so 3 seconds of lifespan are left.
    await store.save([_record("a")])
    mock_clock.jump(100.0)

    (loaded,) = await store.load()

    assert loaded.filled_at == 100.0
    assert loaded.run_at == 101.0
    assert loaded.deadline == 105.0


async def test_load_keeps_save_order(store: RescueStore) -> None:
    await store.save([_record("c"), _record("a")])
    await store.save([_record("b")])

    assert _ids(await store.load()) == ["c", "a", "b"]


async def test_save_again_replaces_and_moves_last(store: RescueStore) -> None:
    await store.save([_record("a", 1), _record("b", 2)])

    await store.save([_record("a", 3)])

    loaded = await store.load()
    assert [(record.id, record.data) for record in loaded] == [("b", 2), ("a", 3)]


async def test_remove_deletes_given_ids(store: RescueStore) -> None:
    await store.save([_record("a"), _record("b"), _record("c")])

    await store.remove(["a", "c", "never-saved"])

    assert _ids(await store.load()) == ["b"]


async def test_empty_batches_do_nothing(store: RescueStore) -> None:
    await store.save([_record("a")])

    await store.save([])
    await store.remove([])

    assert _ids(await store.load()) == ["a"]


async def test_data_comes_back_as_json(store: RescueStore) -> None:
    data = {"argv": ("gzip", "-t"), "nested": {"ünï": [None, True, 1.5]}, "count": 3}

    await store.save([_record("a", data)])

    (loaded,) = await store.load()
    assert loaded.data == {"argv": ["gzip", "-t"], "nested": {"ünï": [None, True, 1.5]}, "count": 3}


async def test_unstorable_data_saves_nothing(store: RescueStore) -> None:
    with pytest.raises(TypeError, match=r"data of task 'bad' cannot be stored as JSON"):
        await store.save([_record("good"), _record("bad", {1, 2})])

    assert await store.load() == []


async def test_tasks_outlive_the_store(
    open_store: StoreOpener, mock_clock: trio.testing.MockClock
) -> None:
    async with open_store() as first:
        await first.save([_record("a", "kept")])

    async with open_store() as second:
        loaded = await second.load()

    assert loaded == [_record("a", "kept")]


async def test_concurrent_saves_all_kept(store: RescueStore) -> None:
    async with trio.open_nursery() as nursery:
        for number in range(40):
            nursery.start_soon(store.save, [_record(f"task-{number}")])

    loaded = await store.load()
    assert sorted(_ids(loaded)) == sorted(f"task-{number}" for number in range(40))


async def test_rescued_task_restored_in_new_bucket(
    store: RescueStore, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.move_on_after(1.0):
        async with open_bucket(RecordingExecutor(), lifespan=20.0, store=store) as bucket:
            bucket.fill_nowait("slow", sleeps(10.0))

    assert _ids(await store.load()) == ["slow"]

    async with open_bucket(RecordingExecutor(), lifespan=20.0, store=store) as bucket:
        (handle,) = await bucket.restore()
        assert handle.record.lifespan == 20.0
        assert handle.record.deadline - trio.current_time() == 19.0

    assert await handle.wait() is Outcome.FINISHED
    assert await store.load() == []


async def test_journal_keeps_task_until_outcome(
    store: RescueStore, autojump_clock: trio.testing.MockClock
) -> None:
    executor = RecordingExecutor()
    async with open_bucket(executor, lifespan=20.0, store=store, journal=True) as bucket:
        await bucket.fill("job", sleeps(5.0))
        await trio.sleep(1.0)

        assert _ids(await store.load()) == ["job"]

    assert await store.load() == []
