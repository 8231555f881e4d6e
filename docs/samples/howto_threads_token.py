"""Fill a bucket from a thread that Trio did not start, such as a library's callback thread."""

import threading

import trio

import trio_bucket
from trio_bucket import TaskRecord


class Handler(trio_bucket.Executor):
    def __init__(self) -> None:
        self.handled: list[str] = []

    async def on_execute(self, task: TaskRecord) -> None:
        await trio.sleep(1)  # Stands for the real work.
        self.handled.append(f"{task.id}: {task.data}")


def listen(bucket: trio_bucket.Bucket, token: trio.lowlevel.TrioToken) -> None:
    """Stands for a library thread that calls back with each message it receives."""
    for number, text in enumerate(["ping", "status", "reload"], start=1):
        # This thread is not Trio's, so it passes the token of the run it calls into.
        trio.from_thread.run_sync(bucket.fill_nowait, f"message:{number}", text, trio_token=token)


async def main() -> None:
    handler = Handler()
    async with trio_bucket.open_bucket(handler) as bucket:
        token = trio.lowlevel.current_trio_token()
        listener = threading.Thread(target=listen, args=(bucket, token))
        listener.start()
        # Wait for the thread without blocking Trio; until it ends the bucket may be empty.
        await trio.to_thread.run_sync(listener.join)

    print("\n".join(sorted(handler.handled)))


if __name__ == "__main__":
    trio.run(main)
