"""The scrolling thread of messages: pages of a long conversation, versions of each
message, and Markdown folded far from the viewport.

A long conversation mounts only its newest PAGE messages; older pages load when the
user scrolls to the top, keeping the message that was first in place.

Textual lays out every displayed widget of a screen on each reflow, and a long reply is
over a thousand Markdown block widgets: each streamed chunk then cost tens to hundreds of
milliseconds of layout, and keys typed meanwhile waited that long to show. A folded body
hides its blocks (display: none) and keeps its height, so the scroll position and the
scrollbar do not move, and layout costs what is near the screen, not the whole thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import events, work
from textual.containers import VerticalScroll
from textual.geometry import Size
from textual.widget import Widget

from chatapp.core.models import Message
from chatapp.ui.widgets.message_view import MessageView

if TYPE_CHECKING:
    from chatapp.ui.widgets.message_body import Body

# (1-based position, count) of a message among its versions: ‹ 2/3 ›.
VersionsOf = Callable[[Message], tuple[int, int]]

# Mount only the newest messages of a long conversation; older ones load on scroll-up.
PAGE = 40

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
        self._thread: list[Message] = []
        self._versions: VersionsOf = lambda message: (1, 1)
        self._oldest_shown = 0
        self._loading_older = False

    def on_mount(self) -> None:
        self.watch(self, "scroll_y", self._moved, init=False)
        self.watch(self, "scroll_y", self._maybe_load_older, init=False)
        # While anchored to the end, growing content scrolls without telling scroll_y's
        # watchers (Textual sets it quietly during layout); the virtual size does tell.
        self.watch(self, "virtual_size", self._resized, init=False)

    # -- the messages -------------------------------------------------------------------

    async def show(
        self, thread: list[Message], versions: VersionsOf, empty: Widget | None = None
    ) -> None:
        """Show a thread (its newest page; older ones on scroll-up), or `empty` if it has
        no messages."""
        self._thread, self._versions = thread, versions
        await self.remove_children()
        if not thread and empty is not None:
            await self.mount(empty)
        self._oldest_shown = max(0, len(thread) - PAGE)
        await self.mount_all(self.view_of(m) for m in thread[self._oldest_shown :])
        self.scroll_end(animate=False)
        self.anchor()
        self.check_folds()

    async def show_version(
        self, thread: list[Message], versions: VersionsOf, shown_id: str
    ) -> None:
        """Show a thread after another version of one of its messages was chosen: that
        message keeps the focus (so [ and ] go on switching it) and comes into view."""
        await self.show(thread, versions)
        shown = self.view_for(shown_id)
        if shown is None:
            return
        shown.focus(scroll_visible=False)
        if shown is not self.last_view():
            # Only once laid out: before that the anchor's scroll position is stale, and
            # releasing it there can leave the thread scrolled out of sight.
            self.call_after_refresh(self._bring_into_view, shown)

    def _bring_into_view(self, view: MessageView) -> None:
        self.release_anchor()
        self.scroll_to_widget(view, animate=False, top=True)

    def view_of(self, message: Message) -> MessageView:
        return MessageView(message, self._versions(message))

    def views(self) -> list[MessageView]:
        return list(self.query_children(MessageView))

    def last_view(self) -> MessageView | None:
        views = self.views()
        return views[-1] if views else None

    def view_for(self, message_id: str) -> MessageView | None:
        return next((view for view in self.views() if view.message.id == message_id), None)

    def refresh_versions(self, versions: VersionsOf) -> None:
        """Re-label ‹ n/m › on the last two messages after a regenerate or edit."""
        for view in self.views()[-2:]:
            view.set_versions(versions(view.message))

    def _maybe_load_older(self, scroll_y: float) -> None:
        if scroll_y <= 0 and self._oldest_shown > 0 and not self._loading_older:
            self._loading_older = True
            self._load_older()

    @work(group="older")
    async def _load_older(self) -> None:
        """Mount the previous page above the first message, keeping that message in place."""
        try:
            start = max(0, self._oldest_shown - PAGE)
            views = [self.view_of(m) for m in self._thread[start : self._oldest_shown]]
            self._oldest_shown = start
            first = self.children[0] if self.children else None
            await self.mount_all(views, before=first)
            if first is not None:
                # After the next layout: until then the new messages have no height, the
                # scroll stays at the top and the next page would never be asked for.
                placed = asyncio.Event()

                def keep_place() -> None:
                    self.scroll_to_widget(first, animate=False, top=True)
                    placed.set()

                self.call_after_refresh(keep_place)
                await placed.wait()
                self.check_folds()
        finally:
            self._loading_older = False

    # -- folding --------------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        # A new width changes every body's height: measure them all again.
        if event.size.width != self._width:
            self._width = event.size.width
            for body in self.bodies():
                body.unfold()
        self.check_folds()

    def _moved(self) -> None:
        """The viewport scrolled: check again once it has moved by RECHECK_SCREENS."""
        if self._due_for_check():
            self.check_folds()

    def _resized(self, before: Size, after: Size) -> None:
        """The thread was laid out taller or shorter: check again once it has changed by
        RECHECK_SCREENS."""
        if not self._due_for_check():
            return
        if after.height > before.height and self._checked_at is not None:
            # Grown (a reply streaming in): fold now, with the places just laid out, so
            # that the layout folding needs joins the one Textual follows this one with,
            # rather than being one more frame while the user types. Content moves up and
            # out of view as it grows; the places, from before that scroll, only put
            # bodies nearer the viewport than they end up, so nothing in view folds.
            self._fold_now()
        else:
            # Shrunk: what comes into view must be unfolded, at its place after the scroll.
            self.check_folds()

    def _due_for_check(self) -> bool:
        if self._checked_at is None:
            return True
        scroll_y, height = self._checked_at
        step = self.size.height * RECHECK_SCREENS
        return (
            abs(self.scroll_y - scroll_y) >= step or abs(self.virtual_size.height - height) >= step
        )

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
        self._fold_now()

    def _fold_now(self) -> None:
        """Fold the bodies far from the viewport and unfold those near it, by their places
        in the last layout."""
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
