"""Undo send: each message waits out an undo window as a time bomb."""

import trio

import trio_bucket
from trio_bucket import TaskKind, TaskRecord

UNDO_WINDOW = 5.0


class Outbox(trio_bucket.Executor):
    async def on_execute(self, task: TaskRecord) -> None:
        await trio.sleep(0.2)  # Stands for the mail server.
        waited = trio.current_time() - task.filled_at
        print(f"sent {task.id} {waited:.1f}s after it was queued: {task.data!r}")


def send(bucket: trio_bucket.Bucket, message_id: str, text: str) -> None:
    """Queue a message; it goes out when the undo window has passed."""
    bucket.fill_nowait(message_id, text, kind=TaskKind.TIME_BOMB)
    print(f"queued {message_id}")


def undo(bucket: trio_bucket.Bucket, message_id: str) -> str | None:
    """Take a message back unless it has gone out; return its text for the draft box."""
    if message_id not in bucket:
        return None
    record = bucket.drain(message_id)
    return str(record.data)


async def main() -> None:
    async with trio_bucket.open_bucket(
        Outbox(), run_after=UNDO_WINDOW, lifespan=UNDO_WINDOW + 30
    ) as bucket:
        send(bucket, "message:1", "Lunch at noon?")
        await trio.sleep(1)
        send(bucket, "message:2", "Lunch at 1pm, sorry!")
        await trio.sleep(1)
        print(f"undo message:2, back to the draft box: {undo(bucket, 'message:2')!r}")
        await trio.sleep(5)
        print(f"undo message:1, too late: {undo(bucket, 'message:1')!r}")


if __name__ == "__main__":
    trio.run(main)
