"""Tests of an executor on Trio's mock clock, as they would sit in tests/test_reminders.py.

They run with pytest and pytest-trio (``trio_mode = true``), whose ``autojump_clock``
and ``mock_clock`` fixtures give each test a trio.testing.MockClock.
"""

import trio
import trio.testing

import trio_bucket
from trio_bucket import Outcome, TaskKind, TaskRecord


class FakeMailer:
    """Stands in for the real mail client: records what it sends, after a delay."""

    def __init__(self, delay: float = 0.5) -> None:
        self.delay = delay
        self.sent: list[tuple[float, str]] = []

    async def send(self, text: str) -> None:
        await trio.sleep(self.delay)
        self.sent.append((trio.current_time(), text))


class Reminders(trio_bucket.Executor):
    """The executor under test: sends each reminder, and notes those it gave up on."""

    def __init__(self, mailer: FakeMailer) -> None:
        self.mailer = mailer
        self.given_up: list[str] = []

    async def on_execute(self, task: TaskRecord) -> None:
        await self.mailer.send(task.data)

    async def on_exhausted(self, task: TaskRecord) -> None:
        self.given_up.append(task.id)


async def test_reminder_sent_after_run_after(autojump_clock: trio.testing.MockClock) -> None:
    mailer = FakeMailer(delay=0.5)
    async with trio_bucket.open_bucket(Reminders(mailer), run_after=60, lifespan=120) as bucket:
        handle = bucket.fill_nowait("standup", "Stand-up in 5 minutes", kind=TaskKind.TIME_BOMB)
        assert await handle.wait() is Outcome.FINISHED

    # The autojump clock skipped the minute at once, and the times are exact.
    assert mailer.sent == [(handle.record.filled_at + 60.5, "Stand-up in 5 minutes")]


async def test_slow_mailer_exhausts_reminder(autojump_clock: trio.testing.MockClock) -> None:
    reminders = Reminders(FakeMailer(delay=500))
    async with trio_bucket.open_bucket(reminders, run_after=60, lifespan=120) as bucket:
        handle = bucket.fill_nowait("standup", "Stand-up in 5 minutes", kind=TaskKind.TIME_BOMB)
        assert await handle.wait() is Outcome.EXHAUSTED
        assert trio.current_time() == handle.record.deadline

    assert reminders.given_up == ["standup"]


async def test_nothing_sent_before_run_after(mock_clock: trio.testing.MockClock) -> None:
    # mock_clock moves only when the test jumps it: check the state at chosen times.
    mailer = FakeMailer(delay=0.5)
    async with trio_bucket.open_bucket(Reminders(mailer), run_after=60, lifespan=120) as bucket:
        bucket.fill_nowait("standup", "Stand-up in 5 minutes", kind=TaskKind.TIME_BOMB)

        mock_clock.jump(59.9)
        await trio.testing.wait_all_tasks_blocked()
        assert bucket.statistics().running == 0

        mock_clock.jump(0.1)
        await trio.testing.wait_all_tasks_blocked()
        assert bucket.statistics().running == 1
        assert mailer.sent == []

        mock_clock.jump(0.5)

    assert [text for _, text in mailer.sent] == ["Stand-up in 5 minutes"]


async def test_on_execute_without_a_bucket(autojump_clock: trio.testing.MockClock) -> None:
    # A hook is a plain async method: call it with a record you build yourself.
    mailer = FakeMailer(delay=0.5)
    now = trio.current_time()
    record = TaskRecord("standup", "Stand-up now", TaskKind.IMMEDIATE, now, now, now + 5)

    await Reminders(mailer).on_execute(record)

    assert mailer.sent == [(now + 0.5, "Stand-up now")]
