"""The stream painter without a screen: every piece arrives once, in order, batched per
frame, and text waits while the user types."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from chatapp.core.errors import BackendError
from chatapp.ui import streaming
from chatapp.ui.streaming import StreamPainter


class Target:
    def __init__(self) -> None:
        self.writes: list[tuple[float, str]] = []

    async def write(self, text: str) -> None:
        self.writes.append((time.monotonic(), text))

    @property
    def text(self) -> str:
        return "".join(text for _, text in self.writes)


async def pieces(count: int, delay: float = 0.0, fail: bool = False) -> AsyncIterator[str]:
    for number in range(count):
        yield f"p{number} "
        await asyncio.sleep(delay)
    if fail:
        raise BackendError("the reply stopped midway and is incomplete")


async def test_every_piece_arrives_once_in_order_a_few_writes_not_one_a_piece() -> None:
    target = Target()
    painter = StreamPainter(pieces(200, delay=0.002))
    await painter.paint(target)
    assert target.text == "".join(f"p{n} " for n in range(200))
    assert painter.pieces == 200 and painter.rate is not None
    assert 1 < len(target.writes) < 50  # one a frame, not one a piece


async def test_a_failure_of_the_stream_is_kept_and_the_text_before_it_painted() -> None:
    target = Target()
    painter = StreamPainter(pieces(3, fail=True))
    await painter.paint(target)
    assert target.text == "p0 p1 p2 "
    assert isinstance(painter.error, BackendError)


async def test_text_waits_while_the_user_types_but_not_forever(monkeypatch) -> None:
    monkeypatch.setattr(streaming, "MAX_DEFER", 0.3)
    target = Target()
    started = time.monotonic()
    # Someone types non-stop: text is held back, then painted after MAX_DEFER anyway.
    painter = StreamPainter(pieces(40, delay=0.02), last_key_at=time.monotonic)
    await painter.paint(target)
    assert target.text == "".join(f"p{n} " for n in range(40))
    first_write = target.writes[0][0] - started
    assert first_write >= 0.3 - streaming.FRAME


async def test_first_text_returns_at_the_first_piece_or_at_the_timeout() -> None:
    gate = asyncio.Event()

    async def held(first: str | None) -> AsyncIterator[str]:
        if first is not None:
            yield first
        await gate.wait()
        yield "rest"

    talking, silent = StreamPainter(held("first")), StreamPainter(held(None))
    await asyncio.wait_for(talking.first_text(10), 1)  # at the first piece, not the timeout
    started = time.monotonic()
    await silent.first_text(0.1)
    assert 0.1 <= time.monotonic() - started < 1
    gate.set()
    for painter, text in ((talking, "firstrest"), (silent, "rest")):
        target = Target()
        await painter.paint(target)
        assert target.text == text  # nothing read while waiting is lost
