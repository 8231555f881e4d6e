"""A bucket with a rescue store: rescue saves, restore refills, the journal writes ahead."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio
import trio.testing
from executors import RecordingExecutor, sleeps

from trio_bucket import Executor, Outcome, TaskKind, TaskRecord, open_bucket
from trio_bucket._stores._sqlite import SqliteRescueStore


@pytest.fixture
def clock() -> trio.testing.MockClock:
    """Return a mock clock that jumps only once SQLite's worker threads are done.

    With autojump_threshold=0 the clock would jump while a store call runs in a
    worker thread, because every Trio task is then blocked. Waiting 20 ms of idle
    real time first lets each write finish; time on the clock stays exact.
    """
    return trio.testing.MockClock(autojump_threshold=0.02)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteRescueStore]:
    async with await SqliteRescueStore.open(tmp_path / "rescued.sqlite3") as opened:
        yield opened


async def _stored_ids(path: Path) -> list[str]:
    # A second connection, as another process would read the file.
    async with await SqliteRescueStore.open(path) as reader:
        return [record.id for record in await reader.load()]


async def test_rescue_saves_before_on_panic(
    clock: trio.testing.MockClock, store: SqliteRescueStore
) -> None:
    seen_in_store: list[list[str]] = []

    class Checks(Executor):
        async def on_panic(self, task: TaskRecord) -> None:
            seen_in_store.append(await _stored_ids(store.path))

    async with open_bucket(Checks(), store=store) as bucket:
        bucket.fill_nowait("a", {"n": 1}, kind=TaskKind.TIME_BOMB)
        bucket.fill_nowait("b", [1, 2], kind=TaskKind.TIME_BOMB)
        await bucket.rescue()

    assert seen_in_store == [["a", "b"], ["a", "b"]]
    assert [(r.id, r.data) for r in await store.load()] == [("a", {"n": 1}), ("b", [1, 2])]


async def test_body_error_saves_live_tasks(
    clock: trio.testing.MockClock, store: SqliteRescueStore
) -> None:
    with pytest.raises(ZeroDivisionError):
        async with open_bucket(RecordingExecutor(), store=store) as bucket:
            bucket.fill_nowait("running", sleeps(10))
            bucket.fill_nowait("done")
            await trio.sleep(1)
            _ = 1 / 0

    assert [record.id for record in await store.load()] == ["running"]


async def test_restore_keeps_remaining_times(
    clock: trio.testing.MockClock, store: SqliteRescueStore
) -> None:
    async with open_bucket(RecordingExecutor(), store=store, lifespan=10) as bucket:
        bucket.fill_nowait("running", sleeps(100))
        bucket.fill_nowait("bomb", kind=TaskKind.TIME_BOMB, run_after=4)
        await trio.sleep(1)
        await bucket.rescue()

    await trio.sleep(1000)  # Time in the store does not count.
    executor = RecordingExecutor()
    async with open_bucket(executor, store=store, lifespan=10) as bucket:
        restored = await bucket.restore()
        assert [handle.id for handle in restored] == ["running", "bomb"]
        assert restored[0].record.deadline == 1001.0 + 9
        assert restored[1].record.run_at == 1001.0 + 3

    assert executor.times_of("running") == {"on_execute": 1001.0, "on_exhausted": 1010.0}
    assert executor.times_of("bomb")["on_execute"] == 1004.0
    assert await store.load() == []


async def test_restored_task_rescued_again_stays(
    clock: trio.testing.MockClock, store: SqliteRescueStore
) -> None:
    await store.save([TaskRecord("job", None, TaskKind.TIME_BOMB, 0.0, 1.0, 5.0)])
    async with open_bucket(RecordingExecutor(), store=store) as bucket:
        await bucket.restore()
        await bucket.rescue()

    assert [record.id for record in await store.load()] == ["job"]


async def test_restore_skips_live_id(
    clock: trio.testing.MockClock,
    store: SqliteRescueStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await store.save([TaskRecord("job", "stored", TaskKind.IMMEDIATE, 0.0, 0.0, 5.0)])
    async with open_bucket(RecordingExecutor(), store=store) as bucket:
        live = bucket.fill_nowait("job", {"sleep": 1})
        assert await bucket.restore() == []
        assert bucket.get("job") is live.record

    assert "stored task 'job' not restored: a live task has that id" in caplog.text
    assert [record.data for record in await store.load()] == ["stored"]


async def test_restore_waits_for_room(
    clock: trio.testing.MockClock, store: SqliteRescueStore
) -> None:
    await store.save(
        [TaskRecord(f"t{n}", {"sleep": 1}, TaskKind.IMMEDIATE, 0.0, 0.0, 5.0) for n in range(4)]
    )
    async with open_bucket(RecordingExecutor(), store=store, max_tasks=2) as bucket:
        restored = await bucket.restore()
        assert trio.current_time() == 1.0
        assert len(restored) == 4

    assert bucket.statistics().finished == 4


async def test_restore_needs_a_store() -> None:
    async with open_bucket(RecordingExecutor()) as bucket:
        with pytest.raises(RuntimeError, match=r"restore\(\) needs a rescue store: pass store="):
            await bucket.restore()


async def test_store_rejects_non_json_data(store: SqliteRescueStore) -> None:
    async with open_bucket(RecordingExecutor(), store=store) as bucket:
        with pytest.raises(TypeError, match=r"data of task 'obj' cannot be stored as JSON"):
            bucket.fill_nowait("obj", object())
        with pytest.raises(TypeError, match=r"data of task 'set' cannot be stored as JSON"):
            await bucket.fill("set", {1, 2})
        assert len(bucket) == 0


async def test_journal_writes_before_execute(
    clock: trio.testing.MockClock, store: SqliteRescueStore
) -> None:
    seen: dict[str, list[str]] = {}

    class Checks(Executor):
        async def on_execute(self, task: TaskRecord) -> None:
            seen[task.id] = await _stored_ids(store.path)
            await trio.sleep(1)

    async with open_bucket(Checks(), store=store, journal=True) as bucket:
        bucket.fill_nowait("nowait")
        await bucket.fill("awaited")
        assert await _stored_ids(store.path) == ["nowait", "awaited"]

    assert "nowait" in seen["nowait"]
    assert "awaited" in seen["awaited"]
    assert await store.load() == []


async def test_journal_removes_at_each_outcome(
    clock: trio.testing.MockClock, store: SqliteRescueStore
) -> None:
    async with open_bucket(RecordingExecutor(), store=store, journal=True, lifespan=10) as bucket:
        await bucket.fill("finishes")
        await bucket.fill("fails", {"fail": "x"})
        await bucket.fill("exhausts", sleeps(10), lifespan=3)
        await bucket.fill("drained", sleeps(10))
        await bucket.fill("rescued", kind=TaskKind.TIME_BOMB, run_after=5)
        bucket.drain("drained")
        await trio.sleep(1)
        assert await _stored_ids(store.path) == ["exhausts", "rescued"]
        await trio.sleep(3)
        assert await _stored_ids(store.path) == ["rescued"]
        [rescued] = await bucket.rescue()
        assert rescued.id == "rescued"
        assert await _stored_ids(store.path) == ["rescued"]


async def test_journal_refill_same_id_kept(
    clock: trio.testing.MockClock, store: SqliteRescueStore
) -> None:
    async with open_bucket(RecordingExecutor(), store=store, journal=True) as bucket:
        first = await bucket.fill("same", "first")
        await first.wait()
        await bucket.fill("same", {"sleep": 10, "n": 2})
        await trio.sleep(1)
        assert [r.data for r in await store.load()] == [{"sleep": 10, "n": 2}]
        bucket.drain("same")


async def test_journal_restore_after_crash(clock: trio.testing.MockClock, tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    crashed = await SqliteRescueStore.open(path)
    # A process dies between its writes: nothing runs on_panic, the file stays.
    with trio.CancelScope() as scope:
        async with open_bucket(RecordingExecutor(), store=crashed, journal=True) as bucket:
            await bucket.fill("left", sleeps(3))
            await bucket.fill("bomb", kind=TaskKind.TIME_BOMB)
            assert await _stored_ids(path) == ["left", "bomb"]
            scope.cancel()  # Stands in for the kill; the rescue re-saves the same tasks.
    await crashed.aclose()

    executor = RecordingExecutor()
    async with await SqliteRescueStore.open(path) as store:
        async with open_bucket(executor, store=store, journal=True) as bucket:
            restored = await bucket.restore()
            assert [handle.id for handle in restored] == ["left", "bomb"]
        assert await store.load() == []

    assert executor.hooks_of("left") == ["on_execute", "on_finish"]
    assert executor.hooks_of("bomb") == ["on_execute", "on_finish"]


async def test_store_write_failure_still_runs_on_panic(
    clock: trio.testing.MockClock,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = await SqliteRescueStore.open(tmp_path / "closed.sqlite3")
    executor = RecordingExecutor()
    async with open_bucket(executor, store=store) as bucket:
        bucket.fill_nowait("job", kind=TaskKind.TIME_BOMB)
        await store.aclose()  # Every write now fails.
        assert [record.id for record in await bucket.rescue()] == ["job"]

    assert executor.hooks_of("job") == ["on_panic"]
    [log] = [r for r in caplog.records if r.name == "trio_bucket"]
    assert log.levelno == logging.ERROR
    assert log.getMessage() == "saving 1 rescued tasks to the store failed"


async def test_restored_outcomes_counted(
    clock: trio.testing.MockClock, store: SqliteRescueStore
) -> None:
    await store.save([TaskRecord("job", None, TaskKind.IMMEDIATE, 0.0, 0.0, 5.0)])
    async with open_bucket(RecordingExecutor(), store=store) as bucket:
        [handle] = await bucket.restore()
        assert await handle.wait() is Outcome.FINISHED

    assert bucket.statistics().filled == 1
