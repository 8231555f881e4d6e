"""GoBucket's usage example, ported: the same settings, hooks, fill, drain and rescue."""

import trio

import trio_bucket
from trio_bucket import TaskKind, TaskRecord


class SampleExecutor(trio_bucket.Executor):
    # OnExecute(ctx, id, data) error: raise instead of returning an error.
    async def on_execute(self, task: TaskRecord) -> None:
        print(f"execute {task.id} data={task.data}")

    # OnExecuteError(ctx, id, data, err): the exception object arrives as error.
    async def on_execute_error(self, task: TaskRecord, error: Exception) -> None:
        print(f"{task.id} failed: {error}")

    # OnPanicOccured(ctx, id, data): runs for every task that rescue() cancels.
    async def on_panic(self, task: TaskRecord) -> None:
        print(f"rescued {task.id}")


async def main() -> None:
    # NewTaskBucket(&BucketConfig{LifeSpan, MaxBucket, Verbose, RunAfter}, executor)
    async with trio_bucket.open_bucket(
        SampleExecutor(), lifespan=5.0, max_tasks=1024, verbose=True, run_after=1.0
    ) as bucket:
        # Fill(ctx, gobucket.ImmidiateTask, id, data)
        bucket.fill_nowait("process::1", {"id": 1, "name": "Johnson"})
        # Fill(ctx, gobucket.TimeBombTask, id, data), then Drain(ctx, id)
        bucket.fill_nowait("process::2", {"id": 2, "name": "Smith"}, kind=TaskKind.TIME_BOMB)
        bucket.drain("process::2")
        # Rescue(ctx): cancel what is still live and hand it to on_panic.
        bucket.fill_nowait("process::3", {"id": 3, "name": "Lee"}, kind=TaskKind.TIME_BOMB)
        await trio.sleep(0.1)
        rescued = await bucket.rescue()
        print(f"rescue() returned {[task.id for task in rescued]}")


if __name__ == "__main__":
    trio.run(main)
