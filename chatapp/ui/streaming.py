"""The stream painter: streamed text onto the screen at most once a frame, keys first.

Shared by everything that shows a reply as it is generated (the chat thread, and the
columns of the compare screen). A reader task takes text as fast as it comes; one writer
loop paints what has gathered, once a frame, and waits while the user types so a key's
echo is never drawn behind a layout.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterable, Callable
from typing import Protocol

from chatapp.core.errors import ChatappError

# Streamed text reaches the screen at most this often: each update lays the reply out
# again, so it is one update for several tokens, never one a token.
FRAME = 1 / 10
# Keys come first: streamed text waits while the user types (a key in the last TYPING_QUIET
# seconds), so the key's echo is not drawn behind a layout, but never longer than MAX_DEFER.
TYPING_QUIET = 0.05
MAX_DEFER = 0.5


class StreamTarget(Protocol):
    async def write(self, text: str) -> None: ...


class StreamPainter:
    """Start it as soon as the stream exists (text is read, not lost, while the target
    is being mounted), then paint() it into the target."""

    def __init__(
        self, source: AsyncIterable[str], last_key_at: Callable[[], float] = lambda: 0.0
    ) -> None:
        self.source = source
        self.last_key_at = last_key_at
        # The failure the stream ended with, if it was one the user can act on.
        self.error: ChatappError | None = None
        self.pieces = 0
        self._buffer: list[str] = []
        self._ended = asyncio.Event()
        # Set by the first text or the end.
        self._began = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self._started = 0.0
        self._seconds = 0.0

    def start(self) -> StreamPainter:
        if self._reader is None:
            self._started = time.perf_counter()
            self._reader = asyncio.create_task(self._read())
        return self

    @property
    def rate(self) -> float | None:
        """Pieces a second as they reached the screen: tokens/s when a backend reports none."""
        return self.pieces / self._seconds if self.pieces and self._seconds else None

    async def first_text(self, timeout: float) -> None:
        """Wait up to timeout for the first text or the end, whichever comes first."""
        self.start()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._began.wait()

    async def paint(self, target: StreamTarget) -> None:
        """Paint into target until the stream ends (a bug in the stream is raised here)."""
        reader = self.start()._reader
        assert reader is not None
        # This loop is the only writer, and a write is never cut short: a write cancelled
        # halfway (as a timer's callback is when the timer stops) can leave a Markdown
        # stream stopped with text still to come, and the reply never finishes.
        flushed = time.monotonic()
        try:
            while not self._ended.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(FRAME):
                        await self._ended.wait()
                moment = time.monotonic()
                typing = moment - self.last_key_at() < TYPING_QUIET
                if self._buffer and not (typing and moment - flushed < MAX_DEFER):
                    flushed = moment
                    await target.write(self._take())
            await reader
        finally:
            reader.cancel()
        if self._buffer:
            await target.write(self._take())

    def _take(self) -> str:
        text = "".join(self._buffer)
        self._buffer.clear()
        return text

    async def _read(self) -> None:
        try:
            async for piece in self.source:
                self._buffer.append(piece)
                self.pieces += 1
                self._began.set()
        except ChatappError as error:
            self.error = error
        finally:
            self._seconds = time.perf_counter() - self._started
            self._ended.set()
            self._began.set()
