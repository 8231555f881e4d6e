"""SharedBucket: one bucket name shared by many processes through Redis Streams.

Theory of operation
-------------------

Each process runs a local bucket (:func:`open_bucket`) and a consumer named
after the process. Redis contains what the processes share, under the bucket name:

* ``live``, a hash from each live task id to a fill token, a fresh random value
  per fill. A task is live in the shared bucket exactly while its id maps to its
  token: fill adds it (so ids are unique across processes), drain and the end of
  the outcome remove it.
* ``held``, a stream of tasks that went straight into a process's own bucket.
  The fill script appends the entry and reads it into that process's pending
  list in one step.
* ``queue``, a stream of tasks filled while the filling process had no room.
  Every process reads it with XREADGROUP whenever its bucket has room.
* ``control``, a stream of drain requests that every process reads.

An entry stays in its consumer's pending list until the task's outcome hook has
returned; only then is it acknowledged (XACK) and deleted. Each process resets
the idle time of the entries it owns every ``heartbeat_interval`` seconds, and
takes over, with XAUTOCLAIM, entries idle for ``claim_idle`` seconds: those of a
process that died, or stalled that long. A task therefore runs at least once,
and twice only when its process died or stalled before acknowledging it.

A process owns a task from the moment its entry is in its pending list. The
task is then CHECKING (the TAKE script checks that the token is still live),
WAITING (for room in the local bucket) or LOCAL. Before an outcome hook runs,
RESERVE marks the registry value as settling, so a drain that comes later finds
no live task and the hook runs at most once per fill, whichever process ran it.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, final

import attrs
import coredis
import trio
from coredis.exceptions import ConnectionError as RedisConnectionError

from .._bucket import Bucket
from .._config import BucketConfig, check_task_id_and_kind, check_task_times
from .._errors import BucketClosedError, DuplicateTaskError, TaskNotFoundError
from .._executor import ExecutorProtocol
from .._hooks import call_hook
from .._records import BucketStatistics, TaskKind, TaskRecord
from .._stores._base import check_json_data
from .._stores._redis import connect_redis, run_script
from . import _scripts
from ._entry import OwnedTask, TaskEntry, Where, times_left
from ._settings import Settings, milliseconds

logger = logging.getLogger("trio_bucket")

#: Control entries kept in Redis; a process that falls further behind than this
#: finds its drains through the periodic registry check instead.
CONTROL_MAX_LENGTH = 10_000


@attrs.frozen(kw_only=True)
class SharedStatistics:
    """A snapshot of one process's part of a shared bucket.

    Attributes:
        local: The counters of this process's local bucket.
        filled_local: Tasks filled here that went straight into the local bucket.
        filled_queued: Tasks filled here that went onto the queue stream.
        taken: Entries this process took from the queue with XREADGROUP.
        claimed: Entries this process took over from idle consumers with XAUTOCLAIM.
        requeued: Tasks this process handed back to the queue: by rescue, at
            shutdown, or because its bucket filled up while it was reading.
        dropped: Entries acknowledged without running: drained, or settled by
            another process.
        taken_over: Local tasks cancelled because another process claimed their entry.
        expired: Taken tasks whose lifespan had run out before any process took them.

    .. versionadded:: 0.1
    """

    local: BucketStatistics
    filled_local: int
    filled_queued: int
    taken: int
    claimed: int
    requeued: int
    dropped: int
    taken_over: int
    expired: int


@final
class SharedBucket:
    """This process's view of a bucket shared by several processes, opened by
    :func:`open_shared_bucket`.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        client: coredis.Redis[str],
        keys: _scripts.SharedKeys,
        config: BucketConfig,
        settings: Settings,
    ) -> None:
        # Not public: a shared bucket lives exactly as long as its open_shared_bucket() block.
        self._client = client
        self._keys = keys
        self._config = config
        self._settings = settings
        self._scripts = _scripts.Scripts(client)
        self._bucket: Bucket | None = None
        self._services: trio.Nursery | None = None
        # Shutdown lets every Redis call finish instead of cancelling it, because
        # coredis leaks a half-made connection when cancelled while connecting.
        self._taking = True
        self._stopping = False
        self._naps: set[trio.CancelScope] = set()
        self._local: dict[str, OwnedTask] = {}
        self._rescuing: dict[str, OwnedTask] = {}
        self._handed: list[OwnedTask] = []  # Rescued by the local bucket, to requeue.
        self._owned: dict[str, OwnedTask] = {}  # by token, in every Where
        self._waiting: deque[OwnedTask] = deque()
        self._checking = 0
        self._room_changed = trio.Event()
        self._paused = False
        self._closed = False
        self._cursors = {keys.held: "0-0", keys.queue: "0-0"}
        self._control_seen = "0-0"
        self._counts = dict.fromkeys(
            ("filled_local", "filled_queued", "taken", "claimed", "requeued", "dropped",
             "taken_over", "expired"),
            0,
        )  # fmt: skip

    def __repr__(self) -> str:
        return (
            f"<SharedBucket name={self._keys.name!r} consumer={self._settings.consumer!r} "
            f"local={len(self._local)}>"
        )

    @property
    def name(self) -> str:
        """str: The shared bucket's name."""
        return self._keys.name

    @property
    def consumer(self) -> str:
        """str: This process's consumer name in the shared bucket's consumer group."""
        return self._settings.consumer

    def __contains__(self, task_id: object) -> bool:
        """Return whether *task_id* is live in this process's local bucket."""
        return task_id in self._local

    def statistics(self) -> SharedStatistics:
        """Return a snapshot of this process's counters."""
        return SharedStatistics(local=self._local_bucket().statistics(), **self._counts)

    async def live_count(self) -> int:
        """Return how many tasks are live in the shared bucket, across every process."""
        return await self._client.hlen(self._keys.live)

    # Filling

    async def fill(
        self,
        task_id: str,
        data: Any = None,
        *,
        kind: TaskKind = TaskKind.IMMEDIATE,
        run_after: float | None = None,
        lifespan: float | None = None,
    ) -> bool:
        """Add a task to the shared bucket: here if the local bucket has room, else queued.

        A queued task runs on whichever process has room first, this one included.
        Its run_after and lifespan count from this call on every process.

        Args:
            task_id: The task's id, unique among the live tasks of the shared bucket.
            data: A JSON-serialisable value, handed to every hook as
                :attr:`TaskRecord.data`.
            kind: :attr:`TaskKind.IMMEDIATE` or :attr:`TaskKind.TIME_BOMB`.
            run_after: Overrides the bucket's ``run_after`` for this time bomb.
            lifespan: Overrides the bucket's ``lifespan`` for this task.

        Returns:
            True if the task went into this process's local bucket, False if it
            went onto the queue stream.

        Raises:
            BucketClosedError: if the shared bucket's block has exited.
            DuplicateTaskError: if a task with this id is live on any process.
            TypeError: if *task_id* is not a str, *kind* is not a :class:`TaskKind`
                or *data* is not JSON-serialisable.
            ValueError: if *task_id* is empty or the times are invalid.
        """
        entry = self._new_entry(task_id, data, kind, run_after, lifespan)
        if self._closed:
            raise BucketClosedError(f"cannot fill task {task_id!r}: the shared bucket is closed")

        if self._room() <= 0 or self._paused:
            await self._fill_script(self._keys.queue, entry, deliver=False)
            self._counts["filled_queued"] += 1
            return False

        self._checking += 1  # Keeps the room until the task is in the local bucket.
        try:
            entry_id = await self._fill_script(self._keys.held, entry, deliver=True)
        finally:
            self._checking -= 1
        owned = OwnedTask(entry, self._keys.held, entry_id, Where.WAITING)
        self._owned[entry.token] = owned
        self._waiting.appendleft(owned)
        self._counts["filled_local"] += 1
        self._place_waiting()
        return True

    def _new_entry(
        self,
        task_id: str,
        data: Any,
        kind: TaskKind,
        run_after: float | None,
        lifespan: float | None,
    ) -> TaskEntry:
        check_task_id_and_kind(task_id, kind)
        check_json_data(task_id, data)
        task_run_after, task_lifespan = check_task_times(
            kind is TaskKind.IMMEDIATE,
            run_after,
            lifespan,
            default_run_after=self._config.run_after,
            default_lifespan=self._config.lifespan,
        )

        return TaskEntry(
            task_id=task_id,
            token=uuid.uuid4().hex,
            data=data,
            kind=kind,
            run_after=task_run_after,
            lifespan=task_lifespan,
            filled_wall=self._settings.wall_clock(),
        )

    async def _fill_script(self, stream: str, entry: TaskEntry, *, deliver: bool) -> str:
        arguments = [
            _scripts.GROUP,
            self._settings.consumer,
            "1" if deliver else "0",
            entry.task_id,
            entry.token,
            *entry.to_fields(),
        ]
        entry_id: str | None = await run_script(
            self._scripts.fill, [self._keys.live, stream], arguments
        )
        if entry_id is None:
            raise DuplicateTaskError(
                f"a live task of shared bucket {self.name!r} already has id {entry.task_id!r}; "
                "drain it first or use another id"
            )
        return entry_id

    # Room and placement in the local bucket

    def _local_bucket(self) -> Bucket:
        assert self._bucket is not None
        return self._bucket

    def _room(self) -> int:
        bucket = self._local_bucket()
        return bucket.max_tasks - len(bucket) - len(self._waiting) - self._checking

    def _signal_room(self) -> None:
        self._room_changed.set()
        self._room_changed = trio.Event()
        self._place_waiting()

    async def _wait_for_room(self) -> int:
        """Wait until the local bucket has room, and return it; return 0 once taking stops."""
        while self._paused or (room := self._room()) <= 0:
            if not self._taking:
                return 0
            await self._room_changed.wait()
        return room if self._taking else 0

    def _place_waiting(self) -> None:
        bucket = self._local_bucket()
        while self._waiting and not self._paused and len(bucket) < bucket.max_tasks:
            self._place(self._waiting.popleft())

    def _place(self, owned: OwnedTask) -> None:
        entry = owned.entry
        stale = self._local.get(entry.task_id)
        if stale is not None:
            # The registry gave the id to this newer fill, so the old copy was drained.
            self._drop(stale, acknowledge=True)

        elapsed = max(0.0, self._settings.wall_clock() - entry.filled_wall)
        run_after_left, lifespan_left = times_left(entry, elapsed)
        if lifespan_left <= 0:
            self._owned.pop(entry.token, None)
            self._counts["expired"] += 1
            self._spawn(self._settle_expired, owned, elapsed)
            return

        owned.where = Where.LOCAL
        owned.elapsed = elapsed
        self._local[entry.task_id] = owned
        bucket = self._local_bucket()
        if entry.kind is TaskKind.IMMEDIATE:
            bucket.fill_nowait(entry.task_id, entry.data, lifespan=lifespan_left)
        else:
            bucket.fill_nowait(
                entry.task_id,
                entry.data,
                kind=TaskKind.TIME_BOMB,
                run_after=run_after_left,
                lifespan=lifespan_left,
            )

    def _spawn(self, function: Callable[..., Awaitable[None]], *args: Any) -> None:
        assert self._services is not None
        self._services.start_soon(function, *args)

    # Taking from the streams

    async def _keep_running(
        self, step: Callable[[], Awaitable[None]], running: Callable[[], bool]
    ) -> None:
        """Run *step* while *running* returns True, riding out Redis connection failures."""
        while running():
            try:
                await step()
            except (RedisConnectionError, TimeoutError) as error:
                logger.warning(
                    "shared bucket %r: Redis failed (%r); retrying in %s seconds",
                    self.name,
                    error,
                    self._settings.heartbeat_interval,
                )
                await self._nap(self._settings.heartbeat_interval)

    async def _nap(self, seconds: float) -> None:
        """Sleep for *seconds*, or until the services stop."""
        with trio.CancelScope() as scope:
            if self._stopping:
                scope.cancel()
            self._naps.add(scope)
            try:
                await trio.sleep(seconds)
            finally:
                self._naps.discard(scope)

    async def _consume_once(self) -> None:
        room = await self._wait_for_room()
        if room <= 0:
            return
        reply = await self._client.xreadgroup(
            _scripts.GROUP,
            self._settings.consumer,
            {self._keys.queue: ">"},
            count=room,
            block=milliseconds(self._settings.read_block),
        )
        entries = reply.get(self._keys.queue, ()) if reply else ()
        if entries:
            self._counts["taken"] += len(entries)
            await self._take(self._keys.queue, entries)

    async def _take(self, stream: str, entries: Sequence[Any]) -> None:
        """Check that taken *entries* are still live, then queue them for the local bucket."""
        owned_tasks: list[OwnedTask] = []
        for item in entries:
            owned = self._parse_entry(stream, item.identifier, item.field_values)
            if owned is not None:
                owned_tasks.append(owned)
                self._owned[owned.entry.token] = owned
        if not owned_tasks:
            return

        arguments = [_scripts.GROUP]
        for owned in owned_tasks:
            arguments += [owned.entry_id, owned.entry.task_id, owned.entry.token]
        self._checking += len(owned_tasks)
        try:
            keep: list[int] = await run_script(
                self._scripts.take, [self._keys.live, stream], arguments
            )
        finally:
            self._checking -= len(owned_tasks)

        overflow: list[OwnedTask] = []
        for owned, kept in zip(owned_tasks, keep, strict=True):
            if not kept:  # TAKE has acknowledged it.
                self._drop(owned, acknowledge=False)
                self._counts["dropped"] += 1
            elif owned.drained:  # DRAIN ran after TAKE.
                self._drop(owned, acknowledge=True)
            elif self._room() > 0 and not self._paused:
                owned.where = Where.WAITING
                self._waiting.append(owned)
                self._place_waiting()
            else:
                overflow.append(owned)

        # A local fill took the room while the read was blocked: hand these back
        # at once, so that a process with room can take them.
        for owned in overflow:
            self._owned.pop(owned.entry.token, None)
            await self._requeue(owned)

    def _parse_entry(self, stream: str, entry_id: str, fields: Any) -> OwnedTask | None:
        try:
            entry = TaskEntry.from_fields(fields)
        except ValueError:
            logger.exception("dropping entry %s of stream %r", entry_id, stream)
            self._spawn(self._acknowledge, stream, entry_id)
            return None
        return OwnedTask(entry, stream, entry_id, Where.CHECKING)

    async def _maintain_once(self) -> None:
        await self._nap(self._settings.heartbeat_interval)
        if self._stopping:
            return
        await self._heartbeat()
        await self._check_registry()
        if self._taking:
            await self._autoclaim()

    async def _heartbeat(self) -> None:
        for stream in (self._keys.held, self._keys.queue):
            owned = {task.entry_id: task for task in self._owned.values() if task.stream == stream}
            if not owned:
                continue
            arguments = [_scripts.GROUP, self._settings.consumer, *owned]
            lost: list[str] = await run_script(self._scripts.heartbeat, [stream], arguments)
            for entry_id in lost:
                task = owned[entry_id]
                if self._owned.get(task.entry.token) is task:
                    logger.warning(
                        "task %r was claimed by another process after %s idle seconds; "
                        "cancelling it here",
                        task.entry.task_id,
                        self._settings.claim_idle,
                    )
                    self._counts["taken_over"] += 1
                    self._drop(task, acknowledge=False)

    async def _check_registry(self) -> None:
        # Backs up the control stream: a drain whose message was missed shows here.
        tasks = list(self._owned.values())
        if not tasks:
            return
        values = await self._client.hmget(self._keys.live, [task.entry.task_id for task in tasks])
        for task, value in zip(tasks, values, strict=True):
            if value != task.entry.token and self._owned.get(task.entry.token) is task:
                self._drop(task, acknowledge=True)

    async def _autoclaim(self) -> None:
        idle = milliseconds(self._settings.claim_idle)
        for stream in (self._keys.held, self._keys.queue):
            room = self._room()
            if room <= 0 or self._paused:
                return
            reply = await self._client.xautoclaim(
                stream,
                _scripts.GROUP,
                self._settings.consumer,
                idle,
                self._cursors[stream],
                count=room,
            )
            self._cursors[stream] = reply[0]
            entries = reply[1]
            if entries:
                self._counts["claimed"] += len(entries)
                logger.warning(
                    "took over %d idle entries of stream %r: their process died or stalled "
                    "for %s seconds",
                    len(entries),
                    stream,
                    self._settings.claim_idle,
                )
                await self._take(stream, entries)

    # Drain

    async def drain(self, task_id: str) -> None:
        """Drain the live task with this id, wherever it is.

        A task in this process's local bucket is cancelled before this returns. A
        task on the queue is acknowledged and skipped by whichever process takes
        it. A task on another process is cancelled there as soon as that process
        reads the drain from the control stream, or at its next heartbeat if it
        missed the message. No outcome hook runs for a drained task.

        Raises:
            TaskNotFoundError: if no task with this id is live in the shared bucket,
                including one whose outcome hook has already started.
        """
        token: str | None = await run_script(
            self._scripts.drain,
            [self._keys.live, self._keys.control],
            [task_id, str(CONTROL_MAX_LENGTH)],
        )
        if token is None:
            raise TaskNotFoundError(
                f"no live task of shared bucket {self.name!r} has id {task_id!r}: it was "
                "never filled, or it has already reached its outcome"
            )
        self._drop_token(token)

    def _drop_token(self, token: str) -> None:
        task = self._owned.get(token)
        if task is None:
            return
        if task.where is Where.CHECKING:
            task.drained = True
        else:
            self._drop(task, acknowledge=True)

    async def _start_control(self) -> None:
        newest = await self._client.xrevrange(self._keys.control, count=1)
        self._control_seen = str(newest[0].identifier) if newest else "0-0"

    async def _read_control_once(self) -> None:
        reply = await self._client.xread(
            {self._keys.control: self._control_seen},
            block=milliseconds(self._settings.read_block),
        )
        for item in reply.get(self._keys.control, ()) if reply else ():
            self._control_seen = str(item.identifier)
            token = item.field_values.get("token")
            if token is not None:
                self._drop_token(str(token))

    def _drop(self, task: OwnedTask, *, acknowledge: bool) -> None:
        """Forget *task* here without an outcome hook, acknowledging its entry if asked."""
        self._owned.pop(task.entry.token, None)
        if task.where is Where.WAITING:
            self._waiting.remove(task)
        elif task.where is Where.LOCAL and self._local.get(task.entry.task_id) is task:
            del self._local[task.entry.task_id]
            try:
                self._local_bucket().drain(task.entry.task_id)
            except TaskNotFoundError:
                pass  # Its outcome is claimed, so its hook's RESERVE will fail.
        if acknowledge:
            self._counts["dropped"] += 1
            self._spawn(self._acknowledge, task.stream, task.entry_id)
        self._signal_room()

    async def _acknowledge(self, stream: str, entry_id: str) -> None:
        await run_script(self._scripts.ack, [stream], [_scripts.GROUP, entry_id])

    # Outcomes: called by _SharedExecutor

    def _claim_local(self, record: TaskRecord) -> OwnedTask | None:
        task = self._rescuing.pop(record.id, None)
        if task is None:
            task = self._local.pop(record.id, None)
        if task is not None:
            self._owned.pop(task.entry.token, None)
            self._signal_room()
        return task

    async def _run_outcome(
        self, task: OwnedTask, record: TaskRecord, hook: Callable[[TaskRecord], Awaitable[None]]
    ) -> None:
        reserved: int = await run_script(
            self._scripts.reserve,
            [self._keys.live],
            [task.entry.task_id, task.entry.token, self._settings.consumer],
        )
        if not reserved:
            self._counts["dropped"] += 1
            await self._acknowledge(task.stream, task.entry_id)
            return
        try:
            await hook(record)
        finally:
            with trio.CancelScope(shield=True) as scope:
                scope.deadline = trio.current_time() + self._settings.claim_idle
                await run_script(
                    self._scripts.settle,
                    [self._keys.live, task.stream],
                    [_scripts.GROUP, task.entry_id, task.entry.task_id, task.entry.token],
                )

    async def _settle_expired(self, task: OwnedTask, elapsed: float) -> None:
        record = task.expired_record(trio.current_time(), elapsed)
        executor = self._executor

        async def exhausted(shared_record: TaskRecord) -> None:
            await executor.on_exhausted(shared_record)

        await call_hook(
            lambda: self._run_outcome(task, record, exhausted),
            hook_name="on_exhausted",
            task_id=record.id,
            seconds=self._config.hook_timeout,
        )

    async def _requeue(self, task: OwnedTask, scripts: _scripts.Scripts | None = None) -> None:
        arguments = [
            _scripts.GROUP,
            task.entry_id,
            task.entry.task_id,
            task.entry.token,
            *task.entry.to_fields(),
        ]
        requeue = (scripts or self._scripts).requeue
        moved: str | None = await run_script(
            requeue, [self._keys.live, task.stream, self._keys.queue], arguments
        )
        if moved is not None:
            self._counts["requeued"] += 1

    # Rescue and closing

    async def rescue(self) -> list[TaskRecord]:
        """Hand every task this process owns back to the queue stream.

        Tasks in the local bucket are cancelled and requeued, and so are tasks
        taken but not yet started; other processes (this one included, once
        rescue returns) take them from the queue. Their times keep counting from
        the original fill. The executor's ``on_panic`` does not run, because
        the tasks are not lost. If Redis cannot be reached, an entry stays in
        this process's pending list and another process claims it after
        ``claim_idle`` seconds.

        Returns:
            The records of the local bucket's rescued tasks, in fill order.
        """
        self._paused = True
        try:
            owned_by_id = dict(self._local)
            rescued = await self._rescue_local()
            await self._requeue_all(self._scripts)
        finally:
            self._paused = False
            self._signal_room()
        return [owned_by_id[record.id].shared_record(record) for record in rescued]

    async def _rescue_local(self) -> list[TaskRecord]:
        """Cancel every task of the local bucket; on_panic moves each to _handed."""
        self._rescuing.update(self._local)
        self._local.clear()
        return await self._local_bucket().rescue()

    async def _requeue_all(self, scripts: _scripts.Scripts) -> None:
        """Requeue the rescued tasks, then those taken but not yet started."""
        while self._handed:
            await self._requeue(self._handed.pop(0), scripts)
        await self._requeue_waiting(scripts)

    async def _requeue_waiting(self, scripts: _scripts.Scripts | None = None) -> None:
        while self._waiting:
            task = self._waiting.popleft()
            self._owned.pop(task.entry.token, None)
            await self._requeue(task, scripts)

    async def _hand_back_all(self, redis_url: str) -> None:
        """Hand every owned task back to the queue as the block exits with an exception.

        The exception may be a cancellation from outside, which also cancels the
        tasks of the main client's connections, so this uses a new connection
        opened under a shield.
        """
        self._taking = False
        self._paused = True
        self._room_changed.set()
        with trio.CancelScope(shield=True) as scope:
            scope.deadline = trio.current_time() + self._settings.claim_idle
            await self._rescue_local()
            try:
                async with connect_redis(redis_url) as client:
                    await self._requeue_all(_scripts.Scripts(client))
            except Exception:
                left = len(self._handed) + len(self._waiting)
                logger.exception(
                    "shared bucket %r: could not hand %d tasks back to the queue; other "
                    "processes take them over after %s idle seconds",
                    self.name,
                    left,
                    self._settings.claim_idle,
                )

    async def _stop_taking(self) -> None:
        """Stop taking tasks from the streams and hand back those not yet started."""
        self._taking = False
        self._paused = True
        self._room_changed.set()
        with trio.CancelScope(shield=True) as scope:
            scope.deadline = trio.current_time() + self._settings.claim_idle
            await self._requeue_waiting()

    def _stop_services(self) -> None:
        """Let the service loops return once their current Redis call has returned."""
        self._taking = False
        self._stopping = True
        self._room_changed.set()
        for scope in self._naps:
            scope.cancel()

    @property
    def _executor(self) -> ExecutorProtocol:
        return self._user_executor

    def _attach(self, bucket: Bucket, services: trio.Nursery, executor: ExecutorProtocol) -> None:
        self._bucket = bucket
        self._services = services
        self._user_executor = executor

    async def _run_services(self) -> None:
        """Start the control reader, heartbeats and the consumer in the service nursery."""
        assert self._services is not None
        await self._start_control()
        self._services.start_soon(self._keep_running, self._read_control_once, self._running)
        self._services.start_soon(self._keep_running, self._maintain_once, self._running)
        self._services.start_soon(self._keep_running, self._consume_once, self._still_taking)

    def _running(self) -> bool:
        return not self._stopping

    def _still_taking(self) -> bool:
        return self._taking
