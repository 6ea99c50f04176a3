"""Every key of the chat screen on one page (F1, or ? outside the message box).

Read from the BINDINGS of the app, screen and widgets, so the page never drifts from the keys."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from chatapp.ui.screens.chat import ChatScreen
from chatapp.ui.widgets.conversation_list import ConversationList
from chatapp.ui.widgets.message_view import MessageView
from chatapp.ui.widgets.prompt_input import PromptInput

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

    def compose(self) -> ComposeResult:
        anywhere = [
            *rows(type(self.app).BINDINGS, ChatScreen.BINDINGS),
            ("ctrl+p", "Command palette: every action, and themes"),
        ]
        in_input = [("Enter", "Send"), *rows(PromptInput.BINDINGS), ("↑ ↓", "Earlier prompts")]
        in_sidebar = [("Enter", "Open"), *rows(ConversationList.BINDINGS)]
        with VerticalScroll(id="dialog") as dialog:
            dialog.border_title = "Keys"
            dialog.border_subtitle = "Esc closes"
            for title, section in (
                ("Anywhere", anywhere),
                ("In the message box", in_input),
                ("On a message (Tab or click to focus it)", rows(MessageView.BINDINGS)),
                ("In the sidebar", in_sidebar),
            ):
                yield Static(Content.styled(title, "underline"), classes="section")
                yield Static(table(section), classes="keys")
