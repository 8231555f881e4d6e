"""Journal mode: the store contains every task without an outcome, so a crash loses none."""

import trio

import trio_bucket
from trio_bucket import SqliteRescueStore, TaskRecord

DATABASE = "journal.sqlite3"


class Invoicer(trio_bucket.Executor):
    async def on_execute(self, task: TaskRecord) -> None:
        await trio.sleep(task.data["seconds"])  # Stands for the real work.


async def stored_ids(store: SqliteRescueStore) -> list[str]:
    return [task.id for task in await store.load()]


async def main() -> None:
    async with await SqliteRescueStore.open(DATABASE) as store:
        async with trio_bucket.open_bucket(
            Invoicer(), lifespan=60, store=store, journal=True
        ) as bucket:
            # Start every run by redoing what a crashed run left behind.
            restored = await bucket.restore()
            print(f"restored {len(restored)} tasks")

            # fill_nowait() returns before the store contains the task, and fill()
            # after, so awaiting the last fill covers the batch of both.
            bucket.fill_nowait("invoice:1", {"seconds": 1})
            await bucket.fill("invoice:2", {"seconds": 20})
            print(f"stored while running: {await stored_ids(store)}")

        print(f"stored after the block: {await stored_ids(store)}")


if __name__ == "__main__":
    trio.run(main)
