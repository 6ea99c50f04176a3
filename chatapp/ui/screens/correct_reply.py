"""Correct a reply: its text in an editor, to be rewritten as it should have been. The
user's version is kept beside the model's (ChatSession.correct), which stays."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static, TextArea


class CorrectReplyScreen(ModalScreen[str | None]):
    """Dismisses with the corrected text on ctrl+s, None on Esc. Unchanged text is not
    a correction: ctrl+s then says so and the editor stays."""

    CSS_PATH = "correct_reply.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", tooltip="Keep your version beside the reply"),
        Binding("escape", "cancel", "Cancel", tooltip="Close without correcting"),
    ]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.original = text

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Correct this reply", id="title")
            yield TextArea(self.original, soft_wrap=True, id="editor")
            yield Static(
                "ctrl+s keeps your version beside the reply · esc cancels",
                id="hint",
                markup=False,
            )

    def on_mount(self) -> None:
        editor = self.query_one(TextArea)
        editor.focus()
        editor.move_cursor(editor.document.end)

    def action_save(self) -> None:
        text = self.query_one(TextArea).text
        if text.strip() == self.original.strip():
            self.notify("Nothing changed yet: edit the reply, or press Esc")
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)
