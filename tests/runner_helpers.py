"""Helpers for the runner tests: start ``trio-bucket run`` as a real subprocess.

The tests synchronise on the runner's output lines, never on sleeps. Tasks that
must stay running until the test lets them go wait for a gate file to exist.
This module also defines the executors that the tests name with ``--executor``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import trio

from trio_bucket import Executor, TaskRecord

#: The repository root: the runner runs there, so ``--executor tests.runner_helpers:X`` imports.
ROOT = Path(__file__).resolve().parent.parent
#: Seconds any one runner subprocess may take before the test fails.
TIMEOUT = 20.0
#: The environment variable that marks the processes of one test's tasks.
MARK_VARIABLE = "TRIO_BUCKET_TEST_MARK"

Event = dict[str, Any]


def runner_command(*arguments: str) -> list[str]:
    """Return the command line that runs ``trio-bucket`` with *arguments*."""
    return [sys.executable, "-m", "trio_bucket", *arguments]


def runner_environment(state_home: Path) -> dict[str, str]:
    """Return an environment whose default store lies under *state_home*."""
    return {**os.environ, "XDG_STATE_HOME": str(state_home)}


def job(task_id: str, argv: list[str], **fields: Any) -> str:
    """Return a job line that runs *argv* with the command executor."""
    return json.dumps({"id": task_id, "data": {"argv": argv}, **fields})


def gated_job(task_id: str, gate: Path, log: Path, mark: str, **fields: Any) -> str:
    """Return a job line whose command waits until *gate* exists, then logs its id."""
    script = 'while [ ! -e "$1" ]; do sleep 0.02; done; echo "$2" >> "$3"'
    data = {
        "argv": ["sh", "-c", script, "sh", str(gate), task_id, str(log)],
        "env": {MARK_VARIABLE: mark},
    }
    return json.dumps({"id": task_id, "data": data, **fields})


def lines(*texts: str) -> bytes:
    """Return *texts* as the bytes of a job file, one per line."""
    return "".join(text + "\n" for text in texts).encode()


@attrs.frozen
class Completed:
    """A finished runner: its exit status, events and standard error."""

    returncode: int
    events: list[Event]
    stderr: str

    def outcomes(self) -> dict[str, str]:
        """Return each task id's outcome."""
        return {event["id"]: event["outcome"] for event in self.events}


async def run_runner(
    *arguments: str, jobs: bytes = b"", env: dict[str, str] | None = None
) -> Completed:
    """Run ``trio-bucket`` with *arguments* and *jobs* on standard input, to its end."""
    with trio.fail_after(TIMEOUT):
        result = await trio.run_process(
            runner_command(*arguments),
            stdin=jobs,
            capture_stdout=True,
            capture_stderr=True,
            check=False,
            cwd=ROOT,
            env=env,
        )
    return _completed(result.returncode, result.stdout, result.stderr)


def _completed(returncode: int, stdout: bytes, stderr: bytes) -> Completed:
    events = [json.loads(line) for line in stdout.decode().splitlines()]
    return Completed(returncode, events, stderr.decode())


class LiveRunner:
    """A running ``trio-bucket`` whose standard input stays open until closed."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self.events: list[Event] = []
        self._stdout = bytearray()
        self._stderr = bytearray()
        self._stderr_ended = trio.Event()

    async def send(self, *texts: str) -> None:
        """Write job lines to the runner's standard input."""
        assert self.process.stdin is not None
        await self.process.stdin.send_all(lines(*texts))

    async def close_input(self) -> None:
        """Close the runner's standard input, which ends its input."""
        assert self.process.stdin is not None
        await self.process.stdin.aclose()

    async def wait_for_event(self, matches: Callable[[Event], bool]) -> Event:
        """Read events until one *matches*, and return it."""
        with trio.fail_after(TIMEOUT):
            while True:
                event = await self._next_event()
                if matches(event):
                    return event

    async def wait_for_outcomes(self, outcome: str, count: int) -> None:
        """Read events until *count* of them have *outcome*."""
        with trio.fail_after(TIMEOUT):
            while sum(event["outcome"] == outcome for event in self.events) < count:
                await self._next_event()

    async def finish(self) -> Completed:
        """Wait for the runner to exit; return everything it wrote."""
        assert self.process.stdout is not None
        with trio.fail_after(TIMEOUT):
            async for chunk in self.process.stdout:
                self._stdout += chunk
            await self.process.wait()
            await self._stderr_ended.wait()
        for line in bytes(self._stdout).decode().splitlines():
            self.events.append(json.loads(line))
        self._stdout.clear()
        assert self.process.returncode is not None
        return Completed(self.process.returncode, self.events, self._stderr.decode())

    async def _next_event(self) -> Event:
        assert self.process.stdout is not None
        while b"\n" not in self._stdout:
            chunk = await self.process.stdout.receive_some()
            if not chunk:
                raise AssertionError(f"the runner ended without the expected event: {self.events}")
            self._stdout += chunk
        line, _, rest = bytes(self._stdout).partition(b"\n")
        self._stdout = bytearray(rest)
        event: Event = json.loads(line)
        self.events.append(event)
        return event

    async def _collect_stderr(self) -> None:
        assert self.process.stderr is not None
        async for chunk in self.process.stderr:
            self._stderr += chunk
        self._stderr_ended.set()


@asynccontextmanager
async def live_runner(*arguments: str, env: dict[str, str]) -> AsyncIterator[LiveRunner]:
    """Start ``trio-bucket`` with *arguments* and pipes on all three standard streams.

    The runner is killed if it is still running when the block exits.
    """
    process = await trio.lowlevel.open_process(
        runner_command(*arguments),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=env,
    )
    runner = LiveRunner(process)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(runner._collect_stderr)  # pyright: ignore[reportPrivateUsage]
            yield runner
            nursery.cancel_scope.cancel()
    finally:
        if process.returncode is None:
            process.kill()
        with trio.CancelScope(shield=True):
            await process.wait()


def marked_processes(mark: str) -> list[int]:
    """Return the ids of running processes whose environment contains *mark*."""
    needle = f"{MARK_VARIABLE}={mark}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environment = (entry / "environ").read_bytes()
        except OSError:
            continue  # Exited meanwhile, or another user's process.
        if needle in environment.split(b"\0"):
            found.append(int(entry.name))
    return found


async def wait_for_no_marked_processes(mark: str) -> list[int]:
    """Wait until no process contains *mark*, for up to 2 seconds; return those left.

    A process that got SIGTERM or SIGKILL is still listed until the kernel has
    finished its exit, so the check polls instead of looking once.
    """
    for _ in range(100):
        if not marked_processes(mark):
            break
        await trio.sleep(0.02)
    return marked_processes(mark)


def stored_ids(store: Path) -> list[str]:
    """Return the task ids that the SQLite store at *store* contains, in save order."""
    connection = sqlite3.connect(store)
    try:
        rows = connection.execute("SELECT id FROM rescued_tasks ORDER BY seq").fetchall()
    finally:
        connection.close()
    return [task_id for (task_id,) in rows]


class EchoExecutor(Executor):
    """Finishes a task whose data is a string; fails any other with TypeError."""

    async def on_execute(self, task: TaskRecord) -> None:
        """Check that the data is a string."""
        await trio.lowlevel.checkpoint()
        if not isinstance(task.data, str):
            raise TypeError(f"expected a string, got {task.data!r}")


class NotAnExecutor:
    """A class without the executor hooks, for the error of ``--executor``."""


echo_executor = EchoExecutor()
