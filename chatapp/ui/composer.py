"""What the message box is doing besides holding text: a message queued while the model
loads, or an edit of an earlier message. Plain state, no widgets: the screen draws it."""

from __future__ import annotations

from chatapp.core.models import Message

EDITING = "Editing a message: Enter sends it as a new branch, Esc cancels"
QUEUED = "Queued: your message goes out as soon as the model has loaded (Esc cancels)"


class Composer:
    def __init__(self) -> None:
        # A message sent while the local model loads; it stays in the (read-only) box.
        self.pending: str | None = None
        # The user message being edited into a new branch.
        self.editing: Message | None = None
        # The box's text from before the edit began; it comes back when the edit ends.
        self._draft_before_edit = ""

    @property
    def banner(self) -> str:
        """The line shown above the box ("" for none)."""
        if self.pending is not None:
            return QUEUED
        return EDITING if self.editing is not None else ""

    @property
    def read_only(self) -> bool:
        return self.pending is not None

    def queue(self, text: str) -> None:
        self.pending = text

    def take_queued(self) -> str | None:
        """The queued message, which leaves the queue (to be sent, or taken back)."""
        text, self.pending = self.pending, None
        return text

    def begin_edit(self, message: Message, box_text: str) -> None:
        """Start editing message; box_text is what the box held (kept for later, unless
        this is an edit already: then the draft from before the first one stays)."""
        if self.editing is None:
            self._draft_before_edit = box_text
        self.editing = message

    def end_edit(self) -> str | None:
        """Leave editing; returns the text the box had before it (None if not editing)."""
        if self.editing is None:
            return None
        self.editing = None
        draft, self._draft_before_edit = self._draft_before_edit, ""
        return draft

    @staticmethod
    def given_back(unsent: str, typed: str) -> str:
        """The box after an unsent message comes back: it first, then what was typed since."""
        return f"{unsent}\n{typed}" if typed.strip() else unsent
