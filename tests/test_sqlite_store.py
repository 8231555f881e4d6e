"""SqliteRescueStore on real SQLite files: what the shared store contract does not cover."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import trio

from trio_bucket import TaskKind, TaskRecord
from trio_bucket._stores._sqlite import SqliteRescueStore


def _record(task_id: str, data: object = None) -> TaskRecord:
    return TaskRecord(task_id, data, TaskKind.IMMEDIATE, 0.0, 0.0, 5.0)


async def test_open_creates_folders_and_file(tmp_path: Path) -> None:
    path = tmp_path / "state" / "trio-bucket" / "rescued.sqlite3"

    async with await SqliteRescueStore.open(path) as store:
        assert store.path == path

    assert path.is_file()


async def test_database_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "rescued.sqlite3"
    async with await SqliteRescueStore.open(path):
        pass

    with sqlite3.connect(path) as connection:
        (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
    connection.close()
    assert mode == "wal"


async def test_commits_skip_disk_flush(tmp_path: Path) -> None:
    async with await SqliteRescueStore.open(tmp_path / "rescued.sqlite3") as store:
        connection = store._connection  # pyright: ignore[reportPrivateUsage]
        (level,) = connection.execute("PRAGMA synchronous").fetchone()

    assert level == 1  # NORMAL


async def test_existing_database_gets_table(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
    connection.close()

    async with await SqliteRescueStore.open(path) as store:
        await store.save([_record("a")])

        assert [record.id for record in await store.load()] == ["a"]


async def test_one_transaction_per_batch(tmp_path: Path) -> None:
    statements: list[str] = []
    async with await SqliteRescueStore.open(tmp_path / "rescued.sqlite3") as store:
        store._connection.set_trace_callback(statements.append)  # pyright: ignore[reportPrivateUsage]

        await store.save([_record(f"task-{number}") for number in range(5)])
        await store.remove([f"task-{number}" for number in range(5)])

    transactions = [text for text in statements if text in ("BEGIN IMMEDIATE", "COMMIT")]
    assert transactions == ["BEGIN IMMEDIATE", "COMMIT", "BEGIN IMMEDIATE", "COMMIT"]


async def test_two_stores_share_one_file(tmp_path: Path) -> None:
    path = tmp_path / "rescued.sqlite3"
    async with await SqliteRescueStore.open(path) as one, await SqliteRescueStore.open(path) as two:
        await one.save([_record("a")])
        await two.save([_record("b")])

        assert [record.id for record in await one.load()] == ["a", "b"]


async def test_file_not_a_database_raises(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("these are not the tasks you are looking for\n" * 100)

    with pytest.raises(sqlite3.DatabaseError, match=r"file is not a database"):
        await SqliteRescueStore.open(path)


async def test_newer_schema_raises(tmp_path: Path) -> None:
    path = tmp_path / "rescued.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA user_version = 7")
    connection.close()

    message = r"has schema version 7, written by a newer trio_bucket; this version reads version 1"
    with pytest.raises(sqlite3.DatabaseError, match=message):
        await SqliteRescueStore.open(path)


async def test_closed_store_raises(tmp_path: Path) -> None:
    store = await SqliteRescueStore.open(tmp_path / "rescued.sqlite3")
    await store.aclose()
    await store.aclose()

    with pytest.raises(trio.ClosedResourceError, match=r"rescued.sqlite3' is closed"):
        await store.load()


async def test_aclose_runs_when_cancelled(tmp_path: Path) -> None:
    store = await SqliteRescueStore.open(tmp_path / "rescued.sqlite3")
    with trio.CancelScope() as scope:
        scope.cancel()
        await store.aclose()

    with pytest.raises(sqlite3.ProgrammingError, match=r"closed database"):
        store._connection.execute("SELECT 1")  # pyright: ignore[reportPrivateUsage]


async def test_repr_names_path(tmp_path: Path) -> None:
    async with await SqliteRescueStore.open(tmp_path / "rescued.sqlite3") as store:
        assert repr(store) == f"<SqliteRescueStore path={str(tmp_path / 'rescued.sqlite3')!r}>"
