"""a. stream: a long reply through the chat screen ÷ a bare MarkdownStream (<= 1.3).

5,000 chunks (~20k tokens of Markdown with code blocks) from a loopback OpenAI-style
server through ChatApp's chat screen (Enter to the reply shown), ÷ the same chunks
written to a bare MarkdownStream in a minimal app.

ChatApp runs headless in this process (Pilot); the scripted server streams from a child
process, so its streaming takes none of this process's GIL. Runs of the app and of the
baseline alternate, and the ratio is the median of side-by-side pairs.

    python bench/ui_stream.py [--reps 4]
"""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

from ui_common import (
    DOCUMENT_CHARS,
    SIZE,
    Figure,
    arguments,
    chunks,
    document,
    new_app,
    paired_ratio,
    remote_model,
    run_bench,
    scripted_reply,
    send,
    settings_for,
    settle,
    textual_default_fps,
    type_text,
    wait_for_reply,
)

from tests.fixtures.scripted import serve_in_child

TARGET_STREAM_RATIO = 1.3


async def stream_through_app(base_url: str, data_dir: Path) -> float:
    app = new_app(settings_for(data_dir, fast=remote_model(base_url, "fast")))
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "guide")
        started = time.perf_counter()
        await send(pilot)
        reply = await wait_for_reply(app, pilot)
        seconds = time.perf_counter() - started
        if reply.error is not None or len(reply.text) < DOCUMENT_CHARS:
            raise RuntimeError(f"the reply did not arrive whole: {reply.error}")
        await settle(app, pilot)
    return seconds


async def stream_bare(pieces: list[str]) -> float:
    from textual.app import App, ComposeResult
    from textual.containers import VerticalScroll
    from textual.widgets import Markdown

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            with VerticalScroll():
                yield Markdown()

    app = Bare()
    with textual_default_fps():
        return await _stream_bare(app, pieces)


async def _stream_bare(app: Any, pieces: list[str]) -> float:
    from textual.containers import VerticalScroll
    from textual.widgets import Markdown

    async with app.run_test(size=SIZE) as pilot:
        app.query_one(VerticalScroll).anchor()
        stream = Markdown.get_stream(app.query_one(Markdown))
        started = time.perf_counter()
        for piece in pieces:
            await stream.write(piece)
        await stream.stop()
        await pilot.pause()
        return time.perf_counter() - started


async def figure_stream(work: Path, reps: int) -> Figure:
    pieces = chunks(document())
    app_runs: list[float] = []
    bare_runs: list[float] = []
    with serve_in_child({"fast": scripted_reply(pieces)}) as server:
        base_url = server.base_url("fast")
        await stream_bare(pieces[:200])  # warm-up: imports, first layout
        for rep in range(reps):
            data_dir = work / f"stream-{rep}"
            if rep % 2:
                bare_runs.append(await stream_bare(pieces))
                app_runs.append(await stream_through_app(base_url, data_dir))
            else:
                app_runs.append(await stream_through_app(base_url, data_dir))
                bare_runs.append(await stream_bare(pieces))
    app_s, bare_s = statistics.median(app_runs), statistics.median(bare_runs)
    tokens = len("".join(pieces)) // 4
    return Figure(
        "stream_ratio",
        f"a. stream {len(pieces)} chunks (~{tokens} tokens): chat screen ÷ bare MarkdownStream",
        round(paired_ratio(app_runs, bare_runs), 3),
        TARGET_STREAM_RATIO,
        higher_is_better=False,
        baseline={"stream_app_s": round(app_s, 3), "stream_bare_s": round(bare_s, 3)},
        detail=f"chat screen {[round(s, 2) for s in app_runs]} s, "
        f"bare {[round(s, 2) for s in bare_runs]} s",
    )


def main() -> None:
    args = arguments(__doc__, reps=4).parse_args()
    run_bench("ui_stream", lambda work: [asyncio.run(figure_stream(work, args.reps))])


if __name__ == "__main__":
    main()
