"""RedisRescueStore against a real redis-server: what the shared store contract does not cover."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator

import coredis
import pytest
import trio.testing

import trio_bucket
from trio_bucket import TaskKind, TaskRecord
from trio_bucket._stores._redis import RedisRescueStore, open_redis_store

pytestmark = pytest.mark.redis


def _record(task_id: str, data: object = None, *, at: float = 0.0) -> TaskRecord:
    return TaskRecord(task_id, data, TaskKind.TIME_BOMB, at, at + 1.0, at + 5.0)


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[coredis.Redis[str]]:
    async with coredis.Redis.from_url(redis_url, decode_responses=True) as redis:
        yield redis


async def test_load_keeps_save_order(redis_url: str, redis_name: str) -> None:
    async with open_redis_store(redis_url, name=redis_name) as store:
        await store.save([_record("c"), _record("a")])
        await store.save([_record("b")])

        loaded = await store.load()

    assert [record.id for record in loaded] == ["c", "a", "b"]


async def test_save_again_replaces_and_moves_last(redis_url: str, redis_name: str) -> None:
    async with open_redis_store(redis_url, name=redis_name) as store:
        await store.save([_record("a", 1), _record("b", 2)])
        await store.save([_record("a", 3)])

        loaded = await store.load()

    assert [(record.id, record.data) for record in loaded] == [("b", 2), ("a", 3)]


async def test_names_keep_stores_apart(redis_url: str, redis_name: str) -> None:
    async with (
        open_redis_store(redis_url, name=f"{redis_name}-one") as one,
        open_redis_store(redis_url, name=f"{redis_name}-two") as two,
    ):
        await one.save([_record("a")])

        assert [record.id for record in await one.load()] == ["a"]
        assert await two.load() == []


async def test_tasks_outlive_the_connection(
    redis_url: str, redis_name: str, mock_clock: trio.testing.MockClock
) -> None:
    async with open_redis_store(redis_url, name=redis_name) as store:
        await store.save([_record("a", {"path": "/tmp/x", "tries": [1, 2]})])

    async with open_redis_store(redis_url, name=redis_name) as store:
        loaded = await store.load()

    assert loaded == [_record("a", {"path": "/tmp/x", "tries": [1, 2]})]


async def test_time_stops_while_stored(
    redis_url: str, redis_name: str, mock_clock: trio.testing.MockClock
) -> None:
    async with open_redis_store(redis_url, name=redis_name) as store:
        mock_clock.jump(2.0)  # The task was filled at 0: 3 seconds of lifespan left.
        await store.save([_record("a")])
        mock_clock.jump(100.0)

        (loaded,) = await store.load()

    assert loaded.filled_at == 100.0
    assert loaded.run_at == 101.0
    assert loaded.deadline == 105.0


async def test_remove_ignores_unknown_ids(redis_url: str, redis_name: str) -> None:
    async with open_redis_store(redis_url, name=redis_name) as store:
        await store.save([_record("a"), _record("b")])

        await store.remove(["a", "never-saved"])

        assert [record.id for record in await store.load()] == ["b"]


async def test_empty_store_leaves_no_keys(
    redis_url: str, redis_name: str, client: coredis.Redis[str]
) -> None:
    async with open_redis_store(redis_url, name=redis_name) as store:
        await store.save([_record("a"), _record("b")])
        assert await client.keys(f"trio_bucket:{{{redis_name}}}:*") != set()

        await store.remove(["a", "b"])

    assert await client.keys(f"trio_bucket:{{{redis_name}}}:*") == set()


async def test_large_batch_in_one_call(redis_url: str, redis_name: str) -> None:
    records = [_record(f"task-{number}") for number in range(20_000)]
    async with open_redis_store(redis_url, name=redis_name) as store:
        await store.save(records)
        loaded = await store.load()
        await store.remove([record.id for record in records])

        assert await store.load() == []

    assert [record.id for record in loaded] == [record.id for record in records]


async def test_empty_calls_do_nothing(redis_url: str, redis_name: str) -> None:
    async with open_redis_store(redis_url, name=redis_name) as store:
        await store.save([])
        await store.remove([])

        assert await store.load() == []


async def test_closed_store_raises(redis_url: str, redis_name: str) -> None:
    async with open_redis_store(redis_url, name=redis_name) as store:
        await store.aclose()

        with pytest.raises(trio.ClosedResourceError, match=r"rescue store 'test-\w+' is closed"):
            await store.load()


async def test_borrowed_client_stays_open(redis_name: str, client: coredis.Redis[str]) -> None:
    store = RedisRescueStore(client, redis_name)
    await store.save([_record("a")])
    await store.aclose()

    assert await client.ping() == "PONG"


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        ("", ValueError, r"must be a non-empty str without '\{' or '\}', got ''"),
        ("a{b}", ValueError, r"without '\{' or '\}', got 'a\{b\}'"),
        (7, TypeError, r"the bucket name must be a str, got int 7"),
    ],
)
async def test_bad_name_raises(
    redis_url: str, name: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        async with open_redis_store(redis_url, name=name):  # type: ignore[arg-type]
            pass


IMPORT_CHECK = """
import sys
sys.modules["coredis"] = None  # As if the redis extra were not installed.
import trio_bucket
try:
    trio_bucket.RedisRescueStore
except ImportError as error:
    print(error)
"""


def test_import_without_coredis() -> None:
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_CHECK], capture_output=True, text=True, check=True
    )

    assert "pip install 'trio_bucket[redis]'" in result.stdout
    assert result.stderr == ""


def test_import_loads_coredis_on_first_use() -> None:
    code = (
        "import sys, trio_bucket; print('coredis' in sys.modules); "
        "trio_bucket.SharedBucket; print('coredis' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout.split() == ["False", "True"]


def test_lazy_names_show_public_module() -> None:
    assert trio_bucket.RedisRescueStore.__module__ == "trio_bucket"
    assert trio_bucket.open_shared_bucket.__module__ == "trio_bucket"
