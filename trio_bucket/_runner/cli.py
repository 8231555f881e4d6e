"""The ``trio-bucket`` command: ``run`` a JSON Lines job file, list the ``rescued`` tasks."""

from __future__ import annotations

import argparse
import json
import math
import os
import sqlite3
import stat
import sys
from collections.abc import Sequence
from pathlib import Path

import trio

from .._records import TaskKind
from .._stores._sqlite import SqliteRescueStore
from ._console import PROGRAM, Console
from ._executors import ExecutorPathError, load_executor
from ._run import EXIT_BAD_INPUT, EXIT_OK, RunOptions, run_jobs

_RUN_DESCRIPTION = """\
Run the tasks of a JSON Lines job file in a bucket. Each line is a task,
{"id": "a", "data": ..., "kind": "immediate" | "time_bomb", "run_after": 2, "lifespan": 10}
(only id is required; a line with run_after and no kind is a time bomb), or a drain,
{"drain": "a"}. Lines are acted on as they arrive. Standard output gets one JSON event
per outcome: {"id", "outcome", "at", and "error" for failed}. On SIGINT or SIGTERM every
live task is rescued into the store.
"""

_RUN_EPILOG = """\
exit status: 0 when every line was accepted and no task failed or exhausted its
lifespan; 1 when some task failed or was exhausted; 2 when some input line was
rejected (the run still goes on) or the command line is invalid; 128 + the signal
number after SIGINT (130) or SIGTERM (143).

The command executor runs data {"argv": [...], "cwd": "...", "env": {...}} without a
shell (cwd and env optional; env adds to the environment). Its standard output is
discarded, and a failed task's error ends with the last lines of its standard error.
"""


def default_store_path() -> Path:
    """Return ``$XDG_STATE_HOME/trio-bucket/rescued.sqlite3``.

    XDG_STATE_HOME defaults to ``~/.local/state`` when it is unset or not an
    absolute path, following the XDG Base Directory specification.
    """
    state_home = os.environ.get("XDG_STATE_HOME", "")
    base = Path(state_home) if os.path.isabs(state_home) else Path.home() / ".local" / "state"
    return base / "trio-bucket" / "rescued.sqlite3"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``trio-bucket`` command line and return its exit status."""
    parser = _build_parser()
    arguments = parser.parse_args(argv)
    try:
        if arguments.command == "run":
            # Errors in the options of run show run's own usage line.
            return _run(arguments.command_parser, arguments)
        if arguments.command == "rescued":
            return trio.run(_list_rescued, arguments.store)
    except KeyboardInterrupt:
        # Ctrl-C before the run installed its own handler, or after it removed it.
        return 128 + 2

    parser.print_help(sys.stderr)
    return EXIT_BAD_INPUT


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="Run background tasks with lifespans, time bombs, drain and rescue.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="run the tasks of a JSON Lines job file",
        description=_RUN_DESCRIPTION,
        epilog=_RUN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "jobs",
        nargs="?",
        default="-",
        metavar="JOBS",
        help="the JSON Lines job file; standard input when absent or '-'",
    )
    run.add_argument(
        "--executor",
        default="command",
        metavar="SPEC",
        help="'command' (the default) runs each task's argv; 'module:attribute' names an "
        "Executor class or instance, looked up from the current folder first",
    )
    run.add_argument(
        "--lifespan",
        type=_seconds_above_zero,
        default=5.0,
        metavar="SECONDS",
        help="seconds from fill until a task is cancelled and exhausted (default: 5)",
    )
    run.add_argument(
        "--run-after",
        type=_seconds_from_zero,
        default=1.0,
        metavar="SECONDS",
        help="seconds from fill until a time bomb runs (default: 1)",
    )
    run.add_argument(
        "--max-tasks",
        type=_count,
        default=1024,
        metavar="N",
        help="the maximum number of live tasks; reading waits while the bucket is full, "
        "or with --redis the task goes to the shared queue (default: 1024)",
    )
    run.add_argument(
        "--max-running",
        type=_count,
        default=None,
        metavar="N",
        help="the maximum number of tasks executing at once; the others wait while their "
        "lifespan keeps counting (default: no limit)",
    )
    run.set_defaults(command_parser=run)
    _add_store_option(run, "created when missing")
    _add_shared_options(run)
    run.add_argument(
        "--resume",
        action="store_true",
        help="first refill the tasks that the store contains, with the run_after and "
        "lifespan they had left when they were saved",
    )
    run.add_argument(
        "--journal",
        action="store_true",
        help="also write every task to the store until it has an outcome, so that even "
        "a killed run loses no task; --resume runs what is left",
    )

    rescued = commands.add_parser(
        "rescued",
        help="list the tasks that the store contains, one JSON object per line",
        description="List the tasks that the store contains, one JSON object per line, "
        "with the run_after and lifespan they have left.",
    )
    _add_store_option(rescued, "never created: a missing file lists nothing")
    return parser


def _add_store_option(parser: argparse.ArgumentParser, when_missing: str) -> None:
    parser.add_argument(
        "--store",
        type=Path,
        default=default_store_path(),
        metavar="PATH",
        help=f"the SQLite file of rescued tasks, {when_missing} (default: "
        "$XDG_STATE_HOME/trio-bucket/rescued.sqlite3, with XDG_STATE_HOME defaulting "
        "to ~/.local/state)",
    )


def _add_shared_options(parser: argparse.ArgumentParser) -> None:
    shared = parser.add_argument_group(
        "shared bucket",
        "Several runner processes, on one machine or many, share one bucket through "
        "Redis: a fill goes to the queue when this process is full, a drain reaches the "
        "task on any process, and the tasks of a killed process run elsewhere. Needs "
        "the redis extra (pip install trio_bucket[redis]).",
    )
    shared.add_argument(
        "--redis",
        metavar="URL",
        help="join the shared bucket on this Redis server, like redis://127.0.0.1:6379/0; "
        "the run then ends when the input has ended and no task is live on any process",
    )
    shared.add_argument(
        "--name", metavar="NAME", help="the shared bucket's name; needed with --redis"
    )
    shared.add_argument(
        "--claim-idle",
        type=_seconds_above_zero,
        default=30.0,
        metavar="SECONDS",
        help="seconds without a heartbeat after which another process takes over a "
        "process's tasks (default: 30)",
    )


def _check_shared_options(parser: argparse.ArgumentParser, arguments: argparse.Namespace) -> None:
    if arguments.redis is None:
        if arguments.name is not None:
            parser.error("--name names a shared bucket; pass --redis URL as well")
        return

    if arguments.name is None:
        parser.error("--redis needs --name NAME: the name of the shared bucket to join")
    try:
        from .._stores._redis import check_bucket_name
    except ImportError:
        parser.error("--redis needs the redis extra: pip install 'trio_bucket[redis]'")
    try:
        check_bucket_name(arguments.name)
    except ValueError as error:
        parser.error(f"--name: {error}")
    if arguments.resume or arguments.journal or arguments.store != default_store_path():
        parser.error(
            "--store, --resume and --journal use the SQLite store, and a shared bucket "
            "keeps its tasks in Redis; drop them, or drop --redis"
        )


def _run(parser: argparse.ArgumentParser, arguments: argparse.Namespace) -> int:
    _check_shared_options(parser, arguments)
    if arguments.run_after >= arguments.lifespan:
        parser.error(
            f"--run-after ({arguments.run_after:g}) must be less than --lifespan "
            f"({arguments.lifespan:g}), or a time bomb runs out of time before it starts; "
            "--run-after defaults to 1, so with a short --lifespan pass a smaller "
            "--run-after too"
        )

    try:
        executor = load_executor(arguments.executor)
    except ExecutorPathError as error:
        _print_error(str(error))
        return EXIT_BAD_INPUT

    jobs_fd = _open_jobs(arguments.jobs)
    if jobs_fd is None:
        return EXIT_BAD_INPUT

    options = RunOptions(
        jobs_fd=jobs_fd,
        store_path=arguments.store,
        store_is_default=arguments.store == default_store_path(),
        executor=executor,
        command_executor=arguments.executor == "command",
        lifespan=arguments.lifespan,
        run_after=arguments.run_after,
        max_tasks=arguments.max_tasks,
        max_running=arguments.max_running,
        resume=arguments.resume,
        journal=arguments.journal,
        redis_url=arguments.redis,
        shared_name=arguments.name,
        claim_idle=arguments.claim_idle,
    )
    console = Console(sys.stdout, sys.stderr, progress=sys.stderr.isatty())
    if jobs_fd == 0 and os.isatty(0):
        console.message(
            "reading tasks from the terminal, one JSON object per line; end with Ctrl-D"
        )
    return trio.run(run_jobs, options, console)


def _open_jobs(jobs: str) -> int | None:
    if jobs == "-":
        return 0

    try:
        fd = os.open(jobs, os.O_RDONLY)
    except OSError as error:
        _print_error(f"cannot read the job file {jobs!r}: {error.strerror}")
        return None

    if stat.S_ISDIR(os.fstat(fd).st_mode):
        os.close(fd)
        _print_error(f"the job file {jobs!r} is a folder; name a JSON Lines file")
        return None
    return fd


async def _list_rescued(path: Path) -> int:
    if not await trio.Path(path).exists():
        _print_error(f"no store at {str(path)!r}, so no rescued tasks")
        return EXIT_OK

    try:
        async with await SqliteRescueStore.open(path) as store:
            records = await store.load()
    except (OSError, sqlite3.Error) as error:
        _print_error(
            f"cannot read the store {str(path)!r}: {error}; "
            "pass --store with the path of a trio-bucket SQLite file"
        )
        return EXIT_BAD_INPUT

    now = trio.current_time()
    for record in records:
        listed: dict[str, object] = {"id": record.id, "kind": record.kind.value}
        if record.kind is TaskKind.TIME_BOMB:
            listed["run_after"] = round(max(record.run_at - now, 0.0), 3)
        listed["lifespan"] = round(record.deadline - now, 3)
        listed["data"] = record.data
        print(json.dumps(listed))
    _print_error(f"{len(records)} rescued task{'s' if len(records) != 1 else ''} in {str(path)!r}")
    return EXIT_OK


def _print_error(text: str) -> None:
    print(f"{PROGRAM}: {text}", file=sys.stderr)


def _seconds_above_zero(text: str) -> float:
    seconds = _seconds(text)
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds > 0, got {text!r}")
    return seconds


def _seconds_from_zero(text: str) -> float:
    seconds = _seconds(text)
    if not seconds >= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds >= 0, got {text!r}")
    return seconds


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if not math.isfinite(seconds):
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds, got {text!r}")
    return seconds


def _count(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}") from None
    if count < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return count
