"""RedisRescueStore: rescued tasks kept in Redis under a bucket name.

Three keys hold one store, all with the bucket name as their hash tag so that a
Redis Cluster keeps them in one slot (every script below touches all three):

* ``trio_bucket:{NAME}:rescued``: a hash from task id to the encoded record;
* ``trio_bucket:{NAME}:rescued:order``: a sorted set from task id to its save
  sequence number, which gives ``load`` the save order;
* ``trio_bucket:{NAME}:rescued:seq``: the counter that numbers saves.

Each operation is one Lua script, so it is one transaction: a reader never sees
half a batch.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncGenerator, Sequence
from contextlib import asynccontextmanager
from typing import Any, cast, final

import coredis
import trio
from coredis.commands.script import Script

from .._records import TaskRecord
from ._base import check_json_data, current_time, decode_record, encode_record

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup

# KEYS: hash, order, seq. ARGV: id1, json1, id2, json2, ...
# Saving an id again replaces its record and moves it to the end of the order.
_SAVE_SCRIPT = """
for i = 1, #ARGV, 2 do
  local seq = redis.call('INCR', KEYS[3])
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  redis.call('ZADD', KEYS[2], seq, ARGV[i])
end
return #ARGV / 2
"""

# KEYS: hash, order. Returns the encoded records in save order. The loop avoids
# unpack(), whose argument count Lua limits.
_LOAD_SCRIPT = """
local ids = redis.call('ZRANGE', KEYS[2], 0, -1)
local records = {}
for i = 1, #ids do
  local record = redis.call('HGET', KEYS[1], ids[i])
  if record then
    records[#records + 1] = record
  end
end
return records
"""

# KEYS: hash, order, seq. ARGV: ids. The counter goes when the store is empty.
_REMOVE_SCRIPT = """
for i = 1, #ARGV do
  redis.call('HDEL', KEYS[1], ARGV[i])
  redis.call('ZREM', KEYS[2], ARGV[i])
end
if redis.call('ZCARD', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[3])
end
return #ARGV
"""


def check_bucket_name(name: object) -> str:
    """Return *name* if it can name a bucket in Redis keys, else raise.

    Raises:
        TypeError: if *name* is not a str.
        ValueError: if *name* is empty or contains a brace, which would break the
            Redis Cluster hash tag that keeps a bucket's keys together.
    """
    if not isinstance(name, str):
        raise TypeError(f"the bucket name must be a str, got {type(name).__name__} {name!r}")
    if not name or "{" in name or "}" in name:
        raise ValueError(
            f"the bucket name must be a non-empty str without '{{' or '}}', got {name!r}"
        )
    return name


@final
class RedisRescueStore:
    """A :class:`RescueStore` that keeps rescued tasks in Redis, keyed by a bucket name.

    Every process that opens a store with the same Redis server and name reads the
    same tasks. :meth:`load` returns them in save order; saving an id again
    replaces its record and moves it to the end. Task data is stored as JSON.

    Open one with :func:`open_redis_store`, or pass a ``coredis.Redis``
    client that you have entered yourself (``async with client:``); the store
    then borrows it and never closes it. Needs the ``redis`` extra
    (``pip install trio_bucket[redis]``).

    Args:
        client: A coredis client made with ``decode_responses=True``.
        name: The bucket name; non-empty, without braces.

    .. versionadded:: 0.1
    """

    def __init__(self, client: coredis.Redis[str], name: str) -> None:
        self._name = check_bucket_name(name)
        self._client = client
        prefix = f"trio_bucket:{{{name}}}:rescued"
        self._keys = (prefix, f"{prefix}:order", f"{prefix}:seq")
        self._save = client.register_script(_SAVE_SCRIPT)
        self._load = client.register_script(_LOAD_SCRIPT)
        self._remove = client.register_script(_REMOVE_SCRIPT)
        self._closed = False

    def __repr__(self) -> str:
        return f"<RedisRescueStore name={self._name!r}>"

    @property
    def name(self) -> str:
        """str: The bucket name that keys this store."""
        return self._name

    async def save(self, records: Sequence[TaskRecord]) -> None:
        """Store *records* in one transaction, replacing any stored task with the same id.

        Raises:
            TypeError: if a record's data cannot be stored as JSON; nothing is
                stored then.
            trio.ClosedResourceError: if the store is closed.
        """
        self._check_open()
        now = current_time()
        arguments: list[str] = []
        for record in records:
            check_json_data(record.id, record.data)
            arguments += [record.id, json.dumps(encode_record(record, now))]
        if not arguments:
            await trio.lowlevel.checkpoint()
            return
        await run_script(self._save, self._keys, arguments)

    async def load(self) -> list[TaskRecord]:
        """Return every stored task, in the order saved, with times on the current clock.

        Raises:
            trio.ClosedResourceError: if the store is closed.
        """
        self._check_open()
        encoded: list[str] = await run_script(self._load, self._keys[:2], [])
        now = current_time()
        return [decode_record(_parse(text), now) for text in encoded]

    async def remove(self, task_ids: Sequence[str]) -> None:
        """Delete the stored tasks with these ids, in one transaction; unknown ids are ignored.

        Raises:
            trio.ClosedResourceError: if the store is closed.
        """
        self._check_open()
        ids = list(task_ids)
        if not ids:
            await trio.lowlevel.checkpoint()
            return
        await run_script(self._remove, self._keys, ids)

    async def aclose(self) -> None:
        """Mark the store closed; later calls raise :exc:`trio.ClosedResourceError`.

        The connection itself belongs to the code that entered the client: the block of
        :func:`open_redis_store`, or your own ``async with client:``.
        """
        self._closed = True
        await trio.lowlevel.checkpoint()

    def _check_open(self) -> None:
        if self._closed:
            raise trio.ClosedResourceError(
                f"the Redis rescue store {self._name!r} is closed; open a new one to use it"
            )


@asynccontextmanager
async def connect_redis(url: str) -> AsyncGenerator[coredis.Redis[str]]:
    """Open a coredis client for *url* that decodes replies to str.

    coredis runs the block inside its connection pool's task group, which wraps
    every exception in an ExceptionGroup; this unwraps a group that holds one
    exception, so that the block's own exception propagates as itself.
    """
    try:
        async with coredis.Redis.from_url(url, decode_responses=True) as client:
            yield client
    except BaseExceptionGroup as group:
        sole = sole_exception(group)
        if sole is None:
            raise
        raise sole from None


def sole_exception(group: BaseExceptionGroup[Any]) -> BaseException | None:
    """Return the one exception that every leaf of *group* is, or None if they differ."""
    leaves: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        error = pending.pop()
        if isinstance(error, BaseExceptionGroup):
            pending.extend(cast("BaseExceptionGroup[Any]", error).exceptions)  # type: ignore[redundant-cast]
        else:
            leaves.append(error)
    if leaves and all(leaf is leaves[0] for leaf in leaves):
        return leaves[0]
    return None


async def run_script(script: Script[str], keys: Sequence[str], args: Sequence[str]) -> Any:
    """Run a registered Lua *script* and return its reply as Redis sent it."""
    return await script(keys=keys, args=args, callback=_reply_as_is)


def _reply_as_is(reply: Any, **_options: Any) -> Any:
    return reply


def _parse(text: str) -> dict[str, Any]:
    fields: dict[str, Any] = json.loads(text)
    return fields


@asynccontextmanager
async def open_redis_store(url: str, *, name: str) -> AsyncGenerator[RedisRescueStore]:
    """Connect to Redis at *url* and yield a :class:`RedisRescueStore` for *name*.

    The connection closes when the block exits.

    Args:
        url: A Redis URL such as ``redis://127.0.0.1:6379/0``.
        name: The bucket name; non-empty, without braces.

    .. versionadded:: 0.1
    """
    check_bucket_name(name)
    async with connect_redis(url) as client:
        store = RedisRescueStore(client, name)
        try:
            yield store
        finally:
            await store.aclose()
