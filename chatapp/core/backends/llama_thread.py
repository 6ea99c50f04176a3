"""The long-lived thread that runs a model file's llama.cpp calls, and the channel that
hands one generation's text from that thread to the event loop."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from chatapp.core.backends.base import Chunk

# What a generation hands over: text, then its final Chunk or the error that ended it.
ChannelItem = str | Chunk | BaseException


class LlamaThread:
    """The one thread that runs every llama.cpp load and generation of a model file.

    llama.cpp's OpenMP build keeps a team of worker threads per calling thread, spinning
    for a while after each call. A new thread per reply leaves the previous team spinning
    on the same cores: measured here, 7 tok/s instead of 100. One long-lived thread keeps
    one team.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._jobs: queue.SimpleQueue[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]]
        self._jobs = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, function: Callable[..., Any], *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        if threading.current_thread() is self._thread:
            # Already on the llama thread (a load from inside a generation): run inline.
            self._call(future, function, args)
            return future
        self._jobs.put((future, function, args))
        with self._start_lock:
            if self._thread is None:
                # Daemon: a reply in progress must never keep the process alive at exit.
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
        return future

    def _run(self) -> None:
        while True:
            future, function, args = self._jobs.get()
            self._call(future, function, args)

    @staticmethod
    def _call(future: Future[Any], function: Callable[..., Any], args: tuple[Any, ...]) -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(function(*args))
        except BaseException as error:
            future.set_exception(error)


class ReplyChannel:
    """One generation's hand-off from its thread to the event loop.

    The thread schedules a wake-up only when it adds to an empty buffer, and the loop then
    takes everything that arrived meanwhile as one batch: an idle loop sees each token at
    once, a busy one (the UI rendering) gets fewer, larger batches instead of one
    callback per token slowing both sides down.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.cancelled = threading.Event()
        self.finished: asyncio.Future[None] = loop.create_future()
        self._lock = threading.Lock()
        self._buffer: list[ChannelItem] = []
        self._batches: asyncio.Queue[list[ChannelItem]] = asyncio.Queue()

    def put(self, item: ChannelItem) -> None:
        """Called from the generating thread."""
        with self._lock:
            self._buffer.append(item)
            wake = len(self._buffer) == 1
        if wake:
            self._call_soon(self._drain)

    def close(self) -> None:
        """Called from the generating thread, last."""
        self._call_soon(self._finish)

    async def get(self) -> list[ChannelItem]:
        return await self._batches.get()

    def _call_soon(self, callback: Callable[[], None]) -> None:
        try:
            self.loop.call_soon_threadsafe(callback)
        except RuntimeError:
            # The loop has closed: nobody will read the rest, so stop generating it.
            self.cancelled.set()

    def _drain(self) -> None:
        with self._lock:
            batch, self._buffer = self._buffer, []
        self._batches.put_nowait(batch)

    def _finish(self) -> None:
        if not self.finished.done():
            self.finished.set_result(None)
