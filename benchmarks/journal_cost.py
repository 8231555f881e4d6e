"""What the journal costs per task: no-op tasks through a bucket with and without it.

Six setups run the same no-op tasks from fill to outcome on Trio's real clock:

* ``memory``: no store;
* ``store``: a SQLite rescue store without a journal, which is written only at a
  rescue, so it should cost nothing here;
* ``journal fill_nowait``: ``journal=True``, filled with ``fill_nowait`` so that
  the fills of one moment share a batch (one transaction writes them all);
* ``journal fill``: ``journal=True``, each task filled with ``await fill()``, which
  returns only once its batch is written, so each task gets its own transactions;
* ``runner`` and ``runner --journal``: ``trio-bucket run`` in a subprocess, on a job
  file of the same tasks, with the base Executor (whose hooks do nothing). Their
  seconds include the process's start, so compare them only with each other.

Prints one JSON object: the machine, each setup's seconds per task in every
repetition with their median, and what the journal adds per task. The setups take
turns within a repetition, in a rotating order, so that a slow spell of the shared
machine hits all of them alike. Every store is a new file in a temporary folder,
on the disk that contains the system's temporary folder.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import trio
from machine import describe_machine

from trio_bucket import Executor, SqliteRescueStore, open_bucket

Setup = Callable[[list[str], Path], Awaitable[None]]


async def run_in_memory(ids: list[str], folder: Path) -> None:
    async with open_bucket(Executor(), max_tasks=len(ids)) as bucket:
        for task_id in ids:
            bucket.fill_nowait(task_id)


async def run_through_store(ids: list[str], folder: Path, *, journal: bool, awaited: bool) -> None:
    store = await SqliteRescueStore.open(folder / "store.db")
    async with (
        store,
        open_bucket(Executor(), max_tasks=len(ids), store=store, journal=journal) as bucket,
    ):
        for task_id in ids:
            if awaited:
                await bucket.fill(task_id)
            else:
                bucket.fill_nowait(task_id)


async def run_with_store(ids: list[str], folder: Path) -> None:
    await run_through_store(ids, folder, journal=False, awaited=False)


async def run_journal_nowait(ids: list[str], folder: Path) -> None:
    await run_through_store(ids, folder, journal=True, awaited=False)


async def run_journal_fill(ids: list[str], folder: Path) -> None:
    await run_through_store(ids, folder, journal=True, awaited=True)


async def run_runner(ids: list[str], folder: Path, *, journal: bool) -> None:
    jobs = folder / "jobs.jsonl"
    jobs.write_text("".join(json.dumps({"id": task_id}) + "\n" for task_id in ids))
    command = [sys.executable, "-m", "trio_bucket", "run", "--executor", "trio_bucket:Executor"]
    command += ["--store", str(folder / "runner.db"), str(jobs)]
    if journal:
        command.append("--journal")
    await trio.run_process(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def run_runner_plain(ids: list[str], folder: Path) -> None:
    await run_runner(ids, folder, journal=False)


async def run_runner_journal(ids: list[str], folder: Path) -> None:
    await run_runner(ids, folder, journal=True)


SETUPS: dict[str, Setup] = {
    "memory": run_in_memory,
    "store": run_with_store,
    "journal fill_nowait": run_journal_nowait,
    "journal fill": run_journal_fill,
    "runner": run_runner_plain,
    "runner --journal": run_runner_journal,
}


def seconds_per_task(setup: Setup, count: int) -> float:
    """Run *count* tasks through *setup* in a fresh folder; return the seconds per task."""
    ids = [f"task-{number}" for number in range(count)]
    with tempfile.TemporaryDirectory(prefix="trio-bucket-journal-") as folder:
        gc.collect()
        started = time.perf_counter()
        trio.run(setup, ids, Path(folder))
        return (time.perf_counter() - started) / count


def measure(count: int, repeats: int) -> dict[str, object]:
    """Run every setup *repeats* times; return the seconds per task."""
    names = list(SETUPS)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for repetition in range(repeats):
        shift = repetition % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(seconds_per_task(SETUPS[name], count))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    return {
        "machine": describe_machine(),
        "tasks": count,
        "repeats": repeats,
        "seconds_per_task": samples,
        "median": medians,
        "journal_cost_per_task": {
            "fill_nowait": medians["journal fill_nowait"] - medians["memory"],
            "fill": medians["journal fill"] - medians["memory"],
            "runner": medians["runner --journal"] - medians["runner"],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=10_000, help="tasks per run")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each setup")
    args = parser.parse_args()
    print(json.dumps(measure(args.tasks, args.repeats), indent=2))


if __name__ == "__main__":
    main()
