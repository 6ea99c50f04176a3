"""The footer: the screen's keys as Textual's Footer shows them, drawn as one widget. A
click presses a key, a hover shows its tooltip, a change of focus changes the keys, and
on a narrow terminal whole keys give way while the palette's key keeps its place."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Input

from chatapp.ui.widgets.keys_footer import KeysFooter
from tests.ui.screen_host import Host


class Box(Input):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("f5", "shout", "Shout")]


class Keys(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "count", "New chat", tooltip="Start a new conversation"),
        # A second key for the same action is not shown twice.
        Binding("f9", "count", "New chat"),
        Binding("ctrl+g", "never", "Disabled"),
        Binding("f2", "count", "Hidden", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.counted = 0

    def compose(self):  # type: ignore[no-untyped-def]
        yield Box(id="first")
        yield Input(id="second")
        yield KeysFooter()

    def action_count(self) -> None:
        self.counted += 1

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return None if action == "never" else True


def footer_line(app: Host) -> str:
    return app.screen._compositor.render_strips()[-1].text


async def test_keys_show_change_with_focus_and_click() -> None:
    screen = Keys()
    app = Host(screen)
    async with app.run_test(size=(100, 10)) as pilot:
        await pilot.pause()
        footer = screen.query_one(KeysFooter)
        line = footer_line(app)
        assert line.startswith(" f5 Shout  ^n New chat  ^g Disabled ")
        assert line.rstrip().endswith("▏^p palette")
        assert "Hidden" not in line and line.count("New chat") == 1

        screen.query_one("#second").focus()
        await pilot.pause()
        assert footer_line(app).startswith(" ^n New chat  ^g Disabled ")

        start = footer_line(app).index("^n")
        await pilot.click(KeysFooter, offset=(start, 0))
        await pilot.pause()
        assert screen.counted == 1

        await pilot.hover(KeysFooter, offset=(start, 0))
        await pilot.pause()
        assert footer.tooltip == "Start a new conversation"
        await pilot.hover("#second")
        await pilot.pause()
        assert footer.tooltip is None

        # A disabled key does nothing when clicked.
        await pilot.click(KeysFooter, offset=(footer_line(app).index("^g"), 0))
        await pilot.pause()
        assert screen.counted == 1


async def test_a_narrow_footer_keeps_whole_keys_and_the_palette() -> None:
    app = Host(Keys())
    async with app.run_test(size=(40, 10)) as pilot:
        await pilot.pause()
        line = footer_line(app)
        assert line == " f5 Shout  ^n New chat      ▏^p palette "
        assert len(line) == 40
