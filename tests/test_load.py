"""Load: 100,000 tasks through one bucket on the mock clock, and 20,000 through the runner.

The bucket's tasks go in five rounds of 20,000 with a small max_tasks, so most
fills wait for room. After each round the bucket is idle. The test then checks that
no task's data is still referenced, so the bucket keeps no record of a finished
task, and that the interpreter's allocated memory blocks do not grow after the
first round. At the end every counter must add up to the tasks filled.
"""

from __future__ import annotations

import gc
import json
import re
import sys
import weakref
from collections import Counter
from pathlib import Path

import trio
import trio.testing
from runner_helpers import run_runner, runner_environment

from trio_bucket import Bucket, Executor, TaskHandle, TaskKind, TaskRecord, open_bucket

ROUNDS = 5
TASKS_PER_ROUND = 20_000
MAX_TASKS = 500
#: Memory blocks that the interpreter may hold more of after the last round than
#: after the first. A task's record, handle and data take several blocks, so a
#: leak of one task in fifty fails.
MAX_GROWTH = 2_000


class Payload:
    """Task data that can be watched with a weak reference."""

    __slots__ = ("__weakref__", "number")

    def __init__(self, number: int) -> None:
        self.number = number


class TallyExecutor(Executor):
    """Counts outcome hooks; a fifth of the tasks fail, a tenth run out of time."""

    def __init__(self) -> None:
        self.hooks: Counter[str] = Counter()

    async def on_execute(self, task: TaskRecord) -> None:
        number = task.data.number
        if number % 10 == 3:
            await trio.sleep_forever()
        await trio.sleep(number % 3)
        if number % 5 == 1:
            raise ValueError("failed on purpose")

    async def on_finish(self, task: TaskRecord) -> None:
        self.hooks["on_finish"] += 1

    async def on_execute_error(self, task: TaskRecord, error: Exception) -> None:
        self.hooks["on_execute_error"] += 1

    async def on_exhausted(self, task: TaskRecord) -> None:
        self.hooks["on_exhausted"] += 1

    async def on_panic(self, task: TaskRecord) -> None:
        self.hooks["on_panic"] += 1


async def run_round(bucket: Bucket, first: int) -> int:
    """Fill one round of tasks, drain every 50th that is still live, and wait until idle.

    Then check that no data of the round is still referenced.

    Returns:
        How many tasks were drained.
    """
    drained = 0
    watched: list[weakref.ref[Payload]] = []
    handles: list[TaskHandle] = []
    for number in range(first, first + TASKS_PER_ROUND):
        payload = Payload(number)
        watched.append(weakref.ref(payload))
        kind = TaskKind.TIME_BOMB if number % 4 == 0 else TaskKind.IMMEDIATE
        handle = await bucket.fill(f"task-{number}", payload, kind=kind)
        handles.append(handle)
        if number % 50 == 7 and handle.outcome is None:
            handle.drain()
            drained += 1
    for handle in handles:
        await handle.wait()
    assert len(bucket) == 0
    assert bucket.statistics().hooks_running == 0

    del payload, handle, handles
    gc.collect()
    assert [ref for ref in watched if ref() is not None] == []
    return drained


async def test_hundred_thousand_tasks(autojump_clock: trio.testing.MockClock) -> None:
    executor = TallyExecutor()
    async with open_bucket(executor, lifespan=4, run_after=1, max_tasks=MAX_TASKS) as bucket:
        drained = await run_round(bucket, 0)
        blocks_after_first_round = sys.getallocatedblocks()

        for round_number in range(1, ROUNDS):
            drained += await run_round(bucket, round_number * TASKS_PER_ROUND)

        growth = sys.getallocatedblocks() - blocks_after_first_round
        statistics = bucket.statistics()

    total = ROUNDS * TASKS_PER_ROUND
    assert growth < MAX_GROWTH, f"{growth} more memory blocks after the last round"
    assert statistics.filled == total
    assert statistics.live == 0
    assert statistics.running == 0
    assert statistics.hooks_running == 0
    assert statistics.hook_errors == 0
    assert statistics.rescued == 0
    assert statistics.drained == drained
    settled = statistics.finished + statistics.failed + statistics.exhausted + statistics.drained
    assert settled == total
    assert executor.hooks == Counter(
        on_finish=statistics.finished,
        on_execute_error=statistics.failed,
        on_exhausted=statistics.exhausted,
    )
    assert statistics.exhausted == total // 10  # Numbers ending in 3, never drained.
    assert statistics.failed == total // 5  # Numbers ending in 1 or 6.


RUNNER_TASKS = 20_000


async def test_runner_twenty_thousand_tasks(tmp_path: Path) -> None:
    """20,000 job lines through ``trio-bucket run --max-tasks 8``: one event per task.

    A tenth of the tasks are time bombs, and every 50th task gets a drain line right
    after its own line, which either drains it or finds it finished. The runner
    remembers every id of the run to reject repeats, so its memory grows with the
    tasks read by design; this test checks only that nothing is dropped.
    """
    lines = []
    drained_ids = set()
    for number in range(RUNNER_TASKS):
        task: dict[str, object] = {"id": f"task-{number}"}
        if number % 10 == 0:
            task["run_after"] = 0.01
        lines.append(json.dumps(task))
        if number % 50 == 7:
            lines.append(json.dumps({"drain": f"task-{number}"}))
            drained_ids.add(f"task-{number}")
    jobs = "".join(line + "\n" for line in lines).encode()

    result = await run_runner(
        "run", "--max-tasks", "8", "--executor", "trio_bucket:Executor",
        jobs=jobs, env=runner_environment(tmp_path),
    )  # fmt: skip

    assert result.returncode == 0
    ids = [event["id"] for event in result.events]
    assert len(ids) == RUNNER_TASKS
    assert set(ids) == {f"task-{number}" for number in range(RUNNER_TASKS)}
    outcomes = result.outcomes()
    assert {task_id for task_id, outcome in outcomes.items() if outcome != "finished"} <= (
        drained_ids
    )
    assert set(outcomes.values()) <= {"finished", "drained"}
    drained = sum(outcome == "drained" for outcome in outcomes.values())
    summary = (
        rf"trio-bucket: {RUNNER_TASKS} tasks in [0-9.]+ s: {RUNNER_TASKS - drained} finished, "
        rf"0 failed, 0 exhausted, {drained} drained, 0 rescued"
    )
    assert re.search(summary, result.stderr)
