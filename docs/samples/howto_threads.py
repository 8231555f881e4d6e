"""Fill a bucket from a worker thread that reads a blocking source."""

import hashlib
import time
from collections.abc import Iterator

import trio

import trio_bucket
from trio_bucket import TaskRecord


def blocking_source() -> Iterator[str]:
    """Stands for a blocking API: a serial port, a legacy client library, a pipe."""
    for order in ["apples", "bread", "cheese", "dates", "eggs"]:
        time.sleep(0.01)
        yield order


class Checksummer(trio_bucket.Executor):
    def __init__(self) -> None:
        self.digests: dict[str, str] = {}

    async def on_execute(self, task: TaskRecord) -> None:
        await trio.sleep(1)  # Stands for the real work.
        self.digests[task.id] = hashlib.sha256(task.data.encode()).hexdigest()[:12]


def produce(bucket: trio_bucket.Bucket) -> int:
    """Run in a worker thread: fill one task per item, waiting while the bucket is full."""
    count = 0
    for count, item in enumerate(blocking_source(), start=1):
        # The bucket belongs to the Trio thread: reach it only through trio.from_thread.
        trio.from_thread.run(bucket.fill, f"order:{count}", item)
    return count


async def main() -> None:
    checksummer = Checksummer()
    async with trio_bucket.open_bucket(checksummer, max_tasks=2) as bucket:
        filled = await trio.to_thread.run_sync(produce, bucket)
        print(f"the thread filled {filled} tasks")

    for task_id, digest in sorted(checksummer.digests.items()):
        print(f"{task_id}: {digest}")


if __name__ == "__main__":
    trio.run(main)
