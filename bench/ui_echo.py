"""e. echo: key press → its character on screen while a long reply streams (<= 50 ms).

A key press → its character on screen in the prompt while a long reply streams, p95.

ChatApp runs headless in this process (Pilot); the scripted server streams the document
from a child process at a fast server's pace while a thread types, as a terminal driver's
input thread does. Baselines: the same typing while idle, and beside a bare
MarkdownStream fed at the same pace.

    python bench/ui_echo.py
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import statistics
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from ui_common import (
    CHUNKS,
    SIZE,
    Figure,
    arguments,
    chunks,
    document,
    ms,
    new_app,
    p95,
    prompt_input,
    remote_model,
    run_bench,
    scripted_reply,
    send,
    set_prompt,
    settings_for,
    settle,
    textual_default_fps,
    wait_for_reply,
)

from tests.fixtures.scripted import serve_in_child

TARGET_ECHO_P95_MS = 50.0
# The document streams at this pace (a fast server), while a key comes about this often.
ECHO_CHUNKS_PER_SECOND = 250
ECHO_KEY_INTERVAL = 0.1
ECHO_KEYS = int(CHUNKS / ECHO_CHUNKS_PER_SECOND / ECHO_KEY_INTERVAL)
IDLE_KEYS = 20


class EchoProbe:
    """Types keys from a thread, as a terminal driver's input thread does, and notes when
    each character is first on a frame the screen sends to the terminal."""

    def __init__(self, app: Any, text_area: Any) -> None:
        self.app = app
        self.text_area = text_area
        self.base = len(text_area.text)
        self.sent: list[float] = []
        self.shown: dict[int, float] = {}

    def display(self, screen: Any, renderable: Any) -> None:
        type(self.app)._display(self.app, screen, renderable)
        if renderable is None:
            return
        now = time.perf_counter()
        for index in range(min(len(self.text_area.text) - self.base, len(self.sent))):
            self.shown.setdefault(index, now)

    def type_keys(self, count: int, stop: threading.Event) -> None:
        from textual import events

        driver = self.app._driver
        rng = random.Random(3)
        for index in range(count):
            if stop.wait(ECHO_KEY_INTERVAL * rng.uniform(0.5, 1.5)):
                return
            char = "abcdefghij"[index % 10]
            self.sent.append(time.perf_counter())
            driver.send_message(events.Key(char, char))

    @contextlib.asynccontextmanager
    async def typing(self, count: int) -> AsyncIterator[None]:
        """Type up to count keys (about ECHO_KEY_INTERVAL apart) while the body runs."""
        # An observer on the app's frame output: every frame is still produced as usual.
        self.app._display = self.display
        done = threading.Event()
        typist = threading.Thread(target=self.type_keys, args=(count, done), daemon=True)
        typist.start()
        try:
            yield
        finally:
            done.set()
            await asyncio.to_thread(typist.join)
            await asyncio.sleep(ECHO_KEY_INTERVAL * 5)  # the last keys reach the screen
            del self.app._display

    def latencies(self) -> list[float]:
        if len(self.shown) < len(self.sent):
            raise RuntimeError(f"{len(self.sent) - len(self.shown)} keys never reached the screen")
        return [self.shown[i] - sent for i, sent in enumerate(self.sent)]


async def echo_in_app(base_url: str, data_dir: Path) -> tuple[list[float], list[float], int]:
    """Key latencies in the chat screen while idle, then while the document streams."""
    app = new_app(settings_for(data_dir, paced=remote_model(base_url, "paced")))
    async with app.run_test(size=SIZE) as pilot:
        idle = EchoProbe(app, prompt_input(app))
        async with idle.typing(IDLE_KEYS):
            await asyncio.sleep(IDLE_KEYS * ECHO_KEY_INTERVAL * 1.6)
        await pilot.pause()
        set_prompt(app, "go")
        await send(pilot)
        await pilot.pause()
        streaming = EchoProbe(app, prompt_input(app))
        async with streaming.typing(ECHO_KEYS):
            reply = await wait_for_reply(app, pilot)
        await pilot.pause()
        await settle(app, pilot)
    return idle.latencies(), streaming.latencies(), len(reply.text)


async def echo_bare(pieces: list[str]) -> list[float]:
    """The same typing beside a bare MarkdownStream fed at the same pace."""
    from textual.app import App, ComposeResult
    from textual.containers import VerticalScroll
    from textual.widgets import Markdown, TextArea

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            with VerticalScroll():
                yield Markdown()
            yield TextArea()

    app = Bare()
    with textual_default_fps():
        return await _echo_bare(app, pieces)


async def _echo_bare(app: Any, pieces: list[str]) -> list[float]:
    from textual.containers import VerticalScroll
    from textual.widgets import Markdown, TextArea

    async with app.run_test(size=SIZE) as pilot:
        app.query_one(VerticalScroll).anchor()
        app.query_one(TextArea).focus()
        stream = Markdown.get_stream(app.query_one(Markdown))
        probe = EchoProbe(app, app.query_one(TextArea))
        async with probe.typing(ECHO_KEYS):
            started = time.perf_counter()
            for index, piece in enumerate(pieces):
                delay = started + index / ECHO_CHUNKS_PER_SECOND - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                await stream.write(piece)
            await stream.stop()
        await pilot.pause()
    return probe.latencies()


async def figure_echo(work: Path) -> Figure:
    pieces = chunks(document())
    paced = scripted_reply(pieces, delay=1 / ECHO_CHUNKS_PER_SECOND)
    with serve_in_child({"paced": paced}) as server:
        idle, streaming, streamed = await echo_in_app(server.base_url("paced"), work / "echo")
    bare = await echo_bare(pieces)
    return Figure(
        "echo_p95_ms",
        "e. key → echo in the prompt while a reply streams, p95",
        ms(p95(streaming)),
        TARGET_ECHO_P95_MS,
        higher_is_better=False,
        unit=" ms",
        baseline={"echo_idle_p95_ms": ms(p95(idle)), "echo_bare_stream_p95_ms": ms(p95(bare))},
        detail=f"{len(streaming)} keys during a {streamed}-character reply at "
        f"{ECHO_CHUNKS_PER_SECOND} chunks/s: median {ms(statistics.median(streaming))} ms, "
        f"max {ms(max(streaming))} ms; idle p95 {ms(p95(idle))} ms; beside a bare "
        f"MarkdownStream fed alike p95 {ms(p95(bare))} ms, median "
        f"{ms(statistics.median(bare))} ms",
    )


def main() -> None:
    arguments(__doc__).parse_args()
    run_bench("ui_echo", lambda work: [asyncio.run(figure_echo(work))])


if __name__ == "__main__":
    main()
