"""A first bucket: a mailer that sends each welcome email in the background."""

import trio

import trio_bucket


class Mailer(trio_bucket.Executor):
    async def on_execute(self, task: trio_bucket.TaskRecord) -> None:
        # Stands for a conversation with a mail server; bigger messages take longer.
        await trio.sleep(0.1 * len(task.data))
        print(f"sent a welcome email to {task.data}")

    async def on_finish(self, task: trio_bucket.TaskRecord) -> None:
        print(f"{task.id} finished")


async def main() -> None:
    async with trio_bucket.open_bucket(Mailer()) as bucket:
        bucket.fill_nowait("welcome:ada", "ada@example.com")
        bucket.fill_nowait("welcome:grace", "grace@example.com")
        print(f"{len(bucket)} tasks are live")
    print("every task has reached its outcome")


if __name__ == "__main__":
    trio.run(main)
