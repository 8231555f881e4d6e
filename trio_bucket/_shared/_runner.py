"""``trio-bucket run --redis URL --name NAME``: one runner process of a shared bucket.

The run differs from a lone run in three ways. A fill goes to the Redis queue when
this process's bucket is full, so reading never waits for room. A drain line
drains the task wherever it is, on any process. And the run ends when the input
has ended and no task is live in the whole shared bucket, so that a process with
no input of its own serves the others until their work is done.

SIGINT or SIGTERM hands this process's live tasks back to the queue, where the
other processes take them, and exits with status 128 + the signal number.
"""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import AsyncIterator
from functools import partial

import trio
from coredis.exceptions import ConnectionError as RedisConnectionError

from .._errors import TaskNotFoundError
from .._records import Outcome
from .._runner._console import Console, ConsoleLogHandler
from .._runner._executors import ReportingExecutor
from .._runner._jobs import DrainLine
from .._runner._run import (
    EXIT_BAD_INPUT,
    RunOptions,
    _exit_status,  # pyright: ignore[reportPrivateUsage]
    _RunState,  # pyright: ignore[reportPrivateUsage]
    _tasks,  # pyright: ignore[reportPrivateUsage]
    feed_lines,
    reporting_executor,
)
from .._stores._redis import sole_exception
from ._bucket import SharedBucket
from ._open import open_shared_bucket

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup

#: Seconds between checks whether the shared bucket still has live tasks, once
#: the input has ended.
IDLE_CHECK_INTERVAL = 0.1
#: Seconds between redraws of the progress line.
_PROGRESS_INTERVAL = 0.2


async def run_shared_jobs(options: RunOptions, console: Console) -> int:
    """Run the jobs that *options* describe as one process of a shared bucket."""
    handler = ConsoleLogHandler(console)
    logger = logging.getLogger("trio_bucket")
    logger.addHandler(handler)
    try:
        return await _run_shared(options, console)
    except BaseExceptionGroup as group:
        error = sole_exception(group)
        if not isinstance(error, RedisConnectionError):
            raise
        console.message(
            f"cannot reach Redis at {options.redis_url!r}: {error}; "
            "start redis-server there, or pass the right URL to --redis"
        )
        return EXIT_BAD_INPUT
    finally:
        logger.removeHandler(handler)


async def _run_shared(options: RunOptions, console: Console) -> int:
    assert options.redis_url is not None
    assert options.shared_name is not None
    state = _RunState()
    started_at = trio.current_time()
    console.start_clock()
    executor = reporting_executor(options, console)
    shared_context = open_shared_bucket(
        executor,
        redis_url=options.redis_url,
        name=options.shared_name,
        lifespan=options.lifespan,
        run_after=options.run_after,
        max_tasks=options.max_tasks,
        claim_idle=options.claim_idle,
    )
    statistics = None

    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as helpers:
            run_scope = trio.CancelScope()
            helpers.start_soon(
                _watch_signals, signals, run_scope, state, console, options.shared_name
            )
            with run_scope:
                async with shared_context as shared:
                    statistics = shared.statistics
                    console.message(
                        f"joined shared bucket {shared.name!r} as consumer {shared.consumer!r}"
                    )
                    helpers.start_soon(_draw_progress, shared, executor, console)
                    await feed_lines(
                        options, shared, state, console, partial(_drain, shared, console)
                    )
                    await _wait_until_empty(shared)
            helpers.cancel_scope.cancel()

    console.clear_progress()
    seconds = trio.current_time() - started_at
    summary = f"{console.counts_text()} here in {seconds:.1f} s"
    if statistics is not None:
        counters = statistics()
        summary += (
            f"; {counters.filled_local} filled here, {counters.filled_queued} queued, "
            f"{counters.taken + counters.claimed} taken from the queue, "
            f"{counters.requeued} handed back"
        )
    if state.rejected:
        summary += f"; {state.rejected} input line{'s' if state.rejected != 1 else ''} rejected"
    console.message(summary)
    if state.signal_number is not None and statistics is not None:
        console.message(
            f"handed {_tasks(statistics().requeued)} back to shared bucket "
            f"{options.shared_name!r} for the other processes"
        )
    return _exit_status(state, console)


async def _drain(shared: SharedBucket, console: Console, line: DrainLine, line_number: int) -> None:
    # Any process of the shared bucket may have filled the task, so an id that
    # this process never filled is not an input error here.
    try:
        await shared.drain(line.task_id)
    except TaskNotFoundError:
        console.message(
            f"line {line_number}: no task with id {line.task_id!r} is live in shared bucket "
            f"{shared.name!r}: it already has its outcome, or no process filled it"
        )
    else:
        console.outcome(line.task_id, Outcome.DRAINED)


async def _watch_signals(
    signals: AsyncIterator[int],
    run_scope: trio.CancelScope,
    state: _RunState,
    console: Console,
    name: str,
) -> None:
    async for signal_number in signals:
        if state.signal_number is None:
            state.signal_number = signal_number
            console.message(
                f"{signal.Signals(signal_number).name} received: handing every live task "
                f"back to shared bucket {name!r}"
            )
            run_scope.cancel()


async def _wait_until_empty(shared: SharedBucket) -> None:
    while True:
        if await shared.live_count() == 0:
            return
        await trio.sleep(IDLE_CHECK_INTERVAL)


async def _draw_progress(
    shared: SharedBucket, executor: ReportingExecutor, console: Console
) -> None:
    while True:
        statistics = shared.statistics()
        console.show_progress(
            f"{statistics.local.live} live here, {executor.executing} running | "
            f"{console.counts_text()}"
        )
        await trio.sleep(_PROGRESS_INTERVAL)
