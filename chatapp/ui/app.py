"""ChatApp: wiring only. It takes a Workspace, opens the chat screen, relays the core's
events to the screens as Textual messages, and owns what is app-wide: the theme, the
keys page, the command palette, and when full garbage collections may run."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable

from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.geometry import Region
from textual.screen import Screen

from chatapp.core.errors import ChatappError
from chatapp.core.events import Event
from chatapp.core.workspace import Workspace
from chatapp.ui.gc_pacing import IdleCollector
from chatapp.ui.messages import CoreEvent
from chatapp.ui.remembered import Remembered
from chatapp.ui.screens.chat import KEYS_TOOLTIP, ChatScreen
from chatapp.ui.screens.keys import KeysScreen

log = logging.getLogger(__name__)


@runtime_checkable
class HasCommands(Protocol):
    """A screen with palette commands of its own."""

    def commands(self) -> Iterable[SystemCommand]: ...


class ChatApp(App[None]):
    TITLE = "chatapp"
    # The chat screen's own CSS too, read with the app's: read when the screen is pushed,
    # it would make Textual parse every stylesheet again before the first frame.
    CSS_PATH = ["app.tcss", "screens/chat.tcss"]
    BINDINGS = [
        Binding("f1", "toggle_help", "Keys", tooltip=KEYS_TOOLTIP),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, workspace: Workspace, model_name: str | None = None) -> None:
        super().__init__()
        self.workspace = workspace
        self.model_name = model_name
        self.remembered = Remembered(
            {}, workspace.save_ui_state, on_failure=self._remembering_failed
        )
        # Until the state is read, theme changes are the app's own defaults, not choices.
        self._state_loaded = False
        # When the last key arrived (time.monotonic()): streamed text and full garbage
        # collections wait while someone types.
        self.last_key_at = 0.0
        self.collector = IdleCollector(self.last_busy)
        self._unsubscribe = workspace.events.subscribe(self._relay)

    def on_mount(self) -> None:
        try:
            self.remembered.values = self.workspace.load_ui_state()
        except ChatappError as error:
            # A damaged ui.json was moved aside (or cannot be read): start from defaults.
            self.notify(str(error), severity="warning", timeout=10, markup=False)
        theme = self.remembered.get("theme")
        if theme in self.available_themes:
            self.theme = theme
        elif self.workspace.settings.theme in self.available_themes:
            self.theme = self.workspace.settings.theme
        self._state_loaded = True
        # After Textual's start-up, not in it: a screen pushed here is drawn while start-up
        # holds output back, and drawn whole again when it ends (measured: one full frame
        # more before the first one shows).
        self.call_later(self.open_chat)
        self.call_after_refresh(self.collector.install)
        self.call_after_refresh(self.purge_trash)
        self.set_interval(1.0, self.collector.tick)

    def open_chat(self) -> None:
        self.push_screen(
            ChatScreen(self.workspace, self.remembered, self.model_name, lambda: self.last_key_at)
        )

    def _remembering_failed(self, reason: str) -> None:
        self.notify(
            f"{reason}; your draft is kept here and saved when it can be",
            severity="warning",
            timeout=10,
            markup=False,
        )

    def _relay(self, event: Event) -> None:
        """Core events reach every screen as a message (emit may run in any thread)."""
        for screen in self.screen_stack:
            screen.post_message(CoreEvent(event))

    @work(thread=True, group="trash")
    def purge_trash(self) -> None:
        try:
            self.workspace.purge_trash()
        except ChatappError as error:
            self.call_from_thread(self.notify, str(error), severity="warning", markup=False)

    def last_busy(self) -> float:
        """When someone last waited on the screen: now while a reply is generated or
        drawn, else when the last key came."""
        if any(w.group == "llm" and not w.is_finished for w in self.workers):
            return time.monotonic()
        return self.last_key_at

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self.last_key_at = time.monotonic()
        await super().on_event(event)

    def watch_theme(self, theme: str) -> None:
        if self._state_loaded and self.remembered.get("theme") != theme:
            self.remembered.set("theme", theme)

    def on_compare_screen_save_variant(self, event: Any) -> None:
        """A compare screen's variant to save as a template (CompareScreen.SaveVariant,
        handled by name so the app does not import that screen to start)."""
        chat = next((s for s in self.screen_stack if isinstance(s, ChatScreen)), None)
        if chat is not None:
            chat.save_variant(event.variant)

    # -- keys and commands ----------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        # Textual's "Keys" opens its side help panel; ours is "Show keys" (F1), a full page.
        yield from (c for c in super().get_system_commands(screen) if c.title != "Keys")
        if isinstance(screen, HasCommands):
            yield from screen.commands()
            yield SystemCommand("Show keys", "All key bindings (F1)", self.action_toggle_help)

    def action_toggle_help(self) -> None:
        if isinstance(self.screen, KeysScreen):
            self.screen.dismiss()
        else:
            self.push_screen(KeysScreen.of(self.BINDINGS, self.screen))

    # -- a test hook ----------------------------------------------------------------------

    def screen_text(self, region: Region | None = None) -> str:
        """What the terminal shows right now (modal screens included), line by line, or
        only inside region: what a user reads, for tests and benchmarks."""
        strips = self.screen._compositor.render_strips()
        if region is None:
            return "\n".join(strip.text.rstrip() for strip in strips)
        lines = strips[region.y : region.bottom]
        return "\n".join(s.crop(region.x, region.right).text.rstrip() for s in lines).strip()

    async def on_unmount(self) -> None:
        self._unsubscribe()
        self.workspace.stop_all()
        # Everything remembered, in one write that finishes before the process may end.
        try:
            try:
                await self.remembered.flush()
            except ChatappError as error:
                log.warning("could not remember the UI state at exit: %s", error)
            await self.workspace.aclose(title_wait=1.0)
        finally:
            self.collector.uninstall()
