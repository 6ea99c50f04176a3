"""KeysFooter: the screen's keys on one line, as Textual's Footer shows them, drawn as one
widget.

Textual's Footer is a container of one widget a key, and removes and mounts them all
again whenever a screen's bindings may have changed (every focus change). Measured on
the chat screen's first frame (2 cores): mounting, styling and drawing its eight keys
cost more than the rest of the screen's widgets together. Here the keys are text: a
change of keys is a repaint, not a rebuild.

Like the Footer: one key per action, disabled ones dim, the command palette's key on the
right; a click on a key presses it, and its tooltip shows while the pointer is over it.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from textual import events
from textual.content import Content
from textual.screen import Screen
from textual.widget import Widget

KEY_STYLE = "bold $footer-key-foreground on $footer-key-background"
DESCRIPTION_STYLE = "$footer-description-foreground on $footer-description-background"
HOVER_STYLE = " on $block-hover-background"
# Between the keys and the palette's key, as the Footer draws its left border.
PALETTE_SEPARATOR = "▏"


@dataclass(frozen=True, slots=True)
class FooterEntry:
    """One key as shown: what it presses, its label, and whether it does anything now."""

    key: str
    display: str
    description: str
    enabled: bool
    tooltip: str


class KeysFooter(Widget, can_focus=False):
    ALLOW_SELECT = False
    DEFAULT_CSS = """
    KeysFooter {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        text-wrap: nowrap;
        text-overflow: clip;
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self._keys: tuple[FooterEntry, ...] = ()
        self._palette: FooterEntry | None = None
        self._hovered: FooterEntry | None = None
        self._stale = False
        # Where each key was last drawn: (start column, end column, entry).
        self._drawn: list[tuple[int, int, FooterEntry]] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)
        # The first keys are read when first drawn: the screen's widgets are all mounted
        # then, and the screen's check_action may ask any of them.
        self._stale = True

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, screen: Screen[object]) -> None:
        keys, palette = shown_keys(screen)
        self._stale = False
        if (keys, palette) != (self._keys, self._palette):
            self._keys, self._palette = keys, palette
            self.refresh()

    @property
    def entries(self) -> tuple[FooterEntry, ...]:
        """The keys shown, left to right, then the palette's (for tests)."""
        return self._keys + ((self._palette,) if self._palette is not None else ())

    def render(self) -> Content:
        if self._stale:
            self._keys, self._palette = shown_keys(self.screen)
            self._stale = False
        palette = self._palette
        palette_pieces = []
        if palette is not None:
            palette_pieces = [
                (palette.display, KEY_STYLE),
                (f" {palette.description} ", DESCRIPTION_STYLE),
            ]
        # The palette's key keeps its place on the right; the others fill the rest, whole
        # keys only (every key is on the keys page, F1, as well).
        room = self.size.width - sum(cell_len(text) for text, _ in palette_pieces)
        room -= len(PALETTE_SEPARATOR) if palette_pieces else 0
        parts: list[tuple[str, str]] = []
        drawn: list[tuple[int, int, FooterEntry]] = []
        column = 0
        for entry in self._keys:
            pieces = [(f" {entry.display} ", KEY_STYLE)]
            if entry.description:
                pieces.append((f"{entry.description} ", DESCRIPTION_STYLE))
            if column + sum(cell_len(text) for text, _ in pieces) > room:
                break
            column = self._draw(entry, pieces, column, parts, drawn)
        if palette is not None and room >= column:
            # After a thin rule, as the Footer draws it.
            parts.append((" " * (room - column), ""))
            parts.append((PALETTE_SEPARATOR, "$foreground 20%"))
            self._draw(palette, palette_pieces, room + len(PALETTE_SEPARATOR), parts, drawn)
        self._drawn = drawn
        return Content.assemble(*parts)

    def _draw(
        self,
        entry: FooterEntry,
        pieces: list[tuple[str, str]],
        column: int,
        parts: list[tuple[str, str]],
        drawn: list[tuple[int, int, FooterEntry]],
    ) -> int:
        extra = HOVER_STYLE if entry == self._hovered else ""
        if not entry.enabled:
            extra += " dim"
        width = 0
        for text, style in pieces:
            parts.append((text, style + extra))
            width += cell_len(text)
        drawn.append((column, column + width, entry))
        return column + width

    def entry_at(self, x: int) -> FooterEntry | None:
        return next((entry for start, end, entry in self._drawn if start <= x < end), None)

    def on_mouse_down(self, event: events.MouseDown) -> None:
        entry = self.entry_at(event.x)
        if entry is None:
            return
        if entry.enabled:
            self.app.simulate_key(entry.key)
        else:
            self.app.bell()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        self._hover(self.entry_at(event.x))

    def on_leave(self) -> None:
        self._hover(None)

    def _hover(self, entry: FooterEntry | None) -> None:
        if entry == self._hovered:
            return
        self._hovered = entry
        self.tooltip = entry.tooltip if entry is not None and entry.tooltip else None
        self.refresh()


def shown_keys(screen: Screen[object]) -> tuple[tuple[FooterEntry, ...], FooterEntry | None]:
    """What Textual's Footer would show for screen: the first binding of each action
    marked to be shown, in order, and the command palette's key (None if it has none)."""
    app = screen.app
    palette_key = app.COMMAND_PALETTE_BINDING
    keys: dict[str, FooterEntry] = {}
    palette = None
    for key, (_, binding, enabled, tooltip) in screen.active_bindings.items():
        entry = FooterEntry(
            binding.key,
            app.get_key_display(binding),
            binding.description,
            enabled,
            tooltip or binding.tooltip or binding.description,
        )
        if key == palette_key:
            palette = entry if app.ENABLE_COMMAND_PALETTE else None
        elif binding.show and binding.action not in keys:
            keys[binding.action] = entry
    return tuple(keys.values()), palette
