"""The runner's output: events on standard output, messages and progress on standard error."""

from __future__ import annotations

import json
import logging
from typing import TextIO

import trio

from .._records import Outcome
from ._command import CommandFailedError

PROGRAM = "trio-bucket"

# Moves the cursor to the start of the line and clears the line.
_CLEAR_LINE = "\r\x1b[K"


class Console:
    """The runner's output.

    Standard output gets one JSON event per line for each outcome. Standard error
    gets messages, one per line, and, when it is a terminal, a progress line that
    each message first clears.
    """

    def __init__(
        self,
        events: TextIO,
        messages: TextIO,
        *,
        progress: bool,
    ) -> None:
        self._events = events
        self._messages = messages
        self._started_at = 0.0
        self._progress = progress
        self._progress_text = ""
        self._events_closed = False
        self.counts = dict.fromkeys(Outcome, 0)

    def outcome(self, task_id: str, outcome: Outcome, error: BaseException | None = None) -> None:
        """Count *outcome* and write its event: ``id``, ``outcome``, ``at`` and ``error``."""
        self.counts[outcome] += 1
        event: dict[str, object] = {
            "id": task_id,
            "outcome": outcome.value,
            "at": round(trio.current_time() - self._started_at, 3),
        }
        if error is not None:
            event["error"] = describe_error(error)
        self._write_event(json.dumps(event))

    @property
    def shows_progress(self) -> bool:
        """bool: Whether a progress line is drawn, because standard error is a terminal."""
        return self._progress

    def start_clock(self) -> None:
        """Count the ``at`` of later events from now, on the Trio clock."""
        self._started_at = trio.current_time()

    def counts_text(self) -> str:
        """Return the outcome counts, like ``3 finished, 1 failed, ...``."""
        return ", ".join(f"{number} {outcome.value}" for outcome, number in self.counts.items())

    def message(self, text: str) -> None:
        """Write one message line to standard error, prefixed with the program name."""
        self._clear_progress()
        self._messages.write(f"{PROGRAM}: {text}\n")
        self._messages.flush()
        self._redraw_progress()

    def show_progress(self, text: str) -> None:
        """Replace the progress line with *text*, if standard error is a terminal."""
        if self._progress:
            self._progress_text = text
            self._messages.write(_CLEAR_LINE + text)
            self._messages.flush()

    def clear_progress(self) -> None:
        """Remove the progress line for good."""
        self._clear_progress()
        self._progress_text = ""

    def _clear_progress(self) -> None:
        if self._progress and self._progress_text:
            self._messages.write(_CLEAR_LINE)

    def _redraw_progress(self) -> None:
        if self._progress and self._progress_text:
            self._messages.write(self._progress_text)
            self._messages.flush()

    def _write_event(self, line: str) -> None:
        # NOTE: the write blocks, so a reader of standard output that stops reading
        # stalls the whole run, lifespans included, until it reads again.
        if self._events_closed:
            return

        try:
            self._events.write(line + "\n")
            self._events.flush()
        except BrokenPipeError:
            self._events_closed = True
            self.message("standard output was closed, so no more events are written")


def describe_error(error: BaseException) -> str:
    """Return the ``error`` text of a failed task's event."""
    if isinstance(error, CommandFailedError):
        return str(error)
    return f"{type(error).__name__}: {error}"


class ConsoleLogHandler(logging.Handler):
    """Writes the ``trio_bucket`` logger's records as console messages."""

    def __init__(self, console: Console) -> None:
        super().__init__(logging.INFO)
        self._console = console

    def emit(self, record: logging.LogRecord) -> None:
        """Write *record*, with its traceback if it has one, as one message."""
        try:
            self._console.message(self.format(record))
        except Exception:
            self.handleError(record)
