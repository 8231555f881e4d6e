"""The bucket: live tasks by id, their cancel scopes, and the claim of each outcome.

Theory of operation
-------------------

A live task is in one of three states (:class:`TaskState`):

* ``QUEUED``: a time bomb waiting for its ``run_at`` in the :class:`TimeBombQueue`.
  No Trio task exists for it, so a waiting time bomb costs a few hundred bytes.
  The timer task moves it to ``STARTING`` when it is due.
* ``STARTING``: handed to the nursery with ``start_soon``; immediate tasks are
  filled straight into this state. :meth:`Bucket._run` moves it to ``RUNNING``.
* ``RUNNING``: ``on_execute`` runs inside the task's own cancel scope, whose
  deadline is ``filled_at + lifespan``.

A task leaves the live states exactly once, when its outcome is *claimed*
(:meth:`Bucket._claim`). Five parties may claim, and the first one wins:
``_run`` (FINISHED, FAILED or EXHAUSTED, after ``on_execute`` ends),
:meth:`Bucket.drain` (DRAINED) and :meth:`Bucket.rescue` (RESCUED). Claiming is
synchronous, so under Trio's scheduling no two parties can claim the same task.
The claim releases the id, cancels the scope if the task is running, and counts
the outcome; only then does the winner run the outcome hook, shielded and
bounded by the hook timeout (:func:`call_hook`). A task that finishes within its
lifespan runs ``on_finish`` in its own scope, shielded and retimed, because that
costs less than a new scope; every other hook runs outside the task's scope. A
loser does nothing.

Closing: leaving the ``async with`` block normally waits until no task is live
and no hook is running, then marks the bucket closed. Leaving it with an
exception rescues every live task first (see :mod:`trio_bucket._open`).
"""

from __future__ import annotations

from typing import Any, final

import attrs
import trio

from ._config import BucketConfig, check_task_id_and_kind, check_task_times
from ._construction import NoPublicConstructor
from ._errors import BucketClosedError, BucketFullError, DuplicateTaskError, TaskNotFoundError
from ._executor import ExecutorProtocol
from ._handle import TaskHandle, TaskState
from ._hooks import call_hook, call_hook_in_scope, logger
from ._records import BucketStatistics, Outcome, TaskKind, TaskRecord
from ._store_link import StoreLink
from ._stores._base import check_json_data
from ._time_bombs import TimeBombQueue


@attrs.frozen
class _TaskTimes:
    """The validated timing of one task, relative to its fill."""

    kind: TaskKind
    run_after: float
    lifespan: float


@final
class Bucket(metaclass=NoPublicConstructor):
    """An in-memory bucket of background tasks, opened by :func:`open_bucket`.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        executor: ExecutorProtocol,
        config: BucketConfig,
        nursery: trio.Nursery,
        store_link: StoreLink | None = None,
    ) -> None:
        # Built only by open_bucket(): a bucket lives exactly as long as its block.
        self._executor = executor
        self._store_link = store_link
        self._config = config
        self._nursery = nursery
        self._tasks: dict[str, TaskHandle] = {}
        self._time_bombs = TimeBombQueue()
        self._timer_scope: trio.CancelScope | None = None
        self._room = trio.lowlevel.ParkingLot()
        self._idle = trio.lowlevel.ParkingLot()
        self._closed = False
        self._closed_reason = ""
        self._running = 0
        self._hooks_running = 0
        self._filled = 0
        self._hook_errors = 0
        self._outcomes = dict.fromkeys(Outcome, 0)
        # The times of every immediate task that keeps the bucket's lifespan.
        self._default_immediate_times = _TaskTimes(TaskKind.IMMEDIATE, 0.0, config.lifespan)

    def __repr__(self) -> str:
        return f"<Bucket live={len(self._tasks)} max_tasks={self._config.max_tasks}>"

    def __len__(self) -> int:
        return len(self._tasks)

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._tasks

    @property
    def max_tasks(self) -> int:
        """int: The maximum number of live tasks."""
        return self._config.max_tasks

    def get(self, task_id: str) -> TaskRecord | None:
        """Return the record of the live task with this id, or None if there is none."""
        handle = self._tasks.get(task_id)
        return None if handle is None else handle.record

    def statistics(self) -> BucketStatistics:
        """Return a snapshot of the bucket's counters."""
        outcomes = self._outcomes
        return BucketStatistics(
            live=len(self._tasks),
            waiting=len(self._tasks) - self._running,
            running=self._running,
            max_tasks=self._config.max_tasks,
            filled=self._filled,
            finished=outcomes[Outcome.FINISHED],
            failed=outcomes[Outcome.FAILED],
            exhausted=outcomes[Outcome.EXHAUSTED],
            drained=outcomes[Outcome.DRAINED],
            rescued=outcomes[Outcome.RESCUED],
            hooks_running=self._hooks_running,
            hook_errors=self._hook_errors,
        )

    # Filling

    def fill_nowait(
        self,
        task_id: str,
        data: Any = None,
        *,
        kind: TaskKind = TaskKind.IMMEDIATE,
        run_after: float | None = None,
        lifespan: float | None = None,
    ) -> TaskHandle:
        """Add a task to the bucket without waiting.

        With a journal, the task is written to the store in the next batch, and
        ``on_execute`` waits for that write; ``await fill()`` also waits for it.

        Args:
            task_id: The task's id, unique among live tasks.
            data: Any value; every hook receives it as :attr:`TaskRecord.data`.
            kind: :attr:`TaskKind.IMMEDIATE` runs at once, :attr:`TaskKind.TIME_BOMB`
                runs ``run_after`` seconds from now.
            run_after: Overrides the bucket's ``run_after`` for this time bomb.
            lifespan: Overrides the bucket's ``lifespan`` for this task.

        Returns:
            The task's :class:`TaskHandle`.

        Raises:
            BucketClosedError: if the bucket's block has exited.
            DuplicateTaskError: if a live task already has this id.
            BucketFullError: if ``max_tasks`` tasks are live.
            TypeError: if *task_id* is not a str or *kind* is not a :class:`TaskKind`.
            ValueError: if *task_id* is empty or the times are invalid.
        """
        times = self._check_task(task_id, data, kind, run_after, lifespan)
        self._check_room(task_id)
        return self._insert(task_id, data, times)

    async def fill(
        self,
        task_id: str,
        data: Any = None,
        *,
        kind: TaskKind = TaskKind.IMMEDIATE,
        run_after: float | None = None,
        lifespan: float | None = None,
    ) -> TaskHandle:
        """Add a task to the bucket, waiting for room while it is full.

        Takes the same arguments and raises the same errors as :meth:`fill_nowait`,
        except :exc:`BucketFullError`. The lifespan counts from the moment the task
        enters the bucket, not from the call. In journal mode it returns once the
        task is written to the store.
        """
        times = self._check_task(task_id, data, kind, run_after, lifespan)
        await trio.lowlevel.checkpoint_if_cancelled()
        await self._wait_for_room(task_id)
        handle = self._insert(task_id, data, times)
        await self._wait_journaled(handle)
        return handle

    async def _wait_for_room(self, task_id: str) -> None:
        while True:
            try:
                self._check_room(task_id)
            except BucketFullError:
                await self._room.park()
            except BaseException:
                self._room.unpark()  # The wake-up this call got belongs to another waiter.
                raise
            else:
                return

    async def _wait_journaled(self, handle: TaskHandle) -> None:
        link = self._store_link
        batch = handle._journal_batch  # pyright: ignore[reportPrivateUsage]
        if link is None or link.is_written(batch):
            await trio.lowlevel.cancel_shielded_checkpoint()
        elif not await link.wait_written(batch):
            raise BucketClosedError(
                f"task {handle.id!r} may not be in the journal: writing to the store failed, "
                "so the bucket is shutting down; check the store, then fill the task again"
            )

    def _check_task(
        self,
        task_id: str,
        data: Any,
        kind: TaskKind,
        run_after: float | None,
        lifespan: float | None,
    ) -> _TaskTimes:
        check_task_id_and_kind(task_id, kind)
        if self._store_link is not None:
            check_json_data(task_id, data)
        if kind is TaskKind.IMMEDIATE and run_after is None and lifespan is None:
            return self._default_immediate_times  # The common case, checked once.

        config = self._config
        task_run_after, task_lifespan = check_task_times(
            kind is TaskKind.IMMEDIATE,
            run_after,
            lifespan,
            default_run_after=config.run_after,
            default_lifespan=config.lifespan,
        )
        return _TaskTimes(kind, task_run_after, task_lifespan)

    def _check_room(self, task_id: str) -> None:
        if self._closed:
            raise BucketClosedError(f"cannot fill task {task_id!r}: {self._closed_reason}")
        if task_id in self._tasks:
            raise DuplicateTaskError(
                f"a live task already has id {task_id!r}; drain it first or use another id"
            )
        if len(self._tasks) >= self._config.max_tasks:
            raise BucketFullError(
                f"the bucket is full ({self._config.max_tasks} live tasks); "
                "await fill() to wait for room, or raise max_tasks"
            )

    def _insert(self, task_id: str, data: Any, times: _TaskTimes) -> TaskHandle:
        now = trio.current_time()
        record = TaskRecord(
            task_id, data, times.kind, now, now + times.run_after, now + times.lifespan
        )
        return self._insert_record(record)

    def _insert_record(self, record: TaskRecord) -> TaskHandle:
        if record.kind is TaskKind.IMMEDIATE:
            handle = TaskHandle(self, record, TaskState.STARTING)
            self._nursery.start_soon(self._run, handle, name=record.id)
        else:
            handle = TaskHandle(self, record, TaskState.QUEUED)
            self._queue_time_bomb(handle)
        if self._store_link is not None and self._store_link.journal:
            handle._journal_batch = self._store_link.note_fill(record)  # pyright: ignore[reportPrivateUsage]

        self._tasks[record.id] = handle
        self._filled += 1
        if self._config.verbose:
            logger.info("task %r filled as %s", record.id, record.kind.value)
        return handle

    async def restore(self) -> list[TaskHandle]:
        """Refill every task that the bucket's rescue store holds.

        A restored task keeps the run_after and lifespan it had left when it was
        saved: the clock stops while a task is in the store. It is removed from the
        store once it reaches an outcome other than RESCUED. A stored task whose id
        is already live is skipped, with a warning on the ``trio_bucket`` logger.
        Waits for room when the bucket is full.

        Returns:
            The handles of the restored tasks, in the order they were saved.

        Raises:
            RuntimeError: if the bucket was opened without a store.
        """
        link = self._store_link
        if link is None:
            raise RuntimeError("restore() needs a rescue store: pass store= to open_bucket()")
        records = await link.store.load()
        handles: list[TaskHandle] = []
        for record in records:
            if record.id in self._tasks:
                logger.warning("stored task %r not restored: a live task has that id", record.id)
                continue
            await self._wait_for_room(record.id)
            link.note_restored(record.id)
            handles.append(self._insert_record(record))
        return handles

    # Time bombs

    def _queue_time_bomb(self, handle: TaskHandle) -> None:
        self._time_bombs.push(handle)
        run_at = handle.record.run_at
        if self._timer_scope is None:
            self._timer_scope = trio.CancelScope(deadline=run_at)
            self._nursery.start_soon(self._serve_time_bombs, self._timer_scope)
        elif run_at < self._timer_scope.deadline:
            self._timer_scope.deadline = run_at

    async def _serve_time_bombs(self, first_scope: trio.CancelScope) -> None:
        # The timer task exists only while a time bomb is queued. It sleeps in a
        # scope whose deadline is the earliest run_at; a sooner fill moves it.
        scope = first_scope
        try:
            while True:
                with scope:
                    await trio.sleep_forever()

                for handle in self._time_bombs.pop_due(trio.current_time()):
                    handle._state = TaskState.STARTING  # pyright: ignore[reportPrivateUsage]
                    self._nursery.start_soon(self._run, handle, name=handle.id)

                if not self._time_bombs:
                    return
                scope = trio.CancelScope(deadline=self._time_bombs.next_run_at())
                self._timer_scope = scope
        finally:
            self._timer_scope = None

    def _wake_timer_if_idle(self) -> None:
        if self._timer_scope is not None and not self._time_bombs:
            self._timer_scope.cancel()

    # Running and settling

    async def _run(self, handle: TaskHandle) -> None:
        link = self._store_link
        batch = handle._journal_batch  # pyright: ignore[reportPrivateUsage]
        # Write ahead: the store has the task before it runs. If the write fails,
        # the task stays live for the bucket's failure path to rescue.
        if link is not None and not link.is_written(batch) and not await link.wait_written(batch):
            return
        if handle._state is not TaskState.STARTING:  # pyright: ignore[reportPrivateUsage]
            return  # Drained or rescued before it started: on_execute never runs.

        record = handle.record
        scope = handle._scope = trio.CancelScope(deadline=record.deadline)  # pyright: ignore[reportPrivateUsage]
        handle._state = TaskState.RUNNING  # pyright: ignore[reportPrivateUsage]
        self._running += 1
        if self._config.verbose:
            logger.info("task %r started", record.id)

        returned = False
        finished_in_scope = False
        error: Exception | None = None
        try:
            with scope:
                await self._executor.on_execute(record)
                returned = True
                if not scope.cancel_called and self._claim(handle, Outcome.FINISHED):
                    finished_in_scope = True
                    await self._finish_in_scope(handle, scope)
        except Exception as exc:
            if finished_in_scope:
                raise  # A bug in the bucket, not an error of on_execute.
            error = exc
        finally:
            handle._scope = None  # pyright: ignore[reportPrivateUsage]

        if finished_in_scope:
            return
        if error is not None:
            await self._settle(handle, Outcome.FAILED, error)
        elif returned:
            await self._settle(handle, Outcome.FINISHED)
        elif scope.cancelled_caught:
            await self._settle(handle, Outcome.EXHAUSTED)

    async def _settle(
        self, handle: TaskHandle, outcome: Outcome, error: Exception | None = None
    ) -> None:
        if not self._claim(handle, outcome):
            return  # Drain or rescue got there first and owns the outcome.

        self._hooks_running += 1
        executor = self._executor
        record = handle.record
        if outcome is Outcome.FINISHED:
            await self._call_hook("on_finish", handle, lambda: executor.on_finish(record))
        elif outcome is Outcome.EXHAUSTED:
            await self._call_hook("on_exhausted", handle, lambda: executor.on_exhausted(record))
        else:
            assert error is not None
            await self._call_hook(
                "on_execute_error", handle, lambda: executor.on_execute_error(record, error)
            )

    async def _finish_in_scope(self, handle: TaskHandle, scope: trio.CancelScope) -> None:
        # The common outcome, made cheap: on_execute returned and _run claimed
        # FINISHED while still inside the task's scope, so on_finish runs in that
        # same scope, shielded and retimed, instead of in a new one.
        handle._scope = None  # pyright: ignore[reportPrivateUsage]
        self._hooks_running += 1
        executor = self._executor
        record = handle.record
        succeeded = False
        try:
            succeeded = await call_hook_in_scope(
                scope,
                lambda: executor.on_finish(record),
                hook_name="on_finish",
                task_id=record.id,
                seconds=self._config.hook_timeout,
            )
        except trio.Cancelled:
            self._hook_errors += 1  # The hook timed out: nothing outside the scope reaches it.
            raise
        finally:
            self._after_hook(handle)

        if not succeeded:
            self._hook_errors += 1

    def _claim(self, handle: TaskHandle, outcome: Outcome) -> bool:
        """Give *handle* its outcome unless it has one; return whether this call did."""
        if handle._outcome is not None:  # pyright: ignore[reportPrivateUsage]
            return False

        state = handle._state  # pyright: ignore[reportPrivateUsage]
        handle._outcome = outcome  # pyright: ignore[reportPrivateUsage]
        handle._state = TaskState.SETTLED  # pyright: ignore[reportPrivateUsage]
        del self._tasks[handle.id]
        if state is TaskState.RUNNING:
            self._running -= 1
        elif state is TaskState.QUEUED:
            self._time_bombs.discard(handle)
            self._wake_timer_if_idle()

        self._outcomes[outcome] += 1
        if self._store_link is not None:
            self._store_link.note_outcome(handle.id, outcome)
        if self._room:  # A fill is waiting for room.
            self._room.unpark()
        if self._config.verbose:
            logger.info("task %r %s", handle.id, outcome.value)
        return True

    async def _call_hook(self, hook_name: str, handle: TaskHandle, hook: Any) -> None:
        # The caller has counted this hook in _hooks_running, before any checkpoint,
        # so that the bucket never looks idle between a claim and its hook.
        try:
            succeeded = await call_hook(
                hook, hook_name=hook_name, task_id=handle.id, seconds=self._config.hook_timeout
            )
        finally:
            self._after_hook(handle)

        if not succeeded:
            self._hook_errors += 1

    def _after_hook(self, handle: TaskHandle) -> None:
        self._hooks_running -= 1
        handle._mark_done()  # pyright: ignore[reportPrivateUsage]
        self._wake_if_idle()

    # Drain and rescue

    def drain(self, task_id: str) -> TaskRecord:
        """Cancel the live task with this id, whether it is waiting or running.

        No outcome hook runs: the task's outcome is :attr:`Outcome.DRAINED` and its
        id can be filled again at once. A running ``on_execute`` is cancelled at its
        next checkpoint.

        Returns:
            The drained task's record.

        Raises:
            TaskNotFoundError: if no live task has this id, including a task that
                has already reached its outcome.
        """
        handle = self._tasks.get(task_id)
        if handle is None:
            raise TaskNotFoundError(
                f"no live task has id {task_id!r}: it was never filled, "
                "or it has already reached its outcome"
            )
        return self._drain_handle(handle)

    def _drain_handle(self, handle: TaskHandle) -> TaskRecord:
        scope = handle._scope  # pyright: ignore[reportPrivateUsage]
        if not self._claim(handle, Outcome.DRAINED):
            raise TaskNotFoundError(
                f"task {handle.id!r} is no longer live: it has already reached its outcome"
            )
        if scope is not None:
            scope.cancel()
        handle._mark_done()  # pyright: ignore[reportPrivateUsage]
        self._wake_if_idle()
        return handle.record

    async def rescue(self) -> list[TaskRecord]:
        """Cancel every live task and run ``on_panic`` for each.

        Returns when every ``on_panic`` hook has returned (or hit the hook timeout);
        it does not wait for a task that shields itself from cancellation to stop.
        If the caller is cancelled meanwhile, the cancellation propagates as usual
        and the hooks still run to the end in the bucket's nursery.

        Returns:
            The records of the rescued tasks, in fill order.
        """
        handles = self._take_all_for_rescue()
        if not handles:
            await trio.lowlevel.checkpoint()
            return []
        records = [handle.record for handle in handles]
        if self._store_link is not None:
            try:
                await self._store_link.save_rescued(records)
            except Exception:
                # The hooks still run: on_panic is the executor's own chance to keep the work.
                logger.exception("saving %d rescued tasks to the store failed", len(records))

        remaining = len(handles)
        all_done = trio.Event()

        async def run_panic_hook(handle: TaskHandle) -> None:
            nonlocal remaining
            record = handle.record
            try:
                await self._call_hook("on_panic", handle, lambda: self._executor.on_panic(record))
            finally:
                remaining -= 1
                if remaining == 0:
                    all_done.set()

        for handle in handles:
            self._nursery.start_soon(run_panic_hook, handle, name=handle.id)
        await all_done.wait()
        return records

    def _take_all_for_rescue(self) -> list[TaskHandle]:
        handles = list(self._tasks.values())
        self._time_bombs.clear()  # Cheaper than removing each queued time bomb from the heap.
        for handle in handles:
            scope = handle._scope  # pyright: ignore[reportPrivateUsage]
            self._claim(handle, Outcome.RESCUED)
            if scope is not None:
                scope.cancel()
        self._hooks_running += len(handles)
        return handles

    # Closing

    def _busy(self) -> bool:
        return bool(self._tasks) or self._hooks_running > 0

    def _wake_if_idle(self) -> None:
        if not self._busy():
            self._idle.unpark_all()

    async def _wait_until_idle(self) -> None:
        while self._busy():
            await self._idle.park()
        if self._store_link is not None:
            await self._store_link.flush()

    def _close(self, reason: str) -> None:
        if not self._closed:
            self._closed = True
            self._closed_reason = reason
            self._room.unpark_all()
            if self._timer_scope is not None:
                self._timer_scope.cancel()
