"""Snapshots of the compare screen after both columns have finished, at 80x24 and 120x40,
and with the prompt diff open. The replies come from the scripted server, the shuffle from
a fixed seed; seconds and tokens/s vary from run to run, so the columns hide them
(ReplyColumn's `timings` flag) and show only the token counts, which do not.
Regenerate after an intended change of look with
`pytest tests/ui/test_compare_snapshots.py --snapshot-update`, then look at the SVGs."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from chatapp.config import Settings
from chatapp.core.practice import Variant
from chatapp.core.workspace import Workspace
from chatapp.ui.app import ChatApp
from chatapp.ui.screens.compare import CompareScreen
from chatapp.ui.widgets.reply_column import ReplyColumn
from tests.fixtures.scripted import ScriptedServer
from tests.ui.test_snapshots import SIZES, USER, settled, until

CHILD = "Explain recursion to a child."
LIST = "Explain recursion."
REPLIES = {
    CHILD: [
        "Recursion is when something is defined by **itself**, like nesting dolls: open "
        "one and there is a smaller one inside, until the smallest one."
    ],
    LIST: [
        "1. A function calls itself.\n2. Each call works on a smaller problem.\n"
        "3. A base case stops it."
    ],
}
VARIANTS = [
    Variant("scripted", CHILD, template={"name": "eli5", "version": 2}),
    Variant("scripted", LIST, "Answer in a numbered list."),
]


@pytest.fixture
def settings(
    tmp_path: Path, scripted_server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """The scripted model only (nothing loads), and columns without timings."""
    monkeypatch.setitem(ReplyColumn.__init__.__kwdefaults__, "timings", False)
    model = scripted_server.config(REPLIES)
    return Settings(
        models={model.name: model}, default_model=model.name, data_dir=tmp_path, user=USER
    )


def comparing(*keys: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    """A run_before that opens the compare screen, waits for both columns to finish,
    then presses keys."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await settled(pilot)
        app = pilot.app
        assert isinstance(app, ChatApp)
        screen = CompareScreen(
            app.workspace, VARIANTS, input_text="What is recursion?", rng=random.Random(7)
        )
        await app.push_screen(screen)

        def finished() -> bool:
            run = screen.run
            return run is not None and run.done and len(screen.columns) == len(run.columns)

        await until(pilot, finished, "both columns")
        while running := [worker for worker in app.workers if not worker.is_finished]:
            await app.workers.wait_for_complete(running)
        await pilot.press(*keys)
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_both_columns_finished(
    snap_compare: Any, settings: Settings, size: tuple[int, int]
) -> None:
    app = ChatApp(Workspace(settings))
    assert snap_compare(app, terminal_size=size, run_before=comparing())


def test_prompt_diff_open(snap_compare: Any, settings: Settings) -> None:
    app = ChatApp(Workspace(settings))
    assert snap_compare(app, terminal_size=(80, 24), run_before=comparing("d"))
