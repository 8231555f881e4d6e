"""``trio-bucket run``: read job lines, fill the bucket, report outcomes, rescue on signals.

The run ends when the input has ended and every task has its outcome. SIGINT or
SIGTERM cancels the bucket's block instead, so the bucket rescues every live task
into the store (before any on_panic hook runs) and the runner exits with status
128 + the signal number.
"""

from __future__ import annotations

import logging
import shlex
import signal
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import attrs
import trio

from .._bucket import Bucket
from .._errors import DuplicateTaskError, TaskNotFoundError
from .._executor import ExecutorProtocol
from .._open import open_bucket
from .._records import Outcome, TaskKind
from .._stores._sqlite import SqliteRescueStore
from ._command import check_command_data
from ._console import Console, ConsoleLogHandler
from ._executors import ReportingExecutor
from ._jobs import DrainLine, JobLineError, TaskDefaults, TaskLine, parse_job_line
from ._reader import LineReader

#: Exit status when every line was accepted and every task finished or was drained.
EXIT_OK = 0
#: Exit status when some task failed or exhausted its lifespan.
EXIT_TASKS_FAILED = 1
#: Exit status when some input line was rejected, or the command line was invalid.
EXIT_BAD_INPUT = 2

#: Seconds between redraws of the progress line.
_PROGRESS_INTERVAL = 0.2


@attrs.frozen(kw_only=True)
class RunOptions:
    """The settings of one ``trio-bucket run``."""

    jobs_fd: int
    store_path: Path
    #: Whether --store was left at its default, so messages need not repeat it.
    store_is_default: bool
    executor: ExecutorProtocol
    command_executor: bool
    lifespan: float
    run_after: float
    max_tasks: int
    max_running: int | None
    resume: bool
    journal: bool
    #: With a Redis URL and a name, the run joins that shared bucket instead.
    redis_url: str | None = None
    shared_name: str | None = None
    claim_idle: float = 30.0


@attrs.define
class _RunState:
    """The feed's record of the run: where each filled id came from, and the rejected lines."""

    # NOTE: every id of the run stays here, so memory grows with the number of tasks
    # read, unlike the bucket, which drops a task at its outcome.
    origins: dict[str, str] = attrs.Factory(dict[str, str])
    rejected: int = 0
    signal_number: int | None = None


async def run_jobs(options: RunOptions, console: Console) -> int:
    """Run the jobs that *options* describe and return the exit status."""
    if options.redis_url is not None:
        from .._shared._runner import run_shared_jobs  # Imports coredis: only when asked.

        return await run_shared_jobs(options, console)

    try:
        store = await SqliteRescueStore.open(options.store_path)
    except (OSError, sqlite3.Error) as error:
        console.message(
            f"cannot open the store {str(options.store_path)!r}: {error}; "
            "pass --store with the path of a writable SQLite file"
        )
        return EXIT_BAD_INPUT

    handler = ConsoleLogHandler(console)
    logger = logging.getLogger("trio_bucket")
    logger.addHandler(handler)
    try:
        async with store:
            return await _run_with_store(options, store, console)
    finally:
        logger.removeHandler(handler)


def reporting_executor(options: RunOptions, console: Console) -> ReportingExecutor:
    """Return the run's executor, wrapped to report outcomes and limit --max-running."""
    limiter = None if options.max_running is None else trio.CapacityLimiter(options.max_running)
    return ReportingExecutor(options.executor, console, limiter)


async def _run_with_store(options: RunOptions, store: SqliteRescueStore, console: Console) -> int:
    state = _RunState()
    started_at = trio.current_time()
    console.start_clock()
    executor = reporting_executor(options, console)

    bucket_context = open_bucket(
        executor,
        lifespan=options.lifespan,
        run_after=options.run_after,
        max_tasks=options.max_tasks,
        store=store,
        journal=options.journal,
    )
    statistics = None

    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as helpers:
            run_scope = trio.CancelScope()
            helpers.start_soon(_watch_signals, signals, run_scope, state, console)
            with run_scope:
                async with bucket_context as bucket:
                    statistics = bucket.statistics
                    if console.shows_progress:
                        helpers.start_soon(_draw_progress, bucket, executor, console)
                    await _start(options, bucket, store, state, console)
                    await feed_lines(
                        options, bucket, state, console, partial(_drain, bucket, state, console)
                    )
            helpers.cancel_scope.cancel()

    console.clear_progress()
    filled, rescued = (0, 0) if statistics is None else (statistics().filled, statistics().rescued)
    seconds = trio.current_time() - started_at
    _report_end(filled, rescued, store, options.store_is_default, state, console, seconds)
    return _exit_status(state, console)


async def _watch_signals(
    signals: AsyncIterator[int],
    run_scope: trio.CancelScope,
    state: _RunState,
    console: Console,
) -> None:
    async for signal_number in signals:
        if state.signal_number is None:
            state.signal_number = signal_number
            console.message(
                f"{signal.Signals(signal_number).name} received: "
                "rescuing every live task into the store"
            )
            run_scope.cancel()


async def _start(
    options: RunOptions,
    bucket: Bucket,
    store: SqliteRescueStore,
    state: _RunState,
    console: Console,
) -> None:
    if options.resume:
        handles = await bucket.restore()
        for handle in handles:
            state.origins[handle.id] = "a task resumed from the store"
        console.message(f"resumed {_tasks(len(handles))} from {str(store.path)!r}")
        return

    held = await store.load()
    if held:
        console.message(
            f"note: the store {str(store.path)!r} contains {_tasks(len(held))} "
            f"from an earlier run; run with --resume to run {_them(len(held))}"
        )
    # A rescue of a task with a stored task's id would replace the stored one, so
    # such a line is rejected like any other duplicate.
    for record in held:
        state.origins[record.id] = "a task rescued by an earlier run and still in the store"


async def feed_lines(
    options: RunOptions,
    bucket: _Fillable,
    state: _RunState,
    console: Console,
    drain_line: Callable[[DrainLine, int], Awaitable[None]],
) -> None:
    """Read the job lines to their end: fill each task, pass each drain to *drain_line*."""
    reader = LineReader(options.jobs_fd)
    defaults = TaskDefaults(run_after=options.run_after, lifespan=options.lifespan)
    check_data = check_command_data if options.command_executor else None

    while (item := await reader.next_line()) is not None:
        line_number, text = item
        if not text.strip():
            continue

        try:
            line = parse_job_line(text, defaults, check_data)
        except JobLineError as error:
            _reject(state, console, line_number, str(error))
            continue

        if isinstance(line, DrainLine):
            await drain_line(line, line_number)
        else:
            await fill_line(bucket, line, line_number, state, console)


class _Fillable(Protocol):
    """A lone or a shared bucket: anything whose fill the feed can await."""

    async def fill(
        self,
        task_id: str,
        data: Any = None,
        *,
        kind: TaskKind = TaskKind.IMMEDIATE,
        run_after: float | None = None,
        lifespan: float | None = None,
    ) -> object: ...


async def fill_line(
    bucket: _Fillable, line: TaskLine, line_number: int, state: _RunState, console: Console
) -> None:
    """Fill the task of one job line, or reject the line with its reason."""
    origin = state.origins.get(line.task_id)
    if origin is not None:
        _reject(
            state,
            console,
            line_number,
            f"duplicate id {line.task_id!r}: {origin} already has it; give each task its own id",
        )
        return

    try:
        await bucket.fill(
            line.task_id,
            line.data,
            kind=line.kind,
            run_after=line.run_after,
            lifespan=line.lifespan,
        )
    except (ValueError, TypeError, DuplicateTaskError) as error:
        _reject(state, console, line_number, str(error))
    else:
        state.origins[line.task_id] = f"line {line_number}"


async def _drain(
    bucket: Bucket, state: _RunState, console: Console, line: DrainLine, line_number: int
) -> None:
    if line.task_id not in state.origins:
        _reject(
            state,
            console,
            line_number,
            f"drain of unknown id {line.task_id!r}: no earlier line filled a task with that id; "
            "put the drain after the task's line and check the id",
        )
        return

    try:
        bucket.drain(line.task_id)
    except TaskNotFoundError:
        console.message(
            f"line {line_number}: task {line.task_id!r} already has its outcome, "
            "so there is nothing to drain"
        )
    else:
        console.outcome(line.task_id, Outcome.DRAINED)


def _reject(state: _RunState, console: Console, line_number: int, reason: str) -> None:
    state.rejected += 1
    console.message(f"line {line_number}: {reason}")


async def _draw_progress(bucket: Bucket, executor: ReportingExecutor, console: Console) -> None:
    while True:
        statistics = bucket.statistics()
        console.show_progress(
            f"{statistics.live} live, {executor.executing} running | {console.counts_text()}"
        )
        await trio.sleep(_PROGRESS_INTERVAL)


def _report_end(
    filled: int,
    rescued: int,
    store: SqliteRescueStore,
    store_is_default: bool,
    state: _RunState,
    console: Console,
    seconds: float,
) -> None:
    summary = f"{_tasks(filled)} in {seconds:.1f} s: {console.counts_text()}"
    if state.rejected:
        summary += f"; {state.rejected} input line{'s' if state.rejected != 1 else ''} rejected"
    console.message(summary)

    if state.signal_number is not None:
        store_option = "" if store_is_default else f" --store {shlex.quote(str(store.path))}"
        console.message(
            f"rescued {_tasks(rescued)} into {str(store.path)!r}; "
            f"run `trio-bucket run --resume{store_option}` to run {_them(rescued)}, "
            f"or `trio-bucket rescued{store_option}` to list {_them(rescued)}"
        )


def _exit_status(state: _RunState, console: Console) -> int:
    if state.signal_number is not None:
        return 128 + state.signal_number
    if state.rejected:
        return EXIT_BAD_INPUT
    if console.counts[Outcome.FAILED] or console.counts[Outcome.EXHAUSTED]:
        return EXIT_TASKS_FAILED
    return EXIT_OK


def _tasks(count: int) -> str:
    return f"{count} task{'s' if count != 1 else ''}"


def _them(count: int) -> str:
    return "it" if count == 1 else "them"
