"""The scrolling thread of messages, which folds Markdown far from the viewport.

Textual lays out every displayed widget of a screen on each reflow, and a long reply is
over a thousand Markdown block widgets: each streamed chunk then cost tens to hundreds of
milliseconds of layout, and keys typed meanwhile waited that long to show. A folded body
hides its blocks (display: none) and keeps its height, so the scroll position and the
scrollbar do not move, and layout costs what is near the screen, not the whole thread.
"""

from __future__ import annotations

from textual import events
from textual.containers import VerticalScroll

from chatapp.ui.widgets.message_view import Body, MessageView

# Bodies within this many screen heights of the viewport stay unfolded.
MARGIN_SCREENS = 1.0
# The viewport moves this fraction of a screen before bodies are checked again: less than
# the margin, so what comes into view has always been unfolded first.
RECHECK_SCREENS = 0.5


class ThreadView(VerticalScroll):
    def __init__(self, *children: object, id: str | None = None) -> None:  # noqa: A002
        super().__init__(*children, id=id)  # type: ignore[arg-type]
        # Where the viewport was (scroll_y, virtual height) when bodies were last checked.
        self._checked_at: tuple[float, int] | None = None
        self._check_pending = False
        self._check_again = False
        self._width = 0

    def on_mount(self) -> None:
        self.watch(self, "scroll_y", self._moved, init=False)
        # While anchored to the end, growing content scrolls without telling scroll_y's
        # watchers (Textual sets it quietly during layout); the virtual size does tell.
        self.watch(self, "virtual_size", self._moved, init=False)

    def on_resize(self, event: events.Resize) -> None:
        # A new width changes every body's height: measure them all again.
        if event.size.width != self._width:
            self._width = event.size.width
            for body in self.bodies():
                body.unfold()
        self.check_folds()

    def _moved(self) -> None:
        """The viewport scrolled or the thread grew: check again once either has moved
        by RECHECK_SCREENS."""
        if self._checked_at is None:
            self.check_folds()
            return
        scroll_y, height = self._checked_at
        step = self.size.height * RECHECK_SCREENS
        if abs(self.scroll_y - scroll_y) >= step or abs(self.virtual_size.height - height) >= step:
            self.check_folds()

    def check_folds(self) -> None:
        """Fold and unfold bodies after the next refresh, when their places are known."""
        if self._check_pending:
            # The pending check may run before this change is laid out: one more after it.
            self._check_again = True
            return
        self._check_pending = True
        self.call_after_refresh(self._fold)

    def bodies(self) -> list[Body]:
        return [
            body
            for view in self.children
            if isinstance(view, MessageView)
            for body in view.bodies()
        ]

    def _fold(self) -> None:
        self._check_pending = False
        if self._check_again:
            self._check_again = False
            self.check_folds()
        if not self.is_mounted or not self.size.height:
            return
        self._checked_at = (self.scroll_y, self.virtual_size.height)
        margin = round(self.size.height * MARGIN_SCREENS)
        near = self.region.grow((margin, 0, margin, 0))
        for view in self.children:
            if not isinstance(view, MessageView):
                continue
            for body in view.bodies():
                if body is view.streaming_body:
                    continue  # still growing: its height is not final
                if near.overlaps(body.region):
                    body.unfold()
                else:
                    body.fold()
