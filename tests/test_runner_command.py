"""The command executor with real processes: exit statuses, start failures, termination."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import trio
from runner_helpers import MARK_VARIABLE, wait_for_no_marked_processes

from trio_bucket import TaskKind, TaskRecord
from trio_bucket._runner._command import CommandExecutor, CommandFailedError


def _task(data: Any) -> TaskRecord:
    return TaskRecord("task", data, TaskKind.IMMEDIATE, 0.0, 0.0, 30.0)


async def _execute(data: Any) -> None:
    with trio.fail_after(10):
        await CommandExecutor().on_execute(_task(data))


async def test_zero_exit_finishes() -> None:
    await _execute({"argv": ["true"]})


async def test_env_adds_to_environment() -> None:
    script = 'test "$TRIO_BUCKET_X" = 1 && test -n "$PATH"'

    await _execute({"argv": ["sh", "-c", script], "env": {"TRIO_BUCKET_X": "1"}})


async def test_cwd_sets_folder() -> None:
    await _execute({"argv": ["sh", "-c", 'test "$(pwd)" = /'], "cwd": "/"})


async def test_nonzero_exit_keeps_stderr_tail() -> None:
    script = "for n in 1 2 3 4 5 6 7; do echo line $n >&2; done; exit 4"
    message = (
        r"^sh exited with status 4; stderr ends with:\nline 3\nline 4\nline 5\nline 6\nline 7$"
    )

    with pytest.raises(CommandFailedError, match=message):
        await _execute({"argv": ["sh", "-c", script]})


async def test_nonzero_exit_without_stderr() -> None:
    with pytest.raises(CommandFailedError, match=r"^false exited with status 1, with no output"):
        await _execute({"argv": ["false"]})


async def test_killed_command_names_signal() -> None:
    with pytest.raises(CommandFailedError, match=r"^sh was killed by SIGKILL"):
        await _execute({"argv": ["sh", "-c", "kill -KILL $$"]})


async def test_missing_program_fails() -> None:
    message = r"^cannot start 'no-such-program-here': No such file or directory; check the program"
    with pytest.raises(CommandFailedError, match=message):
        await _execute({"argv": ["no-such-program-here"]})


async def test_missing_cwd_fails() -> None:
    message = r"^cannot start 'true': No such file or directory: '/no/such/folder'$"
    with pytest.raises(CommandFailedError, match=message):
        await _execute({"argv": ["true"], "cwd": "/no/such/folder"})


async def test_cancel_kills_process_group() -> None:
    mark = uuid.uuid4().hex
    data = {"argv": ["sh", "-c", "sleep 30 & sleep 30 & wait"], "env": {MARK_VARIABLE: mark}}

    with trio.move_on_after(0.3) as scope:
        await CommandExecutor().on_execute(_task(data))

    assert scope.cancelled_caught
    assert await wait_for_no_marked_processes(mark) == []
