"""A message's Markdown body (MessageView's, split when long), which ThreadView folds.

A module of its own: Markdown brings markdown-it and a code highlighter, which a screen
with no message on it, as the first one is, does without (message_view imports this
where it shows a message)."""

from __future__ import annotations

from textual.await_complete import AwaitComplete
from textual.widgets import Markdown


class Body(Markdown):
    """Markdown of a message that can fold: its blocks hidden, its height kept.

    ThreadView folds bodies far from the viewport, so that layout skips their blocks."""

    folded = False

    def fold(self) -> None:
        height = self.outer_size.height
        # Not while an update or append mounts its blocks (in batches): the height is not
        # final, and blocks mounted after the fold would show inside it.
        if self.folded or not height or self.lock.is_locked:
            return
        self.folded = True
        self.styles.height = height
        # Inline styles on the blocks themselves: a class on the body would restyle
        # every block and all of their children.
        for block in self.children:
            block.styles.display = "none"

    def unfold(self) -> None:
        if not self.folded:
            return
        self.folded = False
        # None clears the inline rule (back to the stylesheet's) and refreshes the layout.
        self.styles.height = None
        for block in self.children:
            block.styles.display = None  # type: ignore[assignment]

    def update(self, markdown: str) -> AwaitComplete:
        # New text has a new height.
        self.unfold()
        return super().update(markdown)
