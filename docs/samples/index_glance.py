"""The shortest useful program: one immediate task and one time bomb."""

import trio

import trio_bucket


class Printer(trio_bucket.Executor):
    async def on_execute(self, task: trio_bucket.TaskRecord) -> None:
        waited = trio.current_time() - task.filled_at
        print(f"{task.id} says {task.data} {waited:.1f}s after its fill")


async def main() -> None:
    async with trio_bucket.open_bucket(Printer(), run_after=2.0) as bucket:
        bucket.fill_nowait("now", "hello")
        bucket.fill_nowait("later", "goodbye", kind=trio_bucket.TaskKind.TIME_BOMB)


if __name__ == "__main__":
    trio.run(main)
