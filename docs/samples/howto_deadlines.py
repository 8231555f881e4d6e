"""Deadline-bound work: render the best thumbnail that fits in each task's lifespan."""

import trio

import trio_bucket
from trio_bucket import TaskRecord

FALLBACK_TIME = 0.5  # Seconds kept back from the deadline for the cheap fallback.


class Thumbnailer(trio_bucket.Executor):
    async def on_execute(self, task: TaskRecord) -> None:
        # A timeout of the task's own is an error like any other: FAILED.
        with trio.fail_after(2.0):
            await trio.sleep(task.data.get("download", 0.0))  # Stands for a download.

        # The task's cancel scope ends at task.deadline; stop the full render a
        # little earlier so that the fallback still fits.
        with trio.move_on_at(task.deadline - FALLBACK_TIME):
            await trio.sleep(task.data["full"])  # Stands for the full render.
            print(f"{task.id}: full render")
            return

        await trio.sleep(task.data["draft"])  # Stands for a quick draft render.
        print(f"{task.id}: draft render, {task.deadline - trio.current_time():.1f}s to spare")

    async def on_exhausted(self, task: TaskRecord) -> None:
        print(f"{task.id}: no thumbnail within {task.lifespan:.0f}s")

    async def on_execute_error(self, task: TaskRecord, error: Exception) -> None:
        print(f"{task.id}: failed with {type(error).__name__}, not exhausted")


async def main() -> None:
    async with trio_bucket.open_bucket(Thumbnailer(), lifespan=5.0) as bucket:
        bucket.fill_nowait("small.png", {"full": 1.0, "draft": 0.1})
        bucket.fill_nowait("huge.png", {"full": 60.0, "draft": 0.2})
        bucket.fill_nowait("urgent.png", {"full": 60.0, "draft": 0.2}, lifespan=2.0)
        bucket.fill_nowait("stuck.png", {"full": 60.0, "draft": 60.0})
        bucket.fill_nowait("remote.png", {"download": 3.0, "full": 1.0, "draft": 0.1})


if __name__ == "__main__":
    trio.run(main)
