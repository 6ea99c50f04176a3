"""Every key of the screen it was opened from, on one page (F1, or ? outside a text box).

Read from the BINDINGS of the app, the screen and the widgets the screen names (its
`key_sections()`), so the page never drifts from the keys."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

KEY_NAMES = {
    "escape": "Esc",
    "enter": "Enter",
    "delete": "Delete",
    "question_mark": "?",
    "up": "↑",
    "down": "↓",
    "left": "←",
    "right": "→",
}

Row = tuple[str, str]
KeySection = tuple[str, list[Row]]
PALETTE_ROW = ("ctrl+p", "Command palette: every action, and themes")


def key_label(key: str) -> str:
    key = key.strip()
    if re.fullmatch(r"f\d+", key):
        return key.upper()
    return KEY_NAMES.get(key, key)


def rows(*binding_lists: Iterable[BindingType]) -> list[Row]:
    """(keys, what they do) for each described binding; keys doing the same share a row."""
    merged: dict[str, list[str]] = {}
    for bindings in binding_lists:
        for binding in bindings:
            if not isinstance(binding, Binding) or not binding.description:
                continue
            keys = merged.setdefault(binding.tooltip or binding.description, [])
            for key in binding.key.split(","):
                if (label := key_label(key)) not in keys:
                    keys.append(label)
    return [(" ".join(keys), what) for what, keys in merged.items()]


def table(section: list[Row]) -> Content:
    width = max(len(keys) for keys, _ in section)
    lines = [Content.assemble((keys.rjust(width), "bold"), "  ", what) for keys, what in section]
    return Content("\n").join(lines)


class KeysScreen(ModalScreen[None]):
    """The keys by where they work; Esc, F1 or ? closes it."""

    CSS_PATH = "keys.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1,question_mark,q", "dismiss", "Close"),
    ]

    def __init__(self, sections: list[KeySection]) -> None:
        super().__init__()
        self.sections = sections

    @classmethod
    def of(cls, app_bindings: Iterable[BindingType], screen: Screen[object]) -> KeysScreen:
        """The page for a screen: the keys that work anywhere on it, then its own sections."""
        anywhere = [*rows(app_bindings, screen.BINDINGS), PALETTE_ROW]
        key_sections = getattr(screen, "key_sections", None)
        more: list[KeySection] = key_sections() if callable(key_sections) else []
        return cls([("Anywhere", anywhere), *more])

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog") as dialog:
            dialog.border_title = "Keys"
            dialog.border_subtitle = "Esc closes"
            for title, section in self.sections:
                yield Static(Content.styled(title, "underline"), classes="section")
                yield Static(table(section), classes="keys")
