"""Kill tests: ``trio-bucket run --journal`` killed by SIGTERM or SIGKILL, then resumed.

Each seeded trial writes a job file of short tasks and runs it through a chain of
runner processes. Each run but the last is killed after a random number of
outcomes (plus a random sliver of real time), by SIGTERM or SIGKILL. The next run
passes ``--resume``. Its input is only the job lines whose ids appear neither in the
store nor in the log, which are the lines the killed run had not filled yet. The executor
(:mod:`kill_executor`) logs each start and end of a task to a file, and the test
checks after each run, from that log and the store, that:

* no task started twice in one run;
* every task that started and is gone from the store ended first, so the journal
  removes a task only after its outcome;
* a run starts only tasks that the store contained or that its input named;
* in the end every task of the job file has ended, the store is empty, and a task
  ran more than once only if a run was killed while the task was still in the
  store, which is the documented at-least-once window.

SIGTERM normally makes the runner rescue its live tasks into the store. A SIGTERM
that lands before the runner installs its signal handler kills it outright, like
SIGKILL, which the journal also covers.

Set ``TRIO_BUCKET_STRESS=1`` to run many more trials.
"""

from __future__ import annotations

import json
import os
import random
import signal
from collections import Counter
from pathlib import Path

import attrs
import pytest
import trio
from kill_executor import LOG_VARIABLE
from runner_helpers import live_runner, stored_ids

STRESS = os.environ.get("TRIO_BUCKET_STRESS", "") not in ("", "0")
TRIALS = 60 if STRESS else 3
TASKS = 30
#: Runs that a trial kills, at most, before the run that must complete.
MAX_KILLS = 3
EXECUTOR = "tests.kill_executor:LoggingExecutor"
#: Exit statuses that each signal may leave: the runner's own 128 + signal number
#: after an orderly rescue, the signal itself when it struck before the handler was
#: installed, and 0 when the run had already ended.
EXIT_STATUSES = {
    signal.SIGTERM: {128 + signal.SIGTERM, -signal.SIGTERM, 0},
    signal.SIGKILL: {-signal.SIGKILL, 0},
}


@attrs.frozen
class RunRecord:
    """One runner process of a trial, as the checks see it."""

    pid: int
    killed: bool
    stored_after: frozenset[str]


def job_lines(chooser: random.Random) -> dict[str, str]:
    """Return a job line for each task id: immediate tasks and time bombs of 0-0.1 s."""
    jobs = {}
    for number in range(TASKS):
        task_id = f"task-{number}"
        fields: dict[str, object] = {
            "id": task_id,
            "data": {"seconds": chooser.choice([0, 0.01, 0.05, 0.1])},
            "lifespan": 30,
        }
        if chooser.random() < 0.3:
            fields["run_after"] = chooser.choice([0, 0.1, 0.3])
        jobs[task_id] = json.dumps(fields)
    return jobs


def read_log(log: Path) -> list[tuple[str, str, int]]:
    """Return the executor's log as (event, task id, pid) tuples, in order."""
    if not log.exists():
        return []
    entries = []
    for line in log.read_text().splitlines():
        event, task_id, pid = line.split()
        entries.append((event, task_id, int(pid)))
    return entries


def stored(store: Path) -> frozenset[str]:
    """Return the ids that the store contains; none when the file does not exist yet."""
    return frozenset(stored_ids(store)) if store.exists() else frozenset()


async def run_once(
    arguments: list[str],
    lines: list[str],
    environment: dict[str, str],
    chooser: random.Random,
    kill: bool,
) -> tuple[int, int, signal.Signals | None]:
    """Run the runner on *lines*; kill it at a random moment when *kill* is set.

    Returns:
        The process id, its exit status and the signal sent, if any.
    """
    sent = None
    async with live_runner(*arguments, env=environment) as runner:
        await runner.send(*lines)
        await runner.close_input()
        if kill:
            outcomes = chooser.randint(0, TASKS // 2)
            if outcomes:
                await runner.wait_for_outcomes("finished", min(outcomes, len(lines)))
            await trio.sleep(chooser.uniform(0, 0.02))
            sent = chooser.choice([signal.SIGTERM, signal.SIGKILL])
            runner.process.send_signal(sent)
        completed = await runner.finish()
    return runner.process.pid, completed.returncode, sent


def check_run(record: RunRecord, stored_before: frozenset[str], fed: set[str], log: Path) -> None:
    """Check one finished or killed run against the log and the store."""
    entries = [(event, task_id) for event, task_id, pid in read_log(log) if pid == record.pid]
    starts = Counter(task_id for event, task_id in entries if event == "start")
    ended = {task_id for event, task_id in entries if event == "end"}

    assert [task_id for task_id, count in starts.items() if count > 1] == []
    assert set(starts) - record.stored_after <= ended, "removed from the store before its end"
    assert set(starts) <= stored_before | fed, "started a task it was not given"


@pytest.mark.parametrize("seed", range(TRIALS))
async def test_kill_and_resume(seed: int, tmp_path: Path) -> None:
    chooser = random.Random(seed)
    log, store = tmp_path / "runs.log", tmp_path / "rescued.sqlite3"
    environment = {
        **os.environ,
        LOG_VARIABLE: str(log),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    jobs = job_lines(chooser)
    runs: list[RunRecord] = []
    pending = list(jobs)

    for cycle in range(MAX_KILLS + 1):
        kill = cycle < MAX_KILLS and chooser.random() < 0.8
        arguments = ["run", "--journal", "--store", str(store), "--executor", EXECUTOR]
        arguments += ["--max-tasks", "4", *(["--resume"] if cycle else [])]
        stored_before = stored(store)
        fed = set(pending)

        pid, returncode, sent = await run_once(
            arguments, [jobs[task_id] for task_id in pending], environment, chooser, kill
        )

        record = RunRecord(pid, sent is not None and returncode != 0, stored(store))
        runs.append(record)
        if sent is None:
            assert returncode == 0
        else:
            assert returncode in EXIT_STATUSES[sent]
        check_run(record, stored_before, fed, log)

        known = record.stored_after | {task_id for _, task_id, _ in read_log(log)}
        pending = [task_id for task_id in jobs if task_id not in known]
        if not record.killed:
            break

    assert not runs[-1].killed
    assert stored(store) == frozenset()
    assert pending == []
    ended = {task_id for event, task_id, _ in read_log(log) if event == "end"}
    assert ended == set(jobs)

    # A task ran again only after a run that was killed while the store still contained it.
    by_pid = {record.pid: record for record in runs}
    starts: dict[str, list[int]] = {}
    for event, task_id, pid in read_log(log):
        if event == "start":
            starts.setdefault(task_id, []).append(pid)
    for task_id, pids in starts.items():
        for pid in pids[:-1]:
            assert by_pid[pid].killed, f"{task_id} ran again after a run that was not killed"
            assert task_id in by_pid[pid].stored_after, f"{task_id} ran again outside the window"
