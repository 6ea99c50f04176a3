"""KeysFooter: Textual's Footer, rebuilt only when the keys it shows change.

Textual's Footer removes and mounts all its keys again whenever a screen's bindings may
have changed: every focus change, every refresh_bindings. Each rebuild styles and lays
out a dozen widgets (30-90 ms measured at start-up on 2 cores, three times in the first
second after the first frame, while the model loads). What it shows is a function of
the active bindings, so a rebuild that would show the same keys is skipped, and the
first keys are there from the first frame.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer


class KeysFooter(Footer):
    def __init__(self) -> None:
        super().__init__()
        self._shown: object = None

    def compose(self) -> ComposeResult:
        # Footer shows nothing until the screen first says its bindings changed, then
        # builds itself again: a second layout before the first frame. The keys are known
        # when it is mounted; the focus that follows seldom changes which are shown.
        self.set_reactive(Footer._bindings_ready, True)
        self._shown = self.shown_keys(self.screen)
        yield from super().compose()

    def bindings_changed(self, screen: Screen[object]) -> None:
        # Footer.bindings_changed rebuilds when the app has the focus and this is its screen.
        rebuilds = screen.app.app_focus and self.is_attached and screen is self.screen
        if rebuilds:
            shown = self.shown_keys(screen)
            if shown == self._shown:
                return
            self._shown = shown
        super().bindings_changed(screen)

    @staticmethod
    def shown_keys(screen: Screen[object]) -> object:
        """All that Footer.compose reads of the bindings, for the keys it would show."""
        palette = screen.app.COMMAND_PALETTE_BINDING
        return [
            (key, b.key_display, b.description, b.action, b.group, b.tooltip, enabled, tooltip)
            for key, (_, b, enabled, tooltip) in screen.active_bindings.items()
            if b.show or key == palette
        ]
