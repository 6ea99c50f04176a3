"""One screen alone in a small host app, and a driver that reads and uses it the way a
user does: `async with showing(screen) as user:`."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widget import Widget

SIZE = (100, 32)
WAIT = 30.0


class Host(App[None]):
    """Shows one screen over an empty app and keeps what it was dismissed with."""

    def __init__(self, screen: Screen[Any]) -> None:
        super().__init__()
        self.shown = screen
        self.results: list[Any] = []

    def on_mount(self) -> None:
        self.push_screen(self.shown, self.results.append)

    def screen_text(self) -> str:
        """Everything on the terminal (toasts included), its lines joined into one."""
        strips = self.screen._compositor.render_strips()
        return " ".join(" ".join(strip.text for strip in strips).split())

    def text_of(self, widget: Widget) -> str:
        """What a widget shows, its wrapped lines joined into one."""
        strips = self.screen._compositor.render_strips()
        region = widget.content_region
        lines = [s.crop(region.x, region.right).text for s in strips[region.y : region.bottom]]
        return " ".join(" ".join(lines).split())


class User:
    """A running host app and what its user sees and does."""

    def __init__(self, app: Host, pilot: Pilot[None]) -> None:
        self.app = app
        self.pilot = pilot

    def sees(self, selector: str) -> str:
        return self.app.text_of(self.app.screen.query_one(selector))

    async def type(self, text: str) -> None:
        await self.pilot.press(*text)

    async def press(self, *keys: str) -> None:
        await self.pilot.press(*keys)

    async def wait_until(self, condition: Callable[[], object], what: str) -> None:
        deadline = time.monotonic() + WAIT
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            await self.pilot.pause(0.05)
        await self.pilot.pause()

    async def wait_for(self, selector: str, text: str) -> None:
        await self.wait_until(lambda: text in self.sees(selector), f"{text!r} in {selector}")

    @property
    def result(self) -> Any:
        assert len(self.app.results) == 1, f"dismissed with {self.app.results}"
        return self.app.results[0]


@contextlib.asynccontextmanager
async def showing(screen: Screen[Any], size: tuple[int, int] = SIZE) -> AsyncIterator[User]:
    app = Host(screen)
    async with app.run_test(size=size, notifications=True) as pilot:
        await pilot.pause()
        yield User(app, pilot)
