"""Debounce: save a document once its author has stopped typing for two seconds."""

import trio

import trio_bucket
from trio_bucket import TaskKind, TaskRecord

QUIET_PERIOD = 2.0


class Saver(trio_bucket.Executor):
    async def on_execute(self, task: TaskRecord) -> None:
        await trio.sleep(0.1)  # Stands for writing the file.
        print(f"saved {task.id}: {task.data!r}")


def on_edit(bucket: trio_bucket.Bucket, document: str, text: str) -> None:
    """Restart the document's quiet period; only the last edit in a burst is saved."""
    if document in bucket:
        bucket.drain(document)
    bucket.fill_nowait(document, text, kind=TaskKind.TIME_BOMB)


async def main() -> None:
    async with trio_bucket.open_bucket(
        Saver(), run_after=QUIET_PERIOD, lifespan=QUIET_PERIOD + 10
    ) as bucket:
        for text in ["H", "He", "Hel", "Hell", "Hello"]:
            on_edit(bucket, "notes.txt", text)
            await trio.sleep(0.3)

        await trio.sleep(3)  # The author pauses: the burst is saved once.
        on_edit(bucket, "notes.txt", "Hello, world")
        await trio.sleep(0.5)
        on_edit(bucket, "todo.txt", "buy milk")

    statistics = bucket.statistics()
    print(f"{statistics.filled} edits, {statistics.finished} saves")


if __name__ == "__main__":
    trio.run(main)
