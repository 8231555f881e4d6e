"""Group (b): resident memory per held time bomb, one contestant and one size per process.

Prints one JSON object. The ids are built before the baseline reading, so the
figure is what the contestant itself keeps per waiting task: its bookkeeping, its
Trio or asyncio task if it has one, and its share of the allocator's overhead.
Memory is the process's resident set size (RSS) read by psutil, after a full
garbage collection, before the first fill and once every task is waiting. The
process exits right after the second reading, without tearing the tasks down.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import psutil
import trio
from contestants import aiojobs_hold, bucket_hold, raw_trio_hold

Hold = Callable[[Sequence[str], Callable[[], None]], Coroutine[Any, Any, None]]

HOLDERS: dict[str, tuple[Hold, str]] = {
    "trio_bucket": (bucket_hold, "trio"),
    "raw Trio": (raw_trio_hold, "trio"),
    "aiojobs": (aiojobs_hold, "asyncio"),
}


def resident_bytes() -> int:
    """Return the process's RSS after a full garbage collection."""
    gc.collect()
    return int(psutil.Process().memory_info().rss)


def measure(contestant: str, n: int) -> None:
    """Hold *n* time bombs with *contestant*, print the RSS per task and exit."""
    hold, loop = HOLDERS[contestant]
    ids = [f"task-{i}" for i in range(n)]
    baseline = 0

    def report() -> None:
        held = resident_bytes()
        result = {
            "contestant": contestant,
            "n": n,
            "rss_before": baseline,
            "rss_held": held,
            "bytes_per_task": (held - baseline) / n,
        }
        print(json.dumps(result), flush=True)
        os._exit(0)  # Tearing down a million tasks would only cost time.

    async def run() -> None:
        nonlocal baseline
        baseline = resident_bytes()
        await hold(ids, report)

    if loop == "trio":
        trio.run(run)
    else:
        asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("contestant", choices=list(HOLDERS))
    parser.add_argument("n", type=int)
    args = parser.parse_args()
    measure(args.contestant, args.n)


if __name__ == "__main__":
    main()
