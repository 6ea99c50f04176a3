"""A fact the user just stated, offered to remember: accept (a), edit (e), dismiss (x)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Static


class MemorySuggestion(Horizontal, can_focus=True):
    """Shown under the user's message it came from; nothing is kept until accepted."""

    DEFAULT_CSS = """
    MemorySuggestion { height: auto; margin: 0 0 0 2; padding: 0 1; background: $boost; }
    MemorySuggestion:focus { background: $accent 20%; }
    MemorySuggestion > .fact { width: 1fr; }
    MemorySuggestion > Button { margin: 0 0 0 1; }
    """

    BINDINGS = [
        Binding("a", "answer('accept')", "Remember it"),
        Binding("e", "answer('edit')", "Edit, then remember"),
        Binding("x", "answer('dismiss')", "Dismiss"),
    ]

    class Answered(Message):
        def __init__(self, suggestion: MemorySuggestion, answer: str) -> None:
            super().__init__()
            self.suggestion = suggestion
            self.answer = answer

    def __init__(self, text: str, slot: str | None, message_id: str, conversation_id: str) -> None:
        super().__init__(classes="memory-suggestion")
        self.text = text
        self.slot = slot
        self.message_id = message_id
        self.conversation_id = conversation_id

    def compose(self) -> ComposeResult:
        yield Static(Content.assemble(("Remember? ", "bold"), f"“{self.text}”"), classes="fact")
        yield Button("a Accept", id="accept", compact=True, variant="success")
        yield Button("e Edit", id="edit", compact=True)
        yield Button("x Dismiss", id="dismiss", compact=True)

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_answer(event.button.id or "dismiss")

    def action_answer(self, answer: str) -> None:
        self.post_message(self.Answered(self, answer))
