"""The executor that the kill tests run in ``trio-bucket run``.

It appends ``start ID PID`` when a task's on_execute begins and ``end ID PID`` when
it returns, to the file named by ``TRIO_BUCKET_KILL_LOG``. Each line is one
``write`` to a file opened with O_APPEND, so a killed process leaves only whole
lines, and the kernel keeps them after SIGKILL.
"""

from __future__ import annotations

import os

import trio

from trio_bucket import Executor, TaskRecord

#: The environment variable that names the log file.
LOG_VARIABLE = "TRIO_BUCKET_KILL_LOG"


class LoggingExecutor(Executor):
    """Sleeps ``task.data["seconds"]`` and logs the start and end of each run."""

    def __init__(self) -> None:
        self._log = os.open(os.environ[LOG_VARIABLE], os.O_WRONLY | os.O_APPEND | os.O_CREAT)

    def _write(self, event: str, task: TaskRecord) -> None:
        os.write(self._log, f"{event} {task.id} {os.getpid()}\n".encode())

    async def on_execute(self, task: TaskRecord) -> None:
        self._write("start", task)
        await trio.sleep(task.data["seconds"])
        self._write("end", task)
