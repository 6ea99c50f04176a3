"""👍 👎 under a finished reply: its current rating (the thumb, the reasons, the comment),
✕ to take it back, and "prefer this one" when the reply has alternatives.

The bar only says what the user clicked; the screen records it (FeedbackActions) and
sets `rating` back, also when the reply is drawn again later (the bar asks with Wanted).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static

if TYPE_CHECKING:
    from chatapp.core.feedback.records import Rating


# The most of a comment the bar shows; the rest is in the reasons dialog.
COMMENT_SHOWN = 40


def summary(rating: Rating | None) -> Content:
    """The reasons and the comment of a rating, in one line (an invitation to give them
    when there are none)."""
    if rating is None:
        return Content("")
    parts = [", ".join(rating.reasons)] if rating.reasons else []
    if comment := " ".join(rating.comment.split()):
        cut = comment if len(comment) <= COMMENT_SHOWN else comment[: COMMENT_SHOWN - 1] + "…"
        parts.append(f"✎ “{cut}”")
    if not parts:
        return Content.styled("say why…", "italic")
    return Content(" · ".join(parts))


def action(label: str | Content, classes: str, tooltip: str) -> Static:
    """A part of the bar that does something when clicked."""
    widget = Static(label, classes=f"action {classes}")
    widget.tooltip = tooltip
    return widget


class RatingBar(Horizontal):
    """The rating of one reply. Click a thumb to rate (then say why), ✕ to take the
    rating back, the reasons to change them; the reply's keys do the same (+ - 0 p)."""

    DEFAULT_CSS = """
    RatingBar { height: 1; color: $text-muted; }
    RatingBar > Static { width: auto; margin-right: 1; }
    RatingBar > .-on { background: $accent 40%; }
    RatingBar > .action:hover { text-style: reverse; }
    RatingBar > .summary { width: 1fr; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    rating: reactive[Rating | None] = reactive(None, recompose=True)
    """The reply's current rating, as recorded; None: not rated."""

    can_prefer: reactive[bool] = reactive(False, recompose=True)
    """The reply has alternatives (‹ n/m ›): offer to prefer it over them."""

    class BarMessage(Message):
        """Parent class of the bar's messages: each names the bar and its reply."""

        def __init__(self, bar: RatingBar) -> None:
            super().__init__()
            self.bar = bar
            self.message_id = bar.message_id

        @property
        def control(self) -> RatingBar:
            return self.bar

    class Rated(BarMessage):
        """The user gave a thumb (+1 or -1), or took the rating back (None)."""

        def __init__(self, bar: RatingBar, thumb: int | None) -> None:
            super().__init__(bar)
            self.thumb = thumb

    class PreferRequested(BarMessage):
        """The user prefers this reply over its alternatives."""

    class Wanted(BarMessage):
        """The bar was drawn and wants its reply's rating (the screen sets `rating`)."""

    def __init__(self, message_id: str, *, can_prefer: bool = False) -> None:
        super().__init__(classes="rating-bar")
        self.message_id = message_id
        self.set_reactive(RatingBar.can_prefer, can_prefer)

    def compose(self) -> ComposeResult:
        rating = self.rating
        thumb = rating.thumb if rating is not None else None
        yield action("👍", "up" + (" -on" if thumb == 1 else ""), "Good reply (+)")
        yield action("👎", "down" + (" -on" if thumb == -1 else ""), "Bad reply (-)")
        if rating is None:
            yield Static(classes="summary")
        else:
            yield action(summary(rating), "summary", "Change the reasons and the comment")
            yield action("✕", "remove", "Take the rating back (0)")
        if self.can_prefer:
            yield action("⇄ prefer this one", "prefer", "Prefer this version to the others (p)")

    def on_mount(self) -> None:
        self.post_message(self.Wanted(self))

    def on_click(self, event: events.Click) -> None:
        widget = event.widget
        if widget is None or not widget.has_class("action"):
            return
        event.stop()
        if widget.has_class("up"):
            self.rate(1)
        elif widget.has_class("down"):
            self.rate(-1)
        elif widget.has_class("summary") and self.rating is not None:
            self.rate(self.rating.thumb)
        elif widget.has_class("remove"):
            self.rate(None)
        elif widget.has_class("prefer"):
            self.prefer()

    def rate(self, thumb: int | None) -> None:
        self.post_message(self.Rated(self, thumb))

    def prefer(self) -> None:
        if self.can_prefer:
            self.post_message(self.PreferRequested(self))
