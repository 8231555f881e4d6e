"""SqliteRescueStore: a rescue store in one SQLite database file.

The stdlib :mod:`sqlite3` module blocks, so every call runs in a worker thread
through :func:`trio.to_thread.run_sync`. One connection serves the store, and a
:class:`trio.CapacityLimiter` of 1 lets only one thread use it at a time. Each
``save`` or ``remove`` batch is one transaction, and the database runs in WAL
mode so that a reader in another process does not block a writer.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar, final

import trio

from .._records import TaskRecord
from ._base import check_json_data, current_time, decode_record, encode_record

_T = TypeVar("_T")

#: The schema version kept in ``PRAGMA user_version``.
_SCHEMA_VERSION = 1

# Times are seconds relative to the moment of saving; saved_at is Unix time.
# seq keeps the order of saving: a task saved again moves to the end.
_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS rescued_tasks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    data TEXT NOT NULL,
    kind TEXT NOT NULL,
    filled_at REAL NOT NULL,
    run_at REAL NOT NULL,
    deadline REAL NOT NULL,
    saved_at REAL NOT NULL
)
"""

_INSERT = """
INSERT OR REPLACE INTO rescued_tasks (id, data, kind, filled_at, run_at, deadline, saved_at)
VALUES (:id, :data, :kind, :filled_at, :run_at, :deadline, :saved_at)
"""

_SELECT = "SELECT id, data, kind, filled_at, run_at, deadline FROM rescued_tasks ORDER BY seq"

#: Seconds a write waits for another process's write transaction to end.
_BUSY_TIMEOUT = 10.0


@final
class SqliteRescueStore:
    """A :class:`RescueStore` kept in a SQLite database file.

    Open it with :meth:`open`, which creates the file, its parent folders and the
    table when they are missing, and close it with :meth:`aclose` or an
    ``async with`` block::

        async with await SqliteRescueStore.open("rescued.sqlite3") as store:
            async with trio_bucket.open_bucket(executor, store=store) as bucket:
                ...

    Task data is stored as JSON, so it comes back as :func:`json.loads` builds it:
    a tuple comes back as a list. Times are stored relative to the moment of
    saving, so the clock stops while a task is stored.

    A batch survives a crash of the process, SIGKILL included, once its call has
    returned. The connection uses ``PRAGMA synchronous = NORMAL``, which in WAL mode
    may lose the last batches on a power failure or an operating-system crash, as
    the documentation of that pragma states. In exchange, a commit does not wait
    for the disk to flush.

    Several processes may use one file: SQLite serialises their writes, and a write
    waits up to 10 seconds for another process's transaction before it fails with
    :exc:`sqlite3.OperationalError`.

    .. versionadded:: 0.1
    """

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        # Not public: open() makes the connection in a worker thread.
        self._connection = connection
        self._path = path
        self._limiter = trio.CapacityLimiter(1)
        self._closed = False

    def __repr__(self) -> str:
        return f"<SqliteRescueStore path={str(self._path)!r}>"

    @classmethod
    async def open(cls, path: str | os.PathLike[str]) -> SqliteRescueStore:
        """Open the store in the SQLite file at *path*, creating what is missing.

        Args:
            path: The database file. Its parent folders are created when missing.

        Returns:
            The open store.

        Raises:
            OSError: if the parent folder cannot be created.
            sqlite3.DatabaseError: if the file is not a SQLite database, or contains
                a rescue table of a newer schema version.
        """
        database = Path(path)
        connection = await trio.to_thread.run_sync(_connect, database)
        return cls(connection, database)

    @property
    def path(self) -> Path:
        """pathlib.Path: The database file."""
        return self._path

    async def save(self, records: Sequence[TaskRecord]) -> None:
        """Store *records* in one transaction, replacing stored tasks with the same ids.

        Raises:
            TypeError: if a record's data cannot be stored as JSON; nothing is
                stored then.
            trio.ClosedResourceError: if the store is closed.
        """
        now = current_time()
        rows = [_encode_row(record, now) for record in records]
        if not rows:
            await trio.lowlevel.checkpoint()
            return

        await self._run(_insert_rows, rows)

    async def load(self) -> list[TaskRecord]:
        """Return every stored task in the order saved, its times on the current clock.

        Raises:
            trio.ClosedResourceError: if the store is closed.
        """
        rows = await self._run(_select_rows)
        now = current_time()
        return [_decode_row(row, now) for row in rows]

    async def remove(self, task_ids: Sequence[str]) -> None:
        """Delete the stored tasks with these ids in one transaction; unknown ids are ignored.

        Raises:
            trio.ClosedResourceError: if the store is closed.
        """
        if not task_ids:
            await trio.lowlevel.checkpoint()
            return

        await self._run(_delete_ids, list(task_ids))

    async def aclose(self) -> None:
        """Close the connection. Closing again does nothing.

        The close runs even if the caller is cancelled, after any call in progress.
        """
        if self._closed:
            await trio.lowlevel.checkpoint()
            return

        self._closed = True
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(self._connection.close, limiter=self._limiter)

    async def __aenter__(self) -> SqliteRescueStore:
        await trio.lowlevel.checkpoint()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _run(self, work: Callable[..., _T], *args: Any) -> _T:
        # The limiter admits one worker thread at a time, because the connection
        # must not be used by two threads at once.
        if self._closed:
            raise trio.ClosedResourceError(
                f"the rescue store {str(self._path)!r} is closed; open a new one to use it"
            )
        return await trio.to_thread.run_sync(work, self._connection, *args, limiter=self._limiter)


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: transactions are opened explicitly, one per batch.
    # check_same_thread=False: worker threads take turns, under the store's limiter.
    connection = sqlite3.connect(
        path, timeout=_BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
    )
    try:
        _prepare(connection, path)
    except BaseException:
        connection.close()
        raise
    return connection


def _prepare(connection: sqlite3.Connection, path: Path) -> None:
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > _SCHEMA_VERSION:
        raise sqlite3.DatabaseError(
            f"the rescue store {str(path)!r} has schema version {version}, written by a "
            f"newer trio_bucket; this version reads version {_SCHEMA_VERSION}: "
            "upgrade trio_bucket or use another file"
        )

    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute("BEGIN IMMEDIATE")
    try:
        connection.execute(_CREATE_TABLE)
        connection.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _encode_row(record: TaskRecord, now: float) -> dict[str, Any]:
    check_json_data(record.id, record.data)
    fields = encode_record(record, now)
    fields["data"] = json.dumps(fields["data"])
    return fields


def _decode_row(row: tuple[Any, ...], now: float) -> TaskRecord:
    task_id, data, kind, filled_at, run_at, deadline = row
    fields = {
        "id": task_id,
        "data": json.loads(data),
        "kind": kind,
        "filled_at": filled_at,
        "run_at": run_at,
        "deadline": deadline,
    }
    return decode_record(fields, now)


def _in_transaction(connection: sqlite3.Connection, work: Callable[[], object]) -> None:
    connection.execute("BEGIN IMMEDIATE")
    try:
        work()
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _insert_rows(connection: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
    _in_transaction(connection, lambda: connection.executemany(_INSERT, rows))


def _delete_ids(connection: sqlite3.Connection, task_ids: list[str]) -> None:
    parameters = [(task_id,) for task_id in task_ids]
    _in_transaction(
        connection,
        lambda: connection.executemany("DELETE FROM rescued_tasks WHERE id = ?", parameters),
    )


def _select_rows(connection: sqlite3.Connection) -> list[tuple[Any, ...]]:
    return connection.execute(_SELECT).fetchall()
