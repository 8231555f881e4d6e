"""Run every benchmark group, print the table and write it as JSON.

Usage: ``python benchmarks/run.py [--quick] [--output FILE]``

Each group runs in its own child process: (a) immediate tasks, (b) held time
bombs (a fresh process for every contestant and size, so that each RSS reading
starts clean), (c) drain and rescue, (d) the runner against the library. The JSON
goes to ``benchmarks/results/`` unless ``--output`` names a file.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from machine import describe_machine
from table import format_table

HERE = Path(__file__).resolve().parent

FULL = {
    "immediate_sizes": [10_000, 100_000],
    "immediate_repeats": 5,
    "held": {
        "trio_bucket": [10_000, 100_000, 1_000_000],
        "raw Trio": [10_000, 100_000, 1_000_000],
        "aiojobs": [10_000, 100_000, 1_000_000],
    },
    "drain_sizes": [10_000, 100_000, 1_000_000],
    "rescue_sizes": [10_000, 100_000],
    "runner_sizes": [10_000, 100_000],
    "runner_repeats": 3,
}
# Small enough for `nox -s bench` to finish in a few minutes on 2 cores.
QUICK = {
    "immediate_sizes": [10_000, 100_000],
    "immediate_repeats": 2,
    "held": {
        "trio_bucket": [10_000, 100_000, 1_000_000],
        "raw Trio": [10_000, 100_000],
        "aiojobs": [10_000, 100_000],
    },
    "drain_sizes": [10_000, 100_000],
    "rescue_sizes": [10_000, 100_000],
    "runner_sizes": [10_000],
    "runner_repeats": 1,
}


def run_child(script: str, *args: object) -> Any:
    """Run one benchmark script in a fresh Python process and return its JSON output."""
    command = [sys.executable, str(HERE / script), *map(str, args)]
    print("$", " ".join(command[1:]), file=sys.stderr, flush=True)
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr)
        raise SystemExit(f"{script} failed with exit code {completed.returncode}")
    return json.loads(completed.stdout)


def run_groups(plan: dict[str, Any]) -> dict[str, Any]:
    """Run the four groups of *plan* and return their results."""
    immediate = run_child(
        "immediate.py",
        "--sizes",
        *plan["immediate_sizes"],
        "--repeats",
        plan["immediate_repeats"],
    )
    held = [
        run_child("held.py", contestant, n)
        for contestant, sizes in plan["held"].items()
        for n in sizes
    ]
    drain_rescue = run_child(
        "drain_rescue.py",
        "--drain-sizes",
        *plan["drain_sizes"],
        "--rescue-sizes",
        *plan["rescue_sizes"],
    )
    runner = run_child(
        "runner.py", "--sizes", *plan["runner_sizes"], "--repeats", plan["runner_repeats"]
    )
    return {"immediate": immediate, "held": held, "drain_rescue": drain_rescue, "runner": runner}


def default_output() -> Path:
    """Return a fresh file name under benchmarks/results/, stamped with the UTC time."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return HERE / "results" / f"bench-{stamp}.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="fewer repetitions and sizes, for nox -s bench"
    )
    parser.add_argument("--output", type=Path, help="the JSON file to write")
    args = parser.parse_args()

    plan = QUICK if args.quick else FULL
    report = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "mode": "quick" if args.quick else "full",
        "machine": describe_machine(),
        "results": run_groups(plan),
    }
    print(format_table(report))

    output = args.output or default_output()
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {output}")


if __name__ == "__main__":
    main()
