"""From the bytes of a streamed reply to its text: the framer cuts the bytes into frames
(SSE events, NDJSON lines), the reply reader makes sense of each frame.

Both are plain objects fed one read at a time, so however the network cuts the stream,
the same frames and the same text come out; no httpx here, so tests can feed recorded
streams straight in.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from chatapp.core.backends.base import Chunk
    from chatapp.core.backends.exchange import ReplyProgress, ServerRef

FrameT = TypeVar("FrameT")
FrameT_contra = TypeVar("FrameT_contra", contravariant=True)


class Framer(Protocol[FrameT]):
    """Cuts a byte stream into frames, whatever the reads' boundaries."""

    def feed(self, data: bytes) -> list[FrameT]:
        """Frames completed by this read, in order."""
        ...

    def finish(self) -> list[FrameT]:
        """Frames left when the stream ends without a final separator."""
        ...


class ReplyReader(Protocol[FrameT_contra]):
    """Reads the frames of one reply: text, and what the server says besides."""

    @property
    def done(self) -> bool:
        """The server said the reply is over; later frames are ignored."""
        ...

    def read(self, frame: FrameT_contra, ref: ServerRef, progress: ReplyProgress) -> list[str]:
        """The text pieces one frame carries; raises the BackendError the frame reports."""
        ...

    def final_chunk(self, progress: ReplyProgress) -> Chunk:
        """The last chunk (finish_reason and usage), or StreamDropped if the reply is cut."""
        ...


class ReplyDecoder(Generic[FrameT]):
    """Bytes in, text pieces out: one framer and one reply reader, for one reply."""

    def __init__(
        self,
        framer: Framer[FrameT],
        reply: ReplyReader[FrameT],
        ref: ServerRef,
        progress: ReplyProgress,
    ) -> None:
        self._framer = framer
        self._reply = reply
        self._ref = ref
        self._progress = progress

    @property
    def done(self) -> bool:
        return self._reply.done

    def feed(self, data: bytes) -> Iterator[str]:
        """The text of the frames this read completes."""
        yield from self._read(self._framer.feed(data))

    def finish(self) -> Iterator[str]:
        """What the end of the stream completes (a last frame without its separator)."""
        yield from self._read(self._framer.finish())

    def final_chunk(self) -> Chunk:
        return self._reply.final_chunk(self._progress)

    def _read(self, frames: list[FrameT]) -> Iterator[str]:
        # A generator: text before a frame that fails reaches the consumer before the
        # error does, even when both came in one read.
        for frame in frames:
            for text in self._reply.read(frame, self._ref, self._progress):
                self._progress.add(text)
                yield text


class NDJSONLines:
    """Splits a byte stream into complete lines, however the reads cut it."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, data: bytes) -> list[bytes]:
        *lines, self._pending = (self._pending + data).split(b"\n")
        return [line for line in lines if line.strip()]

    def finish(self) -> list[bytes]:
        """The last line, when the stream ended without a newline after it."""
        line, self._pending = self._pending, b""
        return [line] if line.strip() else []
