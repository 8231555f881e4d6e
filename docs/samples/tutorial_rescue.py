"""When the block fails, every live task is rescued before the error propagates."""

import trio

import trio_bucket
from trio_bucket import TaskKind, TaskRecord


class Uploader(trio_bucket.Executor):
    def __init__(self) -> None:
        self.rescued: list[tuple[str, float]] = []

    async def on_execute(self, task: TaskRecord) -> None:
        await trio.sleep(10)
        print(f"uploaded {task.data}")

    async def on_panic(self, task: TaskRecord) -> None:
        # A real program would store the task here, to run it again later.
        left = task.deadline - trio.current_time()
        self.rescued.append((task.id, left))


async def query_database() -> None:
    await trio.sleep(1)
    raise ConnectionError("lost the connection to the database")


async def main() -> None:
    uploader = Uploader()
    try:
        async with trio_bucket.open_bucket(uploader, lifespan=30.0) as bucket:
            bucket.fill_nowait("upload:1", "report.pdf")
            bucket.fill_nowait("upload:2", "photo.jpg", kind=TaskKind.TIME_BOMB)
            await query_database()
    except ConnectionError as error:
        print(f"the block raised {error!r}")

    for task_id, left in sorted(uploader.rescued):
        print(f"rescued {task_id} with {left:.0f}s of its lifespan left")
    print(f"statistics: {bucket.statistics().rescued} rescued")


if __name__ == "__main__":
    trio.run(main)
