"""One line at the bottom: model, user, context use, speed and what is happening."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

NEARLY_FULL = 0.9
SEPARATOR = " · "


class StatusBar(Widget):
    """Shows e.g. `smollm2 · alice · ctx 1,234/8,192 · 71.3 tok/s · generating`.

    Gets the class `-warning` while the context window is at least 90% full.
    """

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        padding: 0 1;
        background: $panel;
        color: $text-muted;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        &.-warning {
            color: $text-warning;
            background: $warning-muted;
        }
    }
    """

    model: reactive[str] = reactive("")
    user: reactive[str] = reactive("")
    incognito: reactive[bool] = reactive(False)
    """A chat not kept in history, with no memory read or written."""
    context_used: reactive[int] = reactive(0)
    context_total: reactive[int] = reactive(0)
    dropped: reactive[int] = reactive(0)
    """Old messages left out of the prompt to make it fit."""
    tokens_per_second: reactive[float | None] = reactive(None)
    state: reactive[str] = reactive("idle")
    """One of "idle", "loading model…", "generating", "stopped", "error"."""

    @property
    def context_nearly_full(self) -> bool:
        total = self.context_total
        return total > 0 and self.context_used / total >= NEARLY_FULL

    def watch_context_used(self) -> None:
        self.set_class(self.context_nearly_full, "-warning")

    def watch_context_total(self) -> None:
        self.set_class(self.context_nearly_full, "-warning")

    def render(self) -> Content:
        return Content(SEPARATOR.join(self._parts()))

    def _parts(self) -> list[str]:
        parts = [part for part in (self.model, self.user) if part]
        if self.incognito:
            parts.append("incognito")
        if self.context_total > 0:
            parts.append(f"ctx {self.context_used:,}/{self.context_total:,}")
        if self.context_nearly_full:
            parts.append("context nearly full")
        if self.dropped > 0:
            noun = "message" if self.dropped == 1 else "messages"
            parts.append(f"{self.dropped:,} old {noun} left out")
        if self.tokens_per_second is not None:
            parts.append(f"{self.tokens_per_second:.1f} tok/s")
        parts.append(self.state)
        return parts
