"""Rescue unfinished tasks into SQLite when a run fails, and restore them in the next run."""

import trio

import trio_bucket
from trio_bucket import SqliteRescueStore, TaskKind, TaskRecord

DATABASE = "rescued.sqlite3"


class Invoicer(trio_bucket.Executor):
    async def on_execute(self, task: TaskRecord) -> None:
        await trio.sleep(task.data["seconds"])  # Stands for the real work.

    async def on_finish(self, task: TaskRecord) -> None:
        print(f"  finished {task.id} for {task.data['customer']}")


def describe(task: TaskRecord) -> str:
    now = trio.current_time()
    starts_in = max(0.0, task.run_at - now)
    return f"{task.id}: starts in {starts_in:.0f}s, {task.deadline - now:.0f}s of lifespan left"


async def charge_payments() -> None:
    await trio.sleep(10)
    raise ConnectionError("the payment service went away")


async def failing_run() -> None:
    """Fill three invoices, then fail before two of them are done."""
    async with await SqliteRescueStore.open(DATABASE) as store:
        try:
            async with trio_bucket.open_bucket(Invoicer(), lifespan=60, store=store) as bucket:
                bucket.fill_nowait("invoice:1", {"customer": "Ada", "seconds": 1})
                bucket.fill_nowait("invoice:2", {"customer": "Grace", "seconds": 20})
                bucket.fill_nowait(
                    "invoice:3",
                    {"customer": "Edsger", "seconds": 5},
                    kind=TaskKind.TIME_BOMB,
                    run_after=30,
                )
                await charge_payments()
        except ConnectionError as error:
            print(f"  the run failed: {error}")

        for task in await store.load():
            print(f"  stored {describe(task)}")


async def next_run() -> None:
    """Restore the stored invoices and finish them."""
    async with await SqliteRescueStore.open(DATABASE) as store:
        async with trio_bucket.open_bucket(Invoicer(), lifespan=60, store=store) as bucket:
            for handle in await bucket.restore():
                print(f"  restored {describe(handle.record)}")

        print(f"  tasks left in the store: {len(await store.load())}")


async def main() -> None:
    print("first run:")
    await failing_run()
    await trio.sleep(3600)  # Stands for the hour before the program runs again.
    print("next run:")
    await next_run()


if __name__ == "__main__":
    trio.run(main)
