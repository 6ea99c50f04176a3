"""Generation: one streamed reply from a backend, for a prompt and params.

It knows nothing of conversations: a chat turn, a title, or one column of the compare
screen are all generations. Several may run at once; a backend decides how (remote ones
concurrently, a local model one after another on its thread).

    generation = Generation(backend, messages, params).start()
    async for text in generation:      # every reader sees the whole text from the start
        ...
    generation.text, generation.usage, generation.finish_reason, generation.error
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable

from chatapp.core.backends.base import (
    Backend,
    BackendError,
    ChatMessage,
    Chunk,
    GenerationParams,
    StreamDropped,
    Usage,
)
from chatapp.core.models import FinishReason

log = logging.getLogger(__name__)

DoneCallback = Callable[["Generation"], None]


class Generation:
    """One streamed reply. Start it (iterating starts it too), read its text as it comes,
    then read the outcome. ``stop()`` ends it early and keeps the text; a failure ends it
    with ``error`` set and is raised at the end of each iteration."""

    def __init__(
        self, backend: Backend, messages: list[ChatMessage], params: GenerationParams
    ) -> None:
        self.backend = backend
        self.messages = messages
        self.params = params
        self.parts: list[str] = []
        self.usage: Usage | None = None
        self.finish_reason: FinishReason | None = None
        self.error: BackendError | None = None
        # perf_counter() when it started and when the first text arrived.
        self.started_at: float | None = None
        self.first_text_at: float | None = None
        self._crash: Exception | None = None
        self._stop_requested = False
        self._running = False
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._callbacks: list[DoneCallback] = []

    @property
    def text(self) -> str:
        return "".join(self.parts)

    @property
    def done(self) -> bool:
        return self.finish_reason is not None

    @property
    def tokens_per_second(self) -> float | None:
        return self.usage.tokens_per_second if self.usage else None

    def start(self) -> Generation:
        """Start streaming now (idempotent)."""
        if self._task is None:
            self.started_at = time.perf_counter()
            self._task = asyncio.create_task(self._run(), name=f"generation-{self.backend.name}")
        return self

    def stop(self) -> None:
        """End it early, keeping the text so far (finish reason: cancelled). A generation
        stopped before it started never reaches the backend."""
        if self.done:
            return  # ended: its clean-up must not be cut short
        self._stop_requested = True
        # A task cancelled before its first step would never run its body, and readers
        # would wait for an end that never comes: one not running yet sees the flag.
        if self._running and self._task is not None and not self._task.done():
            self._task.cancel()

    def on_done(self, callback: DoneCallback) -> None:
        """Call back once it has ended (at once if it has)."""
        if self.done:
            _call(callback, self)
        else:
            self._callbacks.append(callback)

    async def ended(self) -> None:
        """Wait until it has ended, without reading it."""
        while not self.done:
            await self._next_change()

    async def first_text(self) -> None:
        """Wait until some text has arrived or it has ended."""
        while not self.parts and not self.done:
            await self._next_change()

    async def wait(self) -> str:
        """Read it to the end and return the text (raises its error, as iterating does)."""
        async for _ in self:
            pass
        return self.text

    def __aiter__(self) -> AsyncIterator[str]:
        return self._read()

    async def _read(self) -> AsyncIterator[str]:
        self.start()
        index = 0
        try:
            while True:
                while index < len(self.parts):
                    index += 1
                    yield self.parts[index - 1]
                if self.done:
                    break
                await self._next_change()
        except asyncio.CancelledError:
            # The reader was cancelled (Ctrl-C, a closed screen): stop generating and let
            # it end properly before the cancellation goes on.
            self.stop()
            if self._task is not None:
                await asyncio.shield(self._task)
            raise
        if self._crash is not None:
            raise self._crash
        if self.error is not None:
            raise self.error

    async def _next_change(self) -> None:
        await self._changed.wait()

    def _notify(self) -> None:
        # Waiters hold the old event, which is set; later waiters get a fresh one.
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _run(self) -> None:
        self._running = True
        if self._stop_requested:
            self._end(FinishReason.CANCELLED)
            return
        stream: AsyncGenerator[Chunk, None] | None = None
        reason: FinishReason | None = None
        try:
            stream = self.backend.stream(self.messages, self.params)
            async for chunk in stream:
                if chunk.text:
                    if self.first_text_at is None:
                        self.first_text_at = time.perf_counter()
                    self.parts.append(chunk.text)
                    self._notify()
                if chunk.usage is not None:
                    self.usage = chunk.usage
                if chunk.finish_reason:
                    reason = finish_reason(chunk.finish_reason)
            self._end(reason or FinishReason.STOP)
        except asyncio.CancelledError:
            self._end(FinishReason.CANCELLED)
        except StreamDropped as error:
            if error.partial and not self.parts:
                self.parts.append(error.partial)
            self._fail(error)
        except BackendError as error:
            self._fail(error)
        except Exception as error:
            # Not a failure of the model but a bug: readers still hear that it ended,
            # and get the exception.
            self._crash = error
            self._end(FinishReason.ERROR)
        finally:
            if stream is not None:
                await stream.aclose()

    def _fail(self, error: BackendError) -> None:
        self.error = error
        self._end(FinishReason.ERROR)

    def _end(self, reason: FinishReason) -> None:
        self.finish_reason = reason
        self._notify()
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            _call(callback, self)


def finish_reason(value: str) -> FinishReason:
    try:
        return FinishReason(value)
    except ValueError:
        # Servers have more reasons ("eos", "content_filter"…); all of them mean it ended.
        return FinishReason.STOP


def _call(callback: DoneCallback, generation: Generation) -> None:
    try:
        callback(generation)
    except Exception:
        log.exception("an on_done callback of a generation failed")
