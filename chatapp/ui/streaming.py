"""The stream painter: streamed text onto the screen a few times a second, keys first.

Shared by everything that shows a reply as it is generated (the chat thread, and the
columns of the compare screen). A reader task takes text as fast as it comes; one writer
loop puts what has gathered into the target, waits until the screen has drawn it, and
goes again a frame after the last one began: a screen slow to draw is painted less
often, and however fast tokens come, they never set the pace.
While the user types, text goes in right after a key's echo is drawn, so that the layout
it costs is drawn in the pause before the next key, not in front of a key."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from textual.app import ScreenStackError

from chatapp.core.errors import ChatappError

if TYPE_CHECKING:
    from textual.app import App

# Streamed text goes in at most this often: each update lays the reply out again (two
# frames of layout, as Textual settles new blocks, and every line on screen moves up), so
# it is one update for many tokens, never one a token.
FRAME = 1 / 5
# Keys come first: while someone types (a key in the last TYPING_PAUSE seconds), text
# that is due waits for their next key and goes in once its echo is drawn. KEY_POLL: how
# often the painter looks for that key.
TYPING_PAUSE = 0.3
KEY_POLL = 0.005
# A screen that is closing never draws again: waiting for it stops after this long.
DRAW_TIMEOUT = 1.0


class StreamTarget(Protocol):
    """A widget that shows streamed text (MessageView, a compare column's SampleBody)."""

    async def write(self, text: str) -> None:
        """Append text; return once it is in place (drawing follows)."""

    def call_after_refresh(self, callback: Callable[[], Any], /) -> bool:
        """Textual's: call back once the screen has drawn what is pending."""


async def drawn(target: StreamTarget) -> None:
    """Until the screen has drawn what is pending (or DRAW_TIMEOUT has passed)."""
    done = asyncio.Event()
    if target.call_after_refresh(done.set):
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(DRAW_TIMEOUT):
                await done.wait()


class HeldFrames:
    """No frame is drawn from now until release(), or until longest seconds have passed.

    A frame takes the event loop 4-13 ms, holding the GIL all along; right after Enter,
    the thread storing the question and then the model's thread each wait for the GIL
    behind it (measured, median Enter -> llama.cpp generating: 24.7 ms, 9.8 ms held).
    Held, everything that changed meanwhile is drawn in one frame after."""

    def __init__(self, app: App[Any], longest: float) -> None:
        self.app = app
        app._begin_batch()
        self._released = False
        # Released by this timer at the latest, even when the caller never gets to it.
        self._timer = app.set_timer(longest, self.release, name="held-frames")

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        self._timer.stop()
        self.app._end_batch()
        # The screen draws what changed when it next finds itself idle.
        with contextlib.suppress(ScreenStackError):  # none left: the app is closing
            self.app.screen.check_idle()


class StreamPainter:
    """Start it as soon as the stream exists (text is read, not lost, while the target
    is being mounted), then paint() it into the target."""

    def __init__(
        self, source: AsyncIterable[str], last_key_at: Callable[[], float] = lambda: 0.0
    ) -> None:
        """last_key_at() says when the user last pressed a key (time.monotonic())."""
        self.source = source
        self.last_key_at = last_key_at
        # The failure the stream ended with, if it was one the user can act on.
        self.error: ChatappError | None = None
        self.pieces = 0
        self._buffer: list[str] = []
        self._ended = asyncio.Event()
        # Set by the first text or the end.
        self._began = asyncio.Event()
        # Set by text not yet taken, or the end.
        self._more = asyncio.Event()
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
        # halfway can leave a Markdown widget with blocks half mounted.
        written = -math.inf  # when text last went in
        try:
            while not self._ended.is_set():
                await self._until(written + FRAME)
                await self._more.wait()
                await self._after_next_key(target)
                if self._ended.is_set():
                    break
                written = time.monotonic()
                await target.write(self._take())
                await drawn(target)
            await reader
        finally:
            reader.cancel()
        if self._buffer:
            await target.write(self._take())

    def _typing(self) -> bool:
        return time.monotonic() - self.last_key_at() < TYPING_PAUSE

    async def _until(self, moment: float) -> None:
        """Until moment (time.monotonic()) or the end of the stream."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, moment - time.monotonic())):
                await self._ended.wait()

    async def _after_next_key(self, target: StreamTarget) -> None:
        """Until the user's next key is drawn, or they pause (TYPING_PAUSE)."""
        seen = self.last_key_at()
        while self.last_key_at() == seen and self._typing() and not self._ended.is_set():
            await self._until(time.monotonic() + KEY_POLL)
        if self.last_key_at() != seen:
            await drawn(target)

    def _take(self) -> str:
        text = "".join(self._buffer)
        self._buffer.clear()
        self._more.clear()
        return text

    async def _read(self) -> None:
        try:
            async for piece in self.source:
                self._buffer.append(piece)
                self.pieces += 1
                self._more.set()
                self._began.set()
        except ChatappError as error:
            self.error = error
        finally:
            self._seconds = time.perf_counter() - self._started
            self._ended.set()
            self._began.set()
            self._more.set()
