"""What the snapshot tests share: the two terminal sizes, a remote model that is never
asked anything, a fixed "today" for the sidebar, and waits until nothing is left to change
on screen.

`settings` is a fixture under the name the chat tests' conftest uses for another: a
snapshot test module imports it, and it wins there."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from chatapp.config import ModelConfig, Settings
from chatapp.ui.widgets.conversation_list import ConversationList
from chatapp.ui.widgets.prompt_input import PromptInput

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
USER = "tester"
MODEL = "qwen"
TODAY = date(2026, 3, 12)
WAIT = 30.0


def at(day: date, hour: int, minute: int = 0) -> float:
    return datetime(day.year, day.month, day.day, hour, minute).timestamp()


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A remote model that is never asked anything (nothing loads, nothing is sent), and
    the sidebar's "today" fixed."""
    monkeypatch.setitem(ConversationList.__init__.__kwdefaults__, "today", lambda: TODAY)
    model = ModelConfig(
        name=MODEL, backend="openai", base_url="http://127.0.0.1:9/v1", model="qwen2.5-7b"
    )
    return Settings(
        models={MODEL: model}, default_model=MODEL, data_dir=tmp_path / "data", user=USER
    )


async def until(pilot: Pilot[Any], condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.05)


async def settled(pilot: Pilot[Any]) -> None:
    """Nothing left loading, and a steady cursor (it would blink between snapshots)."""
    app = pilot.app
    await until(pilot, lambda: len(app.screen_stack) > 1, "the chat screen")
    while running := [worker for worker in app.workers if not worker.is_finished]:
        await app.workers.wait_for_complete(running)
    await pilot.pause()
    app.screen.query_one(PromptInput).cursor_blink = False
