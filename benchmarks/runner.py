"""Group (d): ``trio-bucket run`` with a no-op executor against the library called directly.

Prints one JSON object. Both sides run N immediate no-op tasks with the same
settings (``max_tasks`` 1024, the runner's default, so fills wait for room) and
the executor ``trio_bucket:Executor``, whose hooks do nothing. The library side
awaits ``Bucket.fill`` for each id inside this process. The runner side is a child
process that reads a JSON Lines file of ``{"id": ...}`` lines and writes one event
per outcome to /dev/null. Its start-up time, measured on an empty job file, is
subtracted before dividing by N.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trio
from contestants import LIFESPAN

import trio_bucket

MAX_TASKS = 1024


async def library_run(ids: list[str]) -> float:
    """Fill one no-op task per id, awaiting room; return the seconds until the block exits."""
    start = time.perf_counter()
    async with trio_bucket.open_bucket(
        trio_bucket.Executor(), lifespan=LIFESPAN, max_tasks=MAX_TASKS
    ) as bucket:
        for task_id in ids:
            await bucket.fill(task_id)
    return time.perf_counter() - start


def runner_run(jobs: Path, store: Path) -> float:
    """Run ``trio-bucket run`` on *jobs*; return its wall-clock seconds."""
    command = [
        sys.executable,
        "-m",
        "trio_bucket",
        "run",
        str(jobs),
        "--executor",
        "trio_bucket:Executor",
        "--lifespan",
        str(LIFESPAN),
        "--max-tasks",
        str(MAX_TASKS),
        "--store",
        str(store),
    ]
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def write_jobs(folder: Path, n: int) -> Path:
    """Write a job file of *n* immediate tasks and return its path."""
    path = folder / f"jobs-{n}.jsonl"
    path.write_text("".join(json.dumps({"id": f"task-{i}"}) + "\n" for i in range(n)))
    return path


def measure(sizes: list[int], repeats: int) -> dict[str, Any]:
    """Time both sides *repeats* times per size; return medians in seconds per task."""
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        store = folder / "rescued.sqlite3"
        empty = write_jobs(folder, 0)
        startup = statistics.median(runner_run(empty, store) for _ in range(repeats))
        per_task: dict[str, dict[str, float]] = {}
        for n in sizes:
            jobs = write_jobs(folder, n)
            ids = [f"task-{i}" for i in range(n)]
            library, runner = [], []
            for _ in range(repeats):
                gc.collect()
                library.append(trio.run(library_run, ids))
                runner.append(runner_run(jobs, store))
            per_task[str(n)] = {
                "library": statistics.median(library) / n,
                "runner": (statistics.median(runner) - startup) / n,
            }
    return {"repeats": repeats, "runner_startup_seconds": startup, "seconds_per_task": per_task}


def runner_missing() -> bool:
    """Return whether this checkout lacks the runner's command-line module."""
    try:
        return importlib.util.find_spec("trio_bucket._runner.cli") is None
    except ModuleNotFoundError:
        return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if runner_missing():
        print(json.dumps({"missing": "trio_bucket._runner.cli does not exist in this checkout"}))
        return
    print(json.dumps(measure(args.sizes, args.repeats)))


if __name__ == "__main__":
    main()
