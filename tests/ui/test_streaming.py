"""The stream painter without a screen: every piece arrives once, in order, batched per
frame, each paint drawn before the next, and while the user types, text goes in right
after a key."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from chatapp.core.errors import BackendError
from chatapp.ui import streaming
from chatapp.ui.streaming import StreamPainter


class Target:
    """Records each write; its screen draws draw_seconds after being asked to (never, if
    None)."""

    def __init__(self, draw_seconds: float | None = 0.0) -> None:
        self.writes: list[tuple[float, str]] = []
        self.draw_seconds = draw_seconds
        self.drawing = 0

    async def write(self, text: str) -> None:
        assert not self.drawing, "written while the last write was still being drawn"
        self.writes.append((time.monotonic(), text))

    def call_after_refresh(self, callback: Callable[[], Any]) -> bool:
        if self.draw_seconds is None:
            return True

        def drawn() -> None:
            self.drawing -= 1
            callback()

        self.drawing += 1
        asyncio.get_running_loop().call_later(self.draw_seconds, drawn)
        return True

    @property
    def text(self) -> str:
        return "".join(text for _, text in self.writes)


class Typist:
    """last_key_at for someone who presses a key every `every` seconds from now on."""

    def __init__(self, every: float) -> None:
        self.every = every
        self.started = time.monotonic()

    def __call__(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.started + elapsed // self.every * self.every


async def pieces(count: int, delay: float = 0.0, fail: bool = False) -> AsyncIterator[str]:
    for number in range(count):
        yield f"p{number} "
        await asyncio.sleep(delay)
    if fail:
        raise BackendError("the reply stopped midway and is incomplete")


def every_piece(count: int) -> str:
    return "".join(f"p{n} " for n in range(count))


async def test_every_piece_arrives_once_in_order_a_few_writes_not_one_a_piece() -> None:
    target = Target()
    painter = StreamPainter(pieces(200, delay=0.002))
    await painter.paint(target)
    assert target.text == every_piece(200)
    assert painter.pieces == 200 and painter.rate is not None
    assert 1 < len(target.writes) < 50  # one a frame, not one a piece


async def test_a_failure_of_the_stream_is_kept_and_the_text_before_it_painted() -> None:
    target = Target()
    painter = StreamPainter(pieces(3, fail=True))
    await painter.paint(target)
    assert target.text == "p0 p1 p2 "
    assert isinstance(painter.error, BackendError)


async def test_each_paint_is_drawn_before_the_next_however_slow_the_screen() -> None:
    target = Target(draw_seconds=0.15)
    await StreamPainter(pieces(60, delay=0.01)).paint(target)
    assert target.text == every_piece(60)
    times = [moment for moment, _ in target.writes]
    assert all(later - earlier >= 0.15 for earlier, later in itertools.pairwise(times))


async def test_a_screen_that_never_draws_does_not_stop_the_reply(monkeypatch) -> None:
    monkeypatch.setattr(streaming, "DRAW_TIMEOUT", 0.05)
    target = Target(draw_seconds=None)
    await asyncio.wait_for(StreamPainter(pieces(30, delay=0.01)).paint(target), 5)
    assert target.text == every_piece(30)


async def test_while_the_user_types_text_goes_in_right_after_a_key() -> None:
    typist = Typist(every=0.2)
    target = Target()
    await StreamPainter(pieces(80, delay=0.01), last_key_at=typist).paint(target)
    assert target.text == every_piece(80)
    assert len(target.writes) > 2
    # The last write, once the stream has ended, waits for nothing.
    for moment, _ in target.writes[:-1]:
        since_key = (moment - typist.started) % typist.every
        assert since_key < typist.every / 2, f"written {since_key:.3f} s after a key"


async def test_text_waits_for_a_key_no_longer_than_a_pause_in_typing(monkeypatch) -> None:
    monkeypatch.setattr(streaming, "TYPING_PAUSE", 0.2)
    typist = Typist(every=60)  # one key, now, then none
    target = Target()
    await StreamPainter(pieces(100, delay=0.01), last_key_at=typist).paint(target)
    assert target.text == every_piece(100)
    # Painted once the typing paused, long before the stream (a second) ended.
    first_write = target.writes[0][0] - typist.started
    assert 0.2 <= first_write < 0.5


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
