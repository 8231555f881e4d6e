"""``trio-bucket run --redis URL --name NAME`` as a real subprocess against a real redis-server."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from runner_helpers import ROOT, runner_command

pytestmark = pytest.mark.redis

#: Real seconds that any one runner subprocess may take before the test fails.
TIMEOUT = 30.0


def run(*arguments: str, input_text: str = "", folder: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "XDG_STATE_HOME": str(folder / "state")}
    return subprocess.run(
        runner_command("run", *arguments),
        input=input_text,
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        timeout=TIMEOUT,
        check=False,
    )


def command_line(task_id: str, *argv: str) -> str:
    return json.dumps({"id": task_id, "data": {"argv": list(argv)}}) + "\n"


def events(stdout: str) -> list[tuple[str, str]]:
    parsed = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    return [(event["id"], event["outcome"]) for event in parsed]


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--name", "x"], r"--name names a shared bucket; pass --redis URL as well"),
        (["--redis", "redis://127.0.0.1:1/0"], r"--redis needs --name NAME"),
        (
            ["--redis", "redis://127.0.0.1:1/0", "--name", "x", "--resume"],
            r"--store, --resume and --journal use the SQLite store",
        ),
        (
            ["--redis", "redis://127.0.0.1:1/0", "--name", "x", "--store", "other.sqlite3"],
            r"--store, --resume and --journal use the SQLite store",
        ),
        (
            ["--redis", "redis://127.0.0.1:1/0", "--name", "a{b}"],
            r"--name: the bucket name must be a non-empty str without",
        ),
        (
            ["--redis", "redis://127.0.0.1:1/0", "--name", "x", "--claim-idle", "0"],
            r"--claim-idle: must be a finite number of seconds > 0, got '0'",
        ),
    ],
)
def test_bad_shared_options_exit_2(arguments: list[str], message: str, tmp_path: Path) -> None:
    result = run(*arguments, folder=tmp_path)

    assert result.returncode == 2
    assert result.stdout == ""
    assert message.replace("\\", "") in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_redis_exits_2(tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{unused_port()}/0"

    result = run("--redis", url, "--name", "x", folder=tmp_path)

    assert result.returncode == 2
    assert f"cannot reach Redis at '{url}'" in result.stderr
    assert "pass the right URL to --redis" in result.stderr
    assert "Traceback" not in result.stderr


def test_shared_run_reports_outcomes(redis_url: str, redis_name: str, tmp_path: Path) -> None:
    jobs = (
        command_line("ok", "true")
        + command_line("bad", "false")
        + command_line("slow", "sleep", "20")
        + json.dumps({"drain": "slow"})
        + "\n"
        + json.dumps({"drain": "elsewhere"})
        + "\n"
    )

    result = run("--redis", redis_url, "--name", redis_name, input_text=jobs, folder=tmp_path)

    assert result.returncode == 1, result.stderr
    assert sorted(events(result.stdout)) == [
        ("bad", "failed"),
        ("ok", "finished"),
        ("slow", "drained"),
    ]
    assert f"joined shared bucket '{redis_name}'" in result.stderr
    assert "line 5: no task with id 'elsewhere' is live in shared bucket" in result.stderr


def test_sigterm_hands_tasks_to_other_runner(
    redis_url: str, redis_name: str, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    started = tmp_path / "started"
    wait_for_gate = f'touch "{started}"; while [ ! -e "{gate}" ]; do sleep 0.02; done'
    shared = ["--redis", redis_url, "--name", redis_name]
    environment = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    first = subprocess.Popen(
        runner_command("run", *shared),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
        cwd=ROOT,
    )
    assert first.stdin is not None
    assert first.stderr is not None
    first.stdin.write(command_line("handed", "sh", "-c", wait_for_gate))
    first.stdin.flush()
    assert "joined shared bucket" in first.stderr.readline()
    deadline = time.monotonic() + TIMEOUT
    while not started.exists():
        assert time.monotonic() < deadline, "the task never started"
        time.sleep(0.02)

    first.send_signal(signal.SIGTERM)
    stdout, stderr = first.communicate(timeout=TIMEOUT)
    gate.touch()
    second = run(*shared, folder=tmp_path)

    assert first.returncode == 128 + signal.SIGTERM
    assert events(stdout) == []
    assert (
        f"SIGTERM received: handing every live task back to shared bucket '{redis_name}'" in stderr
    )
    assert f"handed 1 task back to shared bucket '{redis_name}'" in stderr
    assert second.returncode == 0, second.stderr
    assert events(second.stdout) == [("handed", "finished")]
