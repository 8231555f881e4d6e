"""The built-in command executor: each task runs one program, without a shell.

A task's data is ``{"argv": [...], "cwd": ..., "env": {...}}``; cwd and env are
optional, and env adds to the runner's own environment. The program starts in a
new session, so its process group contains it and every child it starts. When the
task is cancelled (its lifespan ran out, or it was drained or rescued) the whole
group gets SIGTERM, then SIGKILL if it is still running 5 seconds later.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from functools import partial
from typing import Any

import attrs
import trio

from .._executor import Executor
from .._records import TaskRecord

# NOTE: POSIX only. Sessions, process groups and os.killpg do not exist on Windows.

#: Seconds between SIGTERM and SIGKILL for a cancelled command.
KILL_AFTER = 5.0
#: Bytes of standard error kept for the message of a failed command.
STDERR_TAIL_BYTES = 2000
#: Lines of standard error shown in that message.
STDERR_TAIL_LINES = 5

_DATA_KEYS = frozenset({"argv", "cwd", "env"})


class CommandFailedError(Exception):
    """A command that exited with a non-zero status, or could not start."""


class CommandDataError(ValueError):
    """Task data that does not describe a command; the message names the field."""


@attrs.frozen
class Command:
    """A program to run, checked from a task's data."""

    argv: list[str]
    cwd: str | None
    env: dict[str, str] | None


def parse_command(data: Any) -> Command:
    """Return the command that task *data* describes.

    Raises:
        CommandDataError: if *data* is not ``{"argv": [str, ...], "cwd": str,
            "env": {str: str}}`` with a non-empty argv; the message names the field.
    """
    if not isinstance(data, dict):
        raise CommandDataError(
            'the command executor needs "data": {"argv": ["program", "arg", ...]}, '
            f"got {_describe(data)}"
        )
    fields: dict[str, Any] = data  # pyright: ignore[reportUnknownVariableType]
    unknown = sorted(set(fields) - _DATA_KEYS)
    if unknown:
        raise CommandDataError(
            f"unknown key {', '.join(map(repr, unknown))} in data; "
            "the command executor reads 'argv', 'cwd' and 'env'"
        )

    argv = fields.get("argv")
    if not _is_str_list(argv) or not argv:
        raise CommandDataError(
            'data "argv" must be a non-empty list of strings, like ["gzip", "--test", "a.gz"]; '
            f"got {_describe(argv)}"
        )
    cwd = fields.get("cwd")
    if cwd is not None and not isinstance(cwd, str):
        raise CommandDataError(f'data "cwd" must be a string naming a folder, got {_describe(cwd)}')
    env = fields.get("env")
    if env is not None and not _is_str_dict(env):
        raise CommandDataError(
            'data "env" must map names to string values, like {"LANG": "C"}; '
            f"got {_describe(env)}"
        )
    return Command(list(argv), cwd, None if env is None else dict(env))


def check_command_data(data: Any) -> None:
    """Raise CommandDataError unless the command executor can run task *data*."""
    parse_command(data)


class CommandExecutor(Executor):
    """Runs each task's ``data["argv"]`` with :func:`trio.run_process`.

    A non-zero exit status raises :exc:`CommandFailedError` with the status and the
    last lines of standard error, so the task is FAILED; so does a program that
    cannot be started. The program's standard output is discarded, because the
    runner's own standard output carries its events.
    """

    async def on_execute(self, task: TaskRecord) -> None:
        """Run the task's command and wait for it to exit."""
        command = parse_command(task.data)
        tail = bytearray()
        process: trio.Process | None = None
        start_error: OSError | None = None

        try:
            async with trio.open_nursery() as nursery:
                try:
                    started: trio.Process = await nursery.start(partial(_run, command))
                except OSError as error:
                    start_error = error
                else:
                    process = started
                    assert started.stderr is not None
                    nursery.start_soon(_keep_tail, started.stderr, tail)
        except BaseException:
            # run_process waited for the program itself to exit, not for its children.
            if process is not None:
                _signal_process_group(process.pid, signal.SIGKILL)
            raise

        if start_error is not None:
            raise CommandFailedError(_start_failure(command, start_error))
        assert process is not None
        if process.returncode:
            raise CommandFailedError(_exit_failure(command, process.returncode, bytes(tail)))


async def _run(command: Command, *, task_status: trio.TaskStatus[trio.Process]) -> None:
    env = None if command.env is None else {**os.environ, **command.env}
    await trio.run_process(
        command.argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
        cwd=command.cwd,
        env=env,
        start_new_session=True,
        deliver_cancel=_terminate_group,
        task_status=task_status,
    )


async def _terminate_group(process: trio.Process) -> None:
    _signal_process_group(process.pid, signal.SIGTERM)
    await trio.sleep(KILL_AFTER)
    _signal_process_group(process.pid, signal.SIGKILL)


def _signal_process_group(pid: int, signum: signal.Signals) -> None:
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass  # The group has exited.


async def _keep_tail(stream: trio.abc.ReceiveStream, tail: bytearray) -> None:
    async with stream:
        async for chunk in stream:
            tail += chunk
            del tail[:-STDERR_TAIL_BYTES]


def _start_failure(command: Command, error: OSError) -> str:
    reason = error.strerror or str(error)
    if error.filename is not None and error.filename != command.argv[0]:
        return f"cannot start {command.argv[0]!r}: {reason}: {error.filename!r}"
    return f"cannot start {command.argv[0]!r}: {reason}; check the program name and PATH"


def _exit_failure(command: Command, returncode: int, stderr: bytes) -> str:
    if returncode < 0:
        status = f"was killed by {signal.Signals(-returncode).name}"
    else:
        status = f"exited with status {returncode}"

    lines = stderr.decode("utf-8", errors="replace").strip().splitlines()[-STDERR_TAIL_LINES:]
    if not lines:
        return f"{command.argv[0]} {status}, with no output on stderr"
    return f"{command.argv[0]} {status}; stderr ends with:\n" + "\n".join(lines)


def _is_str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)  # pyright: ignore[reportUnknownVariableType]


def _is_str_dict(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(key, str) and isinstance(item, str)
        for key, item in value.items()  # pyright: ignore[reportUnknownVariableType]
    )


def _describe(value: object) -> str:
    # The value came from a JSON line, so show it as JSON: null, not None.
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
