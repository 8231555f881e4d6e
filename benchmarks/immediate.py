"""Group (a): immediate no-op tasks from fill to outcome, all contestants in one process.

Prints one JSON object: for each task count, each contestant's seconds per task in
every repetition. The contestants take turns within a repetition, in a rotating
order, so that a slow spell of the shared machine hits all of them alike.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics

from contestants import IMMEDIATE


def measure(sizes: list[int], repeats: int) -> dict[str, object]:
    """Run every contestant *repeats* times per size; return the seconds per task."""
    names = list(IMMEDIATE)
    results: dict[str, dict[str, list[float]]] = {}
    for n in sizes:
        ids = [f"task-{i}" for i in range(n)]
        per_task: dict[str, list[float]] = {name: [] for name in names}
        for repetition in range(repeats):
            shift = repetition % len(names)
            for name in names[shift:] + names[:shift]:
                gc.collect()
                per_task[name].append(IMMEDIATE[name](ids) / n)
        results[str(n)] = per_task
    return {"repeats": repeats, "seconds_per_task": results, "median": medians(results)}


def medians(results: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, float]]:
    """Return the median seconds per task of each contestant at each size."""
    return {
        n: {name: statistics.median(samples) for name, samples in per_task.items()}
        for n, per_task in results.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(measure(args.sizes, args.repeats)))


if __name__ == "__main__":
    main()
