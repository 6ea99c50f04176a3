"""Snapshots of the template form (80x24: the preview below the fields; 120x40: beside
them) and of "Save as template" with a variable made. A built-in template with a fixed
input, cursors that do not blink, the preview waited for: nothing changes between runs.
Regenerate after an intended change of look with
`pytest tests/ui/test_template_snapshots.py --snapshot-update`, then look at the SVGs."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from chatapp.core.templates import TemplateLibrary
from chatapp.ui.screens.save_template import SaveTemplateScreen
from chatapp.ui.screens.template_form import TemplateFormScreen
from chatapp.ui.screens.text_prompt import TextPromptScreen
from tests.ui.screen_host import Host
from tests.ui.snapshots import SIZES, until

TEXT = "We ship v2.3 on Monday. Run `git pull` first.\n周一发布，请先更新代码。"


def steady(pilot: Pilot[Any]) -> None:
    for box in pilot.app.screen.query("TextArea, Input"):
        assert isinstance(box, TextArea | Input)
        box.cursor_blink = False


async def form_previewed(pilot: Pilot[Any]) -> None:
    screen = pilot.app.screen
    assert isinstance(screen, TemplateFormScreen)
    await until(pilot, lambda: screen.preview.rendered is not None, "the preview")
    steady(pilot)
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_template_form(snap_compare: Any, library: TemplateLibrary, size: tuple[int, int]) -> None:
    template = library.get("translate-en-zh")
    app = Host(TemplateFormScreen(template, library, initial={"text": TEXT}))
    assert snap_compare(app, terminal_size=size, run_before=form_previewed)


async def variable_made(pilot: Pilot[Any]) -> None:
    """The second line of the message selected and made the variable `input`."""
    await pilot.pause()
    await pilot.press("down", "home", "shift+end", "ctrl+v")
    await until(pilot, lambda: isinstance(pilot.app.screen, TextPromptScreen), "the name prompt")
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(pilot.app.screen, SaveTemplateScreen), "the form")
    steady(pilot)
    await pilot.pause()


def test_save_as_template(snap_compare: Any, library: TemplateLibrary) -> None:
    app = Host(SaveTemplateScreen(library, TEXT, "release-note"))
    assert snap_compare(app, terminal_size=(80, 24), run_before=variable_made)
