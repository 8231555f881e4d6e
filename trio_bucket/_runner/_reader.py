"""Reading job lines as they arrive, from a file or a pipe that may stay open."""

from __future__ import annotations

import os
from collections import deque

import trio

#: Bytes asked of each read.
_CHUNK_BYTES = 64 * 1024


class LineReader:
    """Numbered lines from a file descriptor, each returned as soon as it is complete.

    Each read runs in a worker thread, so a pipe that stays open never blocks the
    event loop. A cancelled read abandons its thread, which exits with the process.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buffer = bytearray()
        self._lines: deque[bytes] = deque()
        self._line_number = 0
        self._at_end = False

    async def next_line(self) -> tuple[int, bytes] | None:
        """Return the next line's number (from 1) and text without its line break.

        Returns:
            None once the input has ended. A last line without a line break is
            still returned.
        """
        while not self._lines:
            if self._at_end:
                return None
            await self._read_more()

        self._line_number += 1
        return self._line_number, self._lines.popleft()

    async def _read_more(self) -> None:
        chunk = await trio.to_thread.run_sync(
            os.read, self._fd, _CHUNK_BYTES, abandon_on_cancel=True
        )
        if not chunk:
            self._at_end = True
            if self._buffer:
                self._lines.append(bytes(self._buffer.removesuffix(b"\r")))
                self._buffer.clear()
            return

        self._buffer += chunk
        *complete, rest = self._buffer.split(b"\n")
        self._lines.extend(bytes(line.removesuffix(b"\r")) for line in complete)
        self._buffer = bytearray(rest)
