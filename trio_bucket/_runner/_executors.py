"""Finding the executor that ``--executor`` names, and reporting each outcome it reaches."""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from typing import Any

import trio

from .._executor import ExecutorProtocol
from .._records import Outcome, TaskRecord
from ._command import CommandExecutor
from ._console import Console

_HOOK_NAMES = ("on_execute", "on_finish", "on_execute_error", "on_exhausted", "on_panic")


class ExecutorPathError(Exception):
    """An ``--executor`` value that does not name a usable executor."""


def load_executor(spec: str) -> ExecutorProtocol:
    """Return the executor that *spec* names: ``command``, or ``module:attribute``.

    The attribute may be an executor instance, or a class whose instances are
    executors, which is called with no arguments. The current folder is searched
    first for the module, as ``python -m`` does.

    Raises:
        ExecutorPathError: if *spec* does not name an executor; the message explains why.
    """
    if spec == "command":
        return CommandExecutor()

    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ExecutorPathError(
            f"--executor {spec!r} is not 'command' or 'module:attribute'; "
            "name an executor class or instance, like 'myjobs:Executor'"
        )

    target = _find_attribute(_import(module_name, spec), attribute, spec)
    executor = _instantiate(target, spec)
    _check_hooks(executor, spec)
    checked: ExecutorProtocol = executor
    return checked


def _import(module_name: str, spec: str) -> Any:
    folder = os.getcwd()
    if folder not in sys.path:
        sys.path.insert(0, folder)

    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name is not None and (module_name + ".").startswith(error.name + "."):
            raise ExecutorPathError(
                f"--executor {spec!r}: no module named {error.name!r}; run trio-bucket from "
                "the folder that contains it, add its folder to PYTHONPATH, or install it"
            ) from None
        raise ExecutorPathError(
            f"--executor {spec!r}: importing {module_name!r} failed: {error}"
        ) from None
    except Exception as error:
        raise ExecutorPathError(
            f"--executor {spec!r}: importing {module_name!r} failed: "
            f"{type(error).__name__}: {error}"
        ) from None


def _find_attribute(module: Any, attribute: str, spec: str) -> Any:
    target = module
    for name in attribute.split("."):
        try:
            target = getattr(target, name)
        except AttributeError:
            raise ExecutorPathError(
                f"--executor {spec!r}: {type(target).__name__} {_name_of(target)!r} "
                f"has no attribute {name!r}; check the name after the colon"
            ) from None
    return target


def _instantiate(target: Any, spec: str) -> Any:
    if not isinstance(target, type):
        return target

    try:
        return target()
    except Exception as error:
        raise ExecutorPathError(
            f"--executor {spec!r}: creating {target.__name__}() with no arguments failed: "
            f"{type(error).__name__}: {error}; give it defaults, or name an instance"
        ) from None


def _check_hooks(executor: Any, spec: str) -> None:
    missing = [
        name
        for name in _HOOK_NAMES
        if not inspect.iscoroutinefunction(getattr(executor, name, None))
    ]
    if missing:
        raise ExecutorPathError(
            f"--executor {spec!r} is not an executor: it lacks the async methods "
            f"{', '.join(missing)}; subclass trio_bucket.Executor and override the hooks you need"
        )


def _name_of(target: Any) -> str:
    return str(getattr(target, "__name__", target))


class ReportingExecutor:
    """Wraps the run's executor: writes each outcome's event and limits running tasks.

    The outcome hooks write the event first, then call the wrapped hook. With a
    limiter, ``on_execute`` waits for a slot inside the task's cancel scope, so the
    task's lifespan keeps counting while it waits.
    """

    def __init__(
        self,
        executor: ExecutorProtocol,
        console: Console,
        limiter: trio.CapacityLimiter | None,
    ) -> None:
        self._executor = executor
        self._console = console
        self._limiter = limiter
        #: Tasks whose wrapped on_execute is running now.
        self.executing = 0

    async def on_execute(self, task: TaskRecord) -> None:
        """Wait for a slot if running tasks are limited, then run the wrapped hook."""
        if self._limiter is None:
            await self._execute(task)
        else:
            async with self._limiter:
                await self._execute(task)

    async def _execute(self, task: TaskRecord) -> None:
        self.executing += 1
        try:
            await self._executor.on_execute(task)
        finally:
            self.executing -= 1

    async def on_finish(self, task: TaskRecord) -> None:
        """Report FINISHED, then run the wrapped hook."""
        self._console.outcome(task.id, Outcome.FINISHED)
        await self._executor.on_finish(task)

    async def on_execute_error(self, task: TaskRecord, error: Exception) -> None:
        """Report FAILED with *error*, then run the wrapped hook."""
        self._console.outcome(task.id, Outcome.FAILED, error)
        await self._executor.on_execute_error(task, error)

    async def on_exhausted(self, task: TaskRecord) -> None:
        """Report EXHAUSTED, then run the wrapped hook."""
        self._console.outcome(task.id, Outcome.EXHAUSTED)
        await self._executor.on_exhausted(task)

    async def on_panic(self, task: TaskRecord) -> None:
        """Report RESCUED, then run the wrapped hook."""
        self._console.outcome(task.id, Outcome.RESCUED)
        await self._executor.on_panic(task)
