"""e. echo: key press → its character on screen while a long reply streams (<= 50 ms),
and with a 2 MB draft in the box (÷ with an empty box, p95, <= 1.5).

A key press → its character on screen in the prompt while a long reply streams, p95.

ChatApp runs headless in this process (Pilot); the scripted server streams the document
from a child process at a fast server's pace while a thread types, as a terminal driver's
input thread does. Baselines: the same typing while idle, and beside a bare
MarkdownStream fed at the same pace.

The same typing as the idle run, once the app has settled: into the empty box, then
after 2 MB were pasted into it (a log file's short lines, then one line of 2 MB as
minified JSON pastes). The worse p95 of the two ÷ the empty box's p95. Beside them, the
box full (its 10 rows) of 2 KB: what drawing ten rows instead of one costs, whatever the
size of the draft.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ui_common import (
    CHUNKS,
    SIZE,
    Figure,
    arguments,
    big_draft,
    chunks,
    document,
    ms,
    new_app,
    p95,
    paste,
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
TARGET_BARE_RATIO = 0.3
TARGET_IDLE_RATIO = 4.0
# The document streams at this pace (a fast server), while a key comes about this often.
ECHO_CHUNKS_PER_SECOND = 250
ECHO_KEY_INTERVAL = 0.1
ECHO_KEYS = int(CHUNKS / ECHO_CHUNKS_PER_SECOND / ECHO_KEY_INTERVAL)
IDLE_KEYS = 20
# A key after a 2 MB paste echoes about as fast as in an empty box.
TARGET_DRAFT_RATIO = 1.5
DRAFT_SHAPES = ("lines", "one line")
FULL_BOX = 2000
# More keys than at start-up: a p95 of 20 is the second slowest key.
DRAFT_KEYS = 60
# After a paste, before typing: what is measured is typing after it, not the paste.
PASTE_SETTLE = 1.0
# Keys that take seconds each (as they did after a 2 MB paste) are waited for this long.
SLOW_KEYS_TIMEOUT = 600.0


class EchoProbe:
    """Types keys from a thread, as a terminal driver's input thread does, and notes when
    each character is first on a frame the screen sends to the terminal."""

    def __init__(self, app: Any, text_area: Any) -> None:
        self.app = app
        self.text_area = text_area
        # Keys land on the cursor's row: its length counts them, at no cost per frame
        # (the whole text of a 2 MB draft would cost the frame it measures).
        self.row = text_area.cursor_location[0]
        self.base = self.typed()
        self.sent: list[float] = []
        self.shown: dict[int, float] = {}

    def typed(self) -> int:
        return len(self.text_area.document[self.row])

    def display(self, screen: Any, renderable: Any) -> None:
        type(self.app)._display(self.app, screen, renderable)
        if renderable is None:
            return
        now = time.perf_counter()
        for index in range(min(self.typed() - self.base, len(self.sent))):
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

    async def until_shown(self, timeout: float) -> None:
        """Until every key typed so far is on the screen: a slow box shows them late."""
        deadline = time.perf_counter() + timeout
        while len(self.shown) < len(self.sent) and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)

    def latencies(self) -> list[float]:
        if len(self.shown) < len(self.sent):
            raise RuntimeError(f"{len(self.sent) - len(self.shown)} keys never reached the screen")
        return [self.shown[i] - sent for i, sent in enumerate(self.sent)]


@dataclass
class InApp:
    """Key latencies in the chat screen."""

    idle: list[float]
    drafts: dict[str, list[float]]
    streaming: list[float]
    streamed: int


async def echo_in_app(base_url: str, data_dir: Path) -> InApp:
    """Key latencies in the chat screen while idle, after each 2 MB paste, then while the
    document streams."""
    app = new_app(settings_for(data_dir, paced=remote_model(base_url, "paced")))
    async with app.run_test(size=SIZE) as pilot:
        idle = await typing_while_idle(app, pilot, IDLE_KEYS)
        # Start-up work is over, as it is long over when someone pastes 2 MB.
        await settle(app, pilot)
        drafts: dict[str, list[float]] = {}
        pastes = {"empty": "", "full box": big_draft("lines", FULL_BOX)}
        pastes |= {shape: big_draft(shape) for shape in DRAFT_SHAPES}
        for shape, text in pastes.items():
            prompt_input(app).clear()
            if text:
                await paste(app, pilot, text)
            await asyncio.sleep(PASTE_SETTLE)
            drafts[shape] = await typing_while_idle(app, pilot, DRAFT_KEYS)
        set_prompt(app, "go")
        await send(pilot)
        await pilot.pause()
        streaming = EchoProbe(app, prompt_input(app))
        async with streaming.typing(ECHO_KEYS):
            reply = await wait_for_reply(app, pilot)
        await pilot.pause()
        await settle(app, pilot)
    return InApp(idle, drafts, streaming.latencies(), len(reply.text))


async def typing_while_idle(app: Any, pilot: Any, keys: int) -> list[float]:
    probe = EchoProbe(app, prompt_input(app))
    async with probe.typing(keys):
        await asyncio.sleep(keys * ECHO_KEY_INTERVAL * 1.6)
        await probe.until_shown(SLOW_KEYS_TIMEOUT)
    await pilot.pause()
    return probe.latencies()


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


async def figures_echo(work: Path) -> list[Figure]:
    pieces = chunks(document())
    paced = scripted_reply(pieces, delay=1 / ECHO_CHUNKS_PER_SECOND)
    with serve_in_child({"paced": paced}) as server:
        in_app = await echo_in_app(server.base_url("paced"), work / "echo")
    bare = await echo_bare(pieces)
    return [figure_streaming(in_app, bare), figure_draft(in_app)]


def figure_streaming(in_app: InApp, bare: list[float]) -> Figure:
    idle, streaming, streamed = in_app.idle, in_app.streaming, in_app.streamed
    # The targets, each in the same run: <= TARGET_BARE_RATIO x the bare
    # MarkdownStream, and <= TARGET_IDLE_RATIO x typing while idle.
    bare_ratio, idle_ratio = p95(streaming) / p95(bare), p95(streaming) / p95(idle)
    return Figure(
        "echo_p95_ms",
        "e. key → echo in the prompt while a reply streams, p95",
        ms(p95(streaming)),
        TARGET_ECHO_P95_MS,
        higher_is_better=False,
        unit=" ms",
        baseline={
            "echo_idle_p95_ms": ms(p95(idle)),
            "echo_bare_stream_p95_ms": ms(p95(bare)),
            "echo_stream_bare_ratio": round(bare_ratio, 2),
            "echo_stream_idle_ratio": round(idle_ratio, 2),
        },
        detail=f"{len(streaming)} keys during a {streamed}-character reply at "
        f"{ECHO_CHUNKS_PER_SECOND} chunks/s: median {ms(statistics.median(streaming))} ms, "
        f"max {ms(max(streaming))} ms; idle p95 {ms(p95(idle))} ms; beside a bare "
        f"MarkdownStream fed alike p95 {ms(p95(bare))} ms, median "
        f"{ms(statistics.median(bare))} ms; p95 ÷ bare {bare_ratio:.2f} (<= "
        f"{TARGET_BARE_RATIO:g}), ÷ idle {idle_ratio:.1f} (<= {TARGET_IDLE_RATIO:g})",
    )


def figure_draft(in_app: InApp) -> Figure:
    empty, full = p95(in_app.drafts["empty"]), p95(in_app.drafts["full box"])
    drafts = {shape: p95(in_app.drafts[shape]) for shape in DRAFT_SHAPES}
    worst = max(drafts.values())
    keys = {shape: f"echo_2mb_{shape.replace(' ', '_')}_p95_ms" for shape in drafts}

    def shown(run: str) -> str:
        latencies = in_app.drafts[run]
        return f"p95 {ms(p95(latencies))} ms (median {ms(statistics.median(latencies))} ms)"

    return Figure(
        "echo_2mb_draft_ratio",
        "e. key → echo with a 2 MB draft in the box ÷ with an empty box, p95",
        round(worst / empty, 2),
        TARGET_DRAFT_RATIO,
        higher_is_better=False,
        baseline={"echo_empty_box_p95_ms": ms(empty), "echo_full_box_p95_ms": ms(full)}
        | {keys[shape]: ms(value) for shape, value in drafts.items()},
        detail=f"{DRAFT_KEYS} keys each once settled: empty box {shown('empty')}; after 2 MB "
        + ", ".join(f"pasted as {shape} {shown(shape)}" for shape in DRAFT_SHAPES)
        + f"; the box full (10 rows) of {FULL_BOX // 1000} KB {shown('full box')}, "
        f"2 MB ÷ full box {worst / full:.2f}",
    )


def main() -> None:
    arguments(__doc__).parse_args()
    run_bench("ui_echo", lambda work: asyncio.run(figures_echo(work)))


if __name__ == "__main__":
    main()
