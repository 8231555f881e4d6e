"""Parsing of job lines: every accepted form, and the message of every rejected one."""

from __future__ import annotations

import json
from typing import Any

import pytest

from trio_bucket import TaskKind
from trio_bucket._runner._command import check_command_data
from trio_bucket._runner._jobs import (
    DrainLine,
    JobLineError,
    TaskDefaults,
    TaskLine,
    parse_job_line,
)

DEFAULTS = TaskDefaults(run_after=1.0, lifespan=5.0)


def _parse(text: str) -> TaskLine | DrainLine:
    return parse_job_line(text.encode(), DEFAULTS, check_command_data)


def test_task_needs_only_id() -> None:
    line = parse_job_line(b'{"id": "a"}', DEFAULTS)

    assert line == TaskLine("a", None, TaskKind.IMMEDIATE, None, None)


def test_task_keeps_its_fields() -> None:
    fields = {"data": {"argv": ["true"]}, "kind": "time_bomb", "run_after": 2, "lifespan": 9}

    line = _parse(json.dumps({"id": "a", **fields}))

    assert line == TaskLine("a", {"argv": ["true"]}, TaskKind.TIME_BOMB, 2.0, 9.0)


def test_run_after_without_kind_is_time_bomb() -> None:
    line = _parse('{"id": "a", "data": {"argv": ["true"]}, "run_after": 0.5}')

    assert isinstance(line, TaskLine)
    assert line.kind is TaskKind.TIME_BOMB
    assert line.run_after == 0.5


def test_time_bomb_checked_against_defaults() -> None:
    message = r"time bomb run_after \(1 s\) must be less than its lifespan \(0.5 s\)"
    with pytest.raises(JobLineError, match=message):
        _parse('{"id": "a", "data": {"argv": ["true"]}, "kind": "time_bomb", "lifespan": 0.5}')


def test_drain_line() -> None:
    assert _parse('{"drain": "a"}') == DrainLine("a")


def test_custom_executor_data_unchecked() -> None:
    line = parse_job_line(b'{"id": "a", "data": [1, 2]}', DEFAULTS)

    assert isinstance(line, TaskLine)
    assert line.data == [1, 2]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", r"^invalid JSON \(Expecting property name enclosed in double quotes at column 2\)"),
        ('"a"', r"^expected a JSON object, got a string; write a task as"),
        ("null", r"^expected a JSON object, got null"),
        ("3", r"^expected a JSON object, got a number"),
        ('{"data": 1}', r'^missing "id"; give every task a unique string id'),
        ('{"id": 7}', r'^"id" must be a non-empty string, got 7$'),
        ('{"id": ""}', r'^"id" must be a non-empty string, got ""$'),
        ('{"id": "a", "kind": 1}', r'^unknown "kind" 1; use "immediate" or "time_bomb"'),
        (
            '{"id": "a", "kind": "immediate", "run_after": 1}',
            r'^"run_after" applies only to time bombs; drop it, or set "kind": "time_bomb"$',
        ),
        (
            '{"id": "a", "lifespan": 0}',
            r'^"lifespan" must be a finite number of seconds > 0, got 0$',
        ),
        (
            '{"id": "a", "lifespan": Infinity}',
            r'^"lifespan" must be a finite number of seconds > 0, got inf$',
        ),
        (
            '{"id": "a", "lifespan": true}',
            r'^"lifespan" must be a number of seconds > 0, got true$',
        ),
        (
            '{"id": "a", "run_after": -1}',
            r'^"run_after" must be a finite number of seconds >= 0, got -1$',
        ),
        (
            '{"id": "a", "run_after": "2"}',
            r'^"run_after" must be a number of seconds >= 0, got "2"$',
        ),
        (
            '{"id": "a", "retries": 3}',
            r"^unknown key 'retries'; a task line has the keys 'data', 'id'",
        ),
        ('{"drain": 5}', r'^"drain" must be a non-empty string, got 5$'),
        (
            '{"drain": "a", "id": "b"}',
            r"^a drain line has only the key 'drain', got also 'id'; put the drain and the task",
        ),
    ],
)
def test_rejected_line_message(text: str, message: str) -> None:
    with pytest.raises(JobLineError, match=message):
        parse_job_line(text.encode(), DEFAULTS)


def test_invalid_utf8_rejected() -> None:
    with pytest.raises(JobLineError, match=r"^invalid UTF-8 at byte 8; save the file as UTF-8$"):
        parse_job_line(b'{"id": "\xff"}', DEFAULTS)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            None,
            r'the command executor needs "data": \{"argv": \["program", "arg", ...\]\}, got null',
        ),
        ({"argv": []}, r'data "argv" must be a non-empty list of strings, .* got \[\]$'),
        ({"argv": "ls -l"}, r'data "argv" must be a non-empty list of strings, .* got "ls -l"$'),
        ({"argv": ["ls", 1]}, r'data "argv" must be a non-empty list of strings'),
        ({"argv": ["ls"], "cwd": 1}, r'data "cwd" must be a string naming a folder, got 1$'),
        ({"argv": ["ls"], "env": {"A": 1}}, r'data "env" must map names to string values'),
        (
            {"argv": ["ls"], "shell": True},
            r"unknown key 'shell' in data; the command executor reads",
        ),
    ],
)
def test_command_data_rejected(data: Any, message: str) -> None:
    with pytest.raises(JobLineError, match=message):
        parse_job_line(_task_text(data), DEFAULTS, check_command_data)


def _task_text(data: Any) -> bytes:
    import json

    return json.dumps({"id": "a", "data": data}).encode()
