"""Time bombs, lifespans, handles, drain and failures: each outcome once."""

import trio

import trio_bucket
from trio_bucket import Outcome, TaskKind, TaskRecord


class Reporter(trio_bucket.Executor):
    async def on_execute(self, task: TaskRecord) -> None:
        if task.data == "crash":
            raise ValueError("the payload is malformed")
        await trio.sleep(task.data)

    async def on_finish(self, task: TaskRecord) -> None:
        elapsed = trio.current_time() - task.filled_at
        print(f"{task.id}: finished {elapsed:.0f}s after its fill")

    async def on_execute_error(self, task: TaskRecord, error: Exception) -> None:
        print(f"{task.id}: failed with {error!r}")

    async def on_exhausted(self, task: TaskRecord) -> None:
        print(f"{task.id}: ran out of its {task.lifespan:.0f}s lifespan")


async def main() -> None:
    async with trio_bucket.open_bucket(Reporter(), lifespan=5.0, run_after=2.0) as bucket:
        quick = bucket.fill_nowait("quick", 1.0)
        bucket.fill_nowait("reminder", 0.0, kind=TaskKind.TIME_BOMB)
        bucket.fill_nowait("slow", 60.0)
        bucket.fill_nowait("broken", "crash")
        undo = bucket.fill_nowait("undo", 0.0, kind=TaskKind.TIME_BOMB, run_after=3.0)

        outcome = await quick.wait()
        print(f"quick: wait() returned {outcome}")
        undo.drain()
        print(f"undo: {undo.outcome}, and no hook ran for it")

    statistics = bucket.statistics()
    for outcome in Outcome:
        print(f"{outcome.value}: {getattr(statistics, outcome.value)}")


if __name__ == "__main__":
    trio.run(main)
