"""HeldFrames: nothing is drawn while held (the first moments after Enter, while the
question is stored and the model starts), everything after; a hold nobody releases ends
by itself."""

from __future__ import annotations

import asyncio

from rich.console import RenderableType
from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import Static

from chatapp.ui.streaming import HeldFrames


class Shows(App[None]):
    """Counts the frames it sends to the terminal."""

    frames = 0

    def compose(self) -> ComposeResult:
        yield Static("before", id="text")

    def _display(self, screen: Screen[object], renderable: RenderableType | None) -> None:
        super()._display(screen, renderable)
        if renderable is not None:
            self.frames += 1


async def test_a_held_screen_draws_once_released() -> None:
    app = Shows()
    async with app.run_test() as pilot:
        await pilot.pause()
        held = HeldFrames(app, 5.0)
        frames = app.frames
        app.query_one("#text", Static).update("after")
        await pilot.pause(0.1)
        assert app.frames == frames

        held.release()
        await pilot.pause(0.1)
        assert app.frames > frames
        held.release()  # a second release changes nothing
        assert app._batch_count == 0


async def test_a_hold_nobody_releases_ends_by_itself() -> None:
    app = Shows()
    async with app.run_test() as pilot:
        await pilot.pause()
        HeldFrames(app, 0.1)
        frames = app.frames
        app.query_one("#text", Static).update("after")
        await asyncio.sleep(0.3)
        await pilot.pause()
        assert app.frames > frames
