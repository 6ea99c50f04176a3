"""The multi-line box the user writes messages in."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import TextArea

PLACEHOLDER = "Message… (Enter to send, ctrl+j for a new line)"


class PromptInput(TextArea):
    """A TextArea where Enter sends, ctrl+j adds a line and Up/Down walk past prompts.

    The widget never clears itself on Enter: the screen clears it once the send has
    been accepted, so a failed send leaves the draft where it was.
    """

    DEFAULT_CSS = """
    PromptInput {
        height: auto;
        max-height: 10;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+j,shift+enter", "newline", "New line", show=False),
    ]

    @dataclass
    class Submitted(Message):
        """Posted when Enter is pressed and the text is not blank."""

        prompt_input: PromptInput
        text: str

        @property
        def control(self) -> PromptInput:
            return self.prompt_input

    def __init__(
        self,
        text: str = "",
        *,
        history: Iterable[str] = (),
        placeholder: str = PLACEHOLDER,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(
            text,
            soft_wrap=True,
            show_line_numbers=False,
            placeholder=placeholder,
            name=name,
            id=id,
            classes=classes,
            disabled=disabled,
        )
        self._prompt_history: list[str] = list(history)
        self._history_index: int | None = None
        self._draft = ""

    @property
    def prompt_history(self) -> list[str]:
        """Submitted prompts, oldest first (a copy; add with `remember`)."""
        return list(self._prompt_history)

    @prompt_history.setter
    def prompt_history(self, prompts: Iterable[str]) -> None:
        self._prompt_history = list(prompts)
        self._history_index = None

    def remember(self, text: str) -> None:
        """Add a sent prompt to the history and leave history browsing."""
        if text.strip() and (not self._prompt_history or self._prompt_history[-1] != text):
            self._prompt_history.append(text)
        self._history_index = None
        self._draft = ""

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.action_submit()

    def action_submit(self) -> None:
        if self.read_only or not self.text.strip():
            return
        self.post_message(self.Submitted(self, self.text))

    def action_newline(self) -> None:
        if not self.read_only:
            self.replace("\n", *self.selection, maintain_selection_offset=False)

    def action_cursor_up(self, select: bool = False) -> None:
        on_top_row = self.navigator.is_first_wrapped_line(self.cursor_location)
        if select or not on_top_row or not self._recall_older():
            super().action_cursor_up(select)

    def action_cursor_down(self, select: bool = False) -> None:
        on_bottom_row = self.navigator.is_last_wrapped_line(self.cursor_location)
        if select or not on_bottom_row or not self._recall_newer():
            super().action_cursor_down(select)

    def _recall_older(self) -> bool:
        if self._history_index is None:
            if not self._prompt_history:
                return False
            self._draft = self.text
            self._history_index = len(self._prompt_history)
        if self._history_index == 0:
            return False
        self._history_index -= 1
        self._show(self._prompt_history[self._history_index], cursor_at_end=True)
        return True

    def _recall_newer(self) -> bool:
        if self._history_index is None:
            return False
        self._history_index += 1
        if self._history_index < len(self._prompt_history):
            self._show(self._prompt_history[self._history_index], cursor_at_end=False)
        else:
            self._history_index = None
            self._show(self._draft, cursor_at_end=True)
        return True

    def _show(self, text: str, *, cursor_at_end: bool) -> None:
        self.replace(text, (0, 0), self.document.end, maintain_selection_offset=False)
        if cursor_at_end:
            self.move_cursor(self.document.end)
        else:
            self.move_cursor((0, len(self.document[0])))
