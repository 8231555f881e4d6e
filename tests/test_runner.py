"""``trio-bucket run`` and ``trio-bucket rescued`` as real subprocesses, on real time.

Tasks take a fraction of a second, and the tests wait for output lines, not for
time to pass. Tasks that must stay live wait for a gate file that the test creates.
"""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import subprocess
import uuid
from pathlib import Path

import pytest
import trio
from runner_helpers import (
    ROOT,
    TIMEOUT,
    gated_job,
    job,
    lines,
    live_runner,
    marked_processes,
    run_runner,
    runner_command,
    runner_environment,
    stored_ids,
    wait_for_no_marked_processes,
)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """Return an environment whose default store lies under the test's folder."""
    return runner_environment(tmp_path / "state")


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """Return the path of a store that does not exist yet."""
    return tmp_path / "store.sqlite3"


@pytest.fixture
def mark() -> str:
    """Return a value that marks this test's task processes in their environment."""
    return uuid.uuid4().hex


# Every outcome


async def test_showcase_reports_every_outcome(env: dict[str, str]) -> None:
    result = await run_runner("run", str(ROOT / "examples" / "showcase.jsonl"), env=env)

    assert result.outcomes() == {
        "hello": "finished",
        "missing-folder": "failed",
        "missing-program": "failed",
        "too-slow": "exhausted",
        "time-bomb": "finished",
        "defused": "drained",
        "cancelled": "drained",
    }
    assert result.returncode == 1


async def test_events_have_documented_keys(env: dict[str, str]) -> None:
    result = await run_runner("run", str(ROOT / "examples" / "showcase.jsonl"), env=env)

    for event in result.events:
        keys = {"id", "outcome", "at"}
        if event["outcome"] == "failed":
            keys.add("error")
        assert set(event) == keys, event
    times = [event["at"] for event in result.events]
    assert times == sorted(times)
    assert [time for time in times if time >= 2.0] == [times[-1]]  # The time bomb, last.


async def test_failed_events_explain_failure(env: dict[str, str]) -> None:
    result = await run_runner("run", str(ROOT / "examples" / "showcase.jsonl"), env=env)
    errors = {event["id"]: event.get("error") for event in result.events}

    assert errors["missing-folder"] == (
        "ls exited with status 2; stderr ends with:\n"
        "ls: cannot access '/no/such/folder': No such file or directory"
    )
    assert errors["missing-program"] == (
        "cannot start 'no-such-program': No such file or directory; check the program name and PATH"
    )


async def test_summary_on_stderr_without_progress(env: dict[str, str]) -> None:
    result = await run_runner("run", jobs=lines(job("a", ["true"]), job("b", ["false"])), env=env)

    assert re.fullmatch(
        r"trio-bucket: 2 tasks in \d+\.\d s: "
        r"1 finished, 1 failed, 0 exhausted, 0 drained, 0 rescued\n",
        result.stderr,
    )
    assert "\r" not in result.stderr


async def test_custom_executor_by_path(env: dict[str, str]) -> None:
    jobs = lines('{"id": "text", "data": "hello"}', '{"id": "number", "data": 7}')

    result = await run_runner(
        "run", "--executor", "tests.runner_helpers:EchoExecutor", jobs=jobs, env=env
    )

    assert result.outcomes() == {"text": "finished", "number": "failed"}
    assert result.events[-1]["error"] == "TypeError: expected a string, got 7"


async def test_executor_instance_by_path(env: dict[str, str]) -> None:
    jobs = lines('{"id": "text", "data": "hello"}')

    result = await run_runner(
        "run", "--executor", "tests.runner_helpers:echo_executor", jobs=jobs, env=env
    )

    assert result.outcomes() == {"text": "finished"}
    assert result.returncode == 0


# Bad input


async def test_bad_lines_reported_and_skipped(env: dict[str, str]) -> None:
    jobs = lines(
        job("ok-1", ["true"]),
        "not json",
        "[1, 2]",
        '{"data": {"argv": ["true"]}}',
        job("k", ["true"], kind="later"),
        job("ok-1", ["true"]),
        job("bomb", ["true"], run_after=5, lifespan=5),
        '{"drain": "ghost"}',
        job("typo", ["true"], lifespam=3),
        '{"id": "no-argv", "data": {"args": ["true"]}}',
        job("", ["true"]),
        "",
        job("immediate", ["true"], kind="immediate", run_after=1),
        job("ok-2", ["true"]),
    )

    result = await run_runner("run", jobs=jobs, env=env)

    messages = [line for line in result.stderr.splitlines() if " line " in line]
    assert messages == [
        "trio-bucket: line 2: invalid JSON (Expecting value at column 1); "
        'write one JSON object per line, like {"id": "a", "data": ...}',
        "trio-bucket: line 3: expected a JSON object, got an array; "
        'write a task as {"id": ...} or a drain as {"drain": ID}',
        'trio-bucket: line 4: missing "id"; give every task a unique string id, like {"id": "a"}',
        'trio-bucket: line 5: unknown "kind" "later"; use "immediate" or "time_bomb", or leave '
        'it out: a task with "run_after" is a time bomb, any other is immediate',
        "trio-bucket: line 6: duplicate id 'ok-1': line 1 already has it; "
        "give each task its own id",
        "trio-bucket: line 7: time bomb run_after (5 s) must be less than its lifespan (5 s), "
        'or it runs out of time before it starts; lower "run_after" or raise "lifespan"',
        "trio-bucket: line 8: drain of unknown id 'ghost': no earlier line filled a task with "
        "that id; put the drain after the task's line and check the id",
        "trio-bucket: line 9: unknown key 'lifespam'; a task line has the keys 'data', 'id', "
        "'kind', 'lifespan', 'run_after', and a drain line has only 'drain'",
        "trio-bucket: line 10: unknown key 'args' in data; "
        "the command executor reads 'argv', 'cwd' and 'env'",
        'trio-bucket: line 11: "id" must be a non-empty string, got ""',
        'trio-bucket: line 13: "run_after" applies only to time bombs; '
        'drop it, or set "kind": "time_bomb"',
    ]
    assert result.outcomes() == {"ok-1": "finished", "ok-2": "finished"}
    assert "11 input lines rejected" in result.stderr
    assert result.returncode == 2


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "no_such_module_here:Executor",
            "--executor 'no_such_module_here:Executor': no module named 'no_such_module_here'; "
            "run trio-bucket from the folder that contains it",
        ),
        (
            "tests.runner_helpers:Missing",
            "module 'tests.runner_helpers' has no attribute 'Missing'; "
            "check the name after the colon",
        ),
        (
            "tests.runner_helpers:NotAnExecutor",
            "is not an executor: it lacks the async methods on_execute, on_finish, "
            "on_execute_error, on_exhausted, on_panic",
        ),
        ("executors", "--executor 'executors' is not 'command' or 'module:attribute'"),
    ],
)
async def test_bad_executor_path(spec: str, message: str, env: dict[str, str]) -> None:
    result = await run_runner("run", "--executor", spec, jobs=lines(job("a", ["true"])), env=env)

    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.events == []
    assert result.returncode == 2


async def test_no_command_prints_help(env: dict[str, str]) -> None:
    result = await run_runner(env=env)

    assert result.stderr.startswith("usage: trio-bucket [-h] COMMAND ...")
    assert result.returncode == 2


async def test_missing_job_file(env: dict[str, str], tmp_path: Path) -> None:
    missing = tmp_path / "missing.jsonl"

    result = await run_runner("run", str(missing), env=env)

    assert result.stderr == (
        f"trio-bucket: cannot read the job file {str(missing)!r}: No such file or directory\n"
    )
    assert result.returncode == 2


async def test_run_after_not_below_lifespan(env: dict[str, str]) -> None:
    result = await run_runner("run", "--run-after", "5", "--lifespan", "5", env=env)

    assert "--run-after (5) must be less than --lifespan (5)" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.returncode == 2


# Reading as lines arrive, limits and processes


async def test_lines_acted_on_as_they_arrive(
    env: dict[str, str], tmp_path: Path, mark: str
) -> None:
    gate = tmp_path / "gate"
    async with live_runner("run", env=env) as runner:
        await runner.send(job("first", ["true"]))
        await runner.wait_for_event(lambda event: event["id"] == "first")

        await runner.send(gated_job("held", gate, tmp_path / "log", mark, lifespan=30))
        await runner.send('{"drain": "held"}')
        drained = await runner.wait_for_event(lambda event: event["id"] == "held")
        await runner.close_input()
        result = await runner.finish()

    assert drained["outcome"] == "drained"
    assert result.returncode == 0
    assert await wait_for_no_marked_processes(mark) == []


async def test_drain_after_outcome_is_no_error(env: dict[str, str]) -> None:
    async with live_runner("run", env=env) as runner:
        await runner.send(job("done", ["true"]))
        await runner.wait_for_event(lambda event: event["id"] == "done")
        await runner.send('{"drain": "done"}')
        await runner.close_input()
        result = await runner.finish()

    assert (
        "trio-bucket: line 2: task 'done' already has its outcome, so there is nothing to drain"
    ) in result.stderr
    assert result.outcomes() == {"done": "finished"}
    assert result.returncode == 0


async def test_lifespan_end_kills_process_group(env: dict[str, str], mark: str) -> None:
    data = {"argv": ["sh", "-c", "sleep 30 & wait"], "env": {"TRIO_BUCKET_TEST_MARK": mark}}
    jobs = lines(json.dumps({"id": "slow", "data": data, "lifespan": 0.5}))

    result = await run_runner("run", jobs=jobs, env=env)

    assert result.outcomes() == {"slow": "exhausted"}
    assert await wait_for_no_marked_processes(mark) == []


async def test_waiting_for_slot_uses_lifespan(
    env: dict[str, str], tmp_path: Path, mark: str
) -> None:
    gate, log = tmp_path / "gate", tmp_path / "log"
    async with live_runner("run", "--max-running", "1", env=env) as runner:
        await runner.send(gated_job("holder", gate, log, mark, lifespan=30))
        await runner.send(gated_job("waiter", gate, log, mark, lifespan=0.5))
        exhausted = await runner.wait_for_event(lambda event: event["id"] == "waiter")
        gate.touch()
        await runner.close_input()
        result = await runner.finish()

    assert exhausted["outcome"] == "exhausted"
    assert result.outcomes() == {"waiter": "exhausted", "holder": "finished"}
    assert log.read_text() == "holder\n"


async def test_full_bucket_drops_nothing(env: dict[str, str]) -> None:
    jobs = lines(*(job(f"task-{number}", ["true"]) for number in range(20)))

    result = await run_runner("run", "--max-tasks", "2", jobs=jobs, env=env)

    assert result.outcomes() == {f"task-{number}": "finished" for number in range(20)}
    assert result.returncode == 0


# Signals, the store and --resume


async def _interrupt_run(
    env: dict[str, str], tmp_path: Path, store: Path, mark: str, signum: int
) -> tuple[list[str], str, int]:
    """Start held tasks, send *signum* after two quick ones finish; return ids, stderr, status."""
    gate, log = tmp_path / "gate", tmp_path / "log"
    held = ["held-1", "held-2", "held-3", "bomb"]
    async with live_runner("run", "--store", str(store), env=env) as runner:
        await runner.send(
            gated_job("held-1", gate, log, mark, lifespan=60),
            gated_job("held-2", gate, log, mark, lifespan=60),
            gated_job("held-3", gate, log, mark, lifespan=60),
            gated_job("bomb", gate, log, mark, run_after=1.5, lifespan=60),
            job("quick-1", ["true"]),
            job("quick-2", ["true"]),
        )
        await runner.wait_for_outcomes("finished", 2)
        runner.process.send_signal(signum)
        result = await runner.finish()

    rescued = [event["id"] for event in result.events if event["outcome"] == "rescued"]
    assert sorted(rescued) == sorted(held)
    return held, result.stderr, result.returncode


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_signal_rescues_live_tasks(
    env: dict[str, str], tmp_path: Path, store: Path, mark: str, signum: int
) -> None:
    held, stderr, returncode = await _interrupt_run(env, tmp_path, store, mark, signum)

    assert sorted(stored_ids(store)) == sorted(held)
    assert f"rescued 4 tasks into {str(store)!r}" in stderr
    assert f"{signal.Signals(signum).name} received" in stderr
    assert returncode == 128 + signum
    assert await wait_for_no_marked_processes(mark) == []


async def test_rescued_lists_store(
    env: dict[str, str], tmp_path: Path, store: Path, mark: str
) -> None:
    held, _, _ = await _interrupt_run(env, tmp_path, store, mark, signal.SIGTERM)

    result = await run_runner("rescued", "--store", str(store), env=env)

    assert sorted(event["id"] for event in result.events) == sorted(held)
    bomb = next(event for event in result.events if event["id"] == "bomb")
    assert bomb["kind"] == "time_bomb"
    assert 0 < bomb["lifespan"] <= 60
    assert result.stderr == f"trio-bucket: 4 rescued tasks in {str(store)!r}\n"


async def test_resume_runs_rescued_once(
    env: dict[str, str], tmp_path: Path, store: Path, mark: str
) -> None:
    held, _, _ = await _interrupt_run(env, tmp_path, store, mark, signal.SIGTERM)
    (tmp_path / "gate").touch()

    result = await run_runner("run", "--resume", "--store", str(store), env=env)

    assert result.outcomes() == dict.fromkeys(held, "finished")
    assert len(result.events) == len(held)
    assert sorted((tmp_path / "log").read_text().split()) == sorted(held)
    assert stored_ids(store) == []
    assert f"resumed 4 tasks from {str(store)!r}" in result.stderr
    assert result.returncode == 0


async def test_store_contents_noted_without_resume(
    env: dict[str, str], tmp_path: Path, store: Path, mark: str
) -> None:
    await _interrupt_run(env, tmp_path, store, mark, signal.SIGTERM)

    result = await run_runner("run", "--store", str(store), env=env)

    assert (
        f"note: the store {str(store)!r} contains 4 tasks from an earlier run; "
        "run with --resume to run them"
    ) in result.stderr
    assert result.returncode == 0


async def test_stored_id_rejected_without_resume(
    env: dict[str, str], tmp_path: Path, store: Path, mark: str
) -> None:
    await _interrupt_run(env, tmp_path, store, mark, signal.SIGTERM)
    jobs = (job("held-1", ["true"]) + "\n" + job("fresh", ["true"]) + "\n").encode()

    result = await run_runner("run", "--store", str(store), jobs=jobs, env=env)

    assert (
        "line 1: duplicate id 'held-1': a task rescued by an earlier run and still in the "
        "store already has it; give each task its own id"
    ) in result.stderr
    assert [event["id"] for event in result.events] == ["fresh"]
    assert sorted(stored_ids(store)) == ["bomb", "held-1", "held-2", "held-3"]
    assert result.returncode == 2


async def test_journal_survives_sigkill(
    env: dict[str, str], tmp_path: Path, store: Path, mark: str
) -> None:
    gate, log = tmp_path / "gate", tmp_path / "log"
    async with live_runner("run", "--journal", "--store", str(store), env=env) as runner:
        await runner.send(
            gated_job("held-1", gate, log, mark, lifespan=60),
            gated_job("held-2", gate, log, mark, lifespan=60),
            job("quick", ["true"]),
        )
        await runner.wait_for_outcomes("finished", 1)
        runner.process.kill()
        await runner.finish()

    assert {"held-1", "held-2"} <= set(stored_ids(store))
    for pid in marked_processes(mark):
        os.kill(pid, signal.SIGKILL)  # SIGKILL left the runner no chance to stop them.

    gate.touch()
    result = await run_runner("run", "--resume", "--store", str(store), env=env)

    assert result.outcomes()["held-1"] == "finished"
    assert result.outcomes()["held-2"] == "finished"
    assert stored_ids(store) == []


# Where the store lives, and the progress line


async def test_default_store_under_xdg_state_home(env: dict[str, str], tmp_path: Path) -> None:
    result = await run_runner("run", jobs=lines(job("a", ["true"])), env=env)

    assert result.returncode == 0
    assert (tmp_path / "state" / "trio-bucket" / "rescued.sqlite3").is_file()


async def test_default_store_falls_back_to_home(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "XDG_STATE_HOME"}
    env["HOME"] = str(tmp_path)

    result = await run_runner("run", jobs=lines(job("a", ["true"])), env=env)

    assert result.returncode == 0
    assert (tmp_path / ".local" / "state" / "trio-bucket" / "rescued.sqlite3").is_file()


def _run_with_terminal_stderr(env: dict[str, str], jobs: bytes) -> bytes:
    controller, terminal = pty.openpty()
    try:
        process = subprocess.run(
            runner_command("run"),
            input=jobs,
            stdout=subprocess.DEVNULL,
            stderr=terminal,
            cwd=ROOT,
            env=env,
            timeout=TIMEOUT,
            check=False,
        )
        os.close(terminal)
        output = bytearray()
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # Linux reports EIO once the terminal side is closed.
                break
            if not chunk:
                break
            output += chunk
    finally:
        os.close(controller)
    assert process.returncode == 0
    return bytes(output)


async def test_progress_only_on_terminal(env: dict[str, str]) -> None:
    jobs = lines(job("a", ["sleep", "0.5"]))

    output = await trio.to_thread.run_sync(_run_with_terminal_stderr, env, jobs)

    assert b"\r\x1b[K1 live, 1 running | 0 finished" in output
    assert b"1 finished, 0 failed" in output


async def test_store_not_a_database(env: dict[str, str], tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("these are notes, not tasks\n" * 200)

    run = await run_runner("run", "--store", str(notes), jobs=lines(job("a", ["true"])), env=env)
    listed = await run_runner("rescued", "--store", str(notes), env=env)

    assert run.stderr == (
        f"trio-bucket: cannot open the store {str(notes)!r}: file is not a database; "
        "pass --store with the path of a writable SQLite file\n"
    )
    assert run.returncode == 2
    assert listed.stderr == (
        f"trio-bucket: cannot read the store {str(notes)!r}: file is not a database; "
        "pass --store with the path of a trio-bucket SQLite file\n"
    )
    assert listed.returncode == 2
