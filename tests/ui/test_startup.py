"""The chat screen's first frame says what is true."""

from __future__ import annotations

import pytest
from textual.content import Content

from chatapp.ui.widgets.status_bar import StatusBar
from tests.ui.conftest import USER


async def test_the_first_frame_says_the_model_is_loading(
    open_chat, settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn: list[str] = []
    render = StatusBar.render

    def recorded(bar: StatusBar) -> Content:
        content = render(bar)
        drawn.append(content.plain)
        return content

    monkeypatch.setattr(StatusBar, "render", recorded)
    async with open_chat(settings) as chat:
        # Not chat.status: it renders the bar itself, which would be recorded as drawn.
        await chat.wait_until(lambda: chat.screen.status.state == "idle", "the model to load")

    assert drawn[0].startswith(f"smollm2 · {USER} · ")
    assert drawn[0].endswith("loading smollm2…")
