"""The plain-text table that run.py prints from a benchmark report."""

from __future__ import annotations

from typing import Any

MICRO = 1e6


def format_table(report: dict[str, Any]) -> str:
    """Return the report's figures as plain-text tables, one per group."""
    results = report["results"]
    sections = [
        immediate_table(results["immediate"]),
        held_table(results["held"]),
        drain_table(results["drain_rescue"]["drain"]),
        rescue_table(results["drain_rescue"]["rescue"]),
        runner_table(results["runner"]),
    ]
    return "\n\n".join(sections)


def render(title: str, header: list[str], rows: list[list[str]]) -> str:
    """Return *rows* under *header* as right-aligned columns, below *title*."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [title]
    for row in [header, *rows]:
        cells = (cell.rjust(width) for cell, width in zip(row, widths, strict=True))
        lines.append("  ".join(cells))
    return "\n".join(lines)


def immediate_table(immediate: dict[str, Any]) -> str:
    """(a): median microseconds per task, and the ratios the targets are stated in."""
    medians: dict[str, dict[str, float]] = immediate["median"]
    names = list(next(iter(medians.values())))
    header = ["N", *names, "bucket/raw", *(f"{name}/bucket" for name in names[2:])]
    rows = []
    for n, per_task in medians.items():
        bucket = per_task["trio_bucket"]
        row = [f"{int(n):,}", *(f"{per_task[name] * MICRO:.2f}" for name in names)]
        row.append(f"{bucket / per_task['raw Trio']:.2f}x")
        row += [f"{per_task[name] / bucket:.2f}x" for name in names[2:]]
        rows.append(row)
    title = (
        f"(a) immediate no-op tasks, fill to outcome: median us per task "
        f"of {immediate['repeats']} runs"
    )
    return render(title, header, rows)


def held_table(held: list[dict[str, Any]]) -> str:
    """(b): RSS bytes per held time bomb, one row per contestant and size."""
    rows = [
        [entry["contestant"], f"{entry['n']:,}", f"{entry['bytes_per_task']:,.0f}"]
        for entry in held
    ]
    title = "(b) held time bombs: resident memory (psutil RSS delta) per task"
    return render(title, ["contestant", "N", "bytes/task"], rows)


def drain_table(drain: dict[str, Any]) -> str:
    """(c): drain every held time bomb, by id."""
    rows = [
        [
            f"{int(n):,}",
            name,
            f"{timing['call'] * MICRO:.2f}",
            f"{timing['slowest_call'] * 1e3:.2f}",
            f"{timing['until_exit'] * MICRO:.2f}",
        ]
        for n, contestants in drain.items()
        for name, timing in contestants.items()
    ]
    header = ["N", "contestant", "us/call", "slowest call ms", "us/task until exit"]
    return render("(c) drain every held time bomb, one call per id", header, rows)


def rescue_table(rescue: dict[str, Any]) -> str:
    """(c): rescue() of N live tasks."""
    rows = [
        [
            f"{int(n):,}",
            name,
            f"{timing['call'] * MICRO:.2f}",
            f"{timing['until_exit'] * MICRO:.2f}",
        ]
        for n, variants in rescue.items()
        for name, timing in variants.items()
    ]
    header = ["N", "tasks", "us/task in rescue()", "us/task until exit"]
    return render("(c) rescue() of N live tasks (raw Trio: cancel every scope)", header, rows)


def runner_table(runner: dict[str, Any]) -> str:
    """(d): the runner with a no-op executor against the library called directly."""
    if "missing" in runner:
        return f"(d) runner: not measured: {runner['missing']}"
    rows = [
        [
            f"{int(n):,}",
            f"{timing['library'] * MICRO:.2f}",
            f"{timing['runner'] * MICRO:.2f}",
            f"{timing['runner'] / timing['library']:.2f}x",
        ]
        for n, timing in runner["seconds_per_task"].items()
    ]
    header = ["N", "library us/task", "runner us/task", "runner/library"]
    return render("(d) trio-bucket run with a no-op executor", header, rows)
