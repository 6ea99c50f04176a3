"""ChatApp: wiring of settings, store and backends to the screens; bindings and commands."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from chatapp.config import ModelConfig, Settings
from chatapp.core.backends import BackendPool
from chatapp.core.backends.base import BackendError
from chatapp.store.repos import ConversationRepo
from chatapp.store.state import UiStateRepo
from chatapp.ui.gc_pacing import IdleCollector
from chatapp.ui.screens.chat import KEYS_TOOLTIP, ChatScreen
from chatapp.ui.screens.keys import KeysScreen
from chatapp.ui.screens.model_picker import ModelPickerScreen

# Typing pauses this long before the draft is written to disk.
DRAFT_SAVE_DELAY = 0.5


class ChatApp(App[None]):
    TITLE = "chatapp"
    CSS_PATH = "app.tcss"
    BINDINGS = [
        Binding("f1", "toggle_help", "Keys", tooltip=KEYS_TOOLTIP),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, settings: Settings, model_name: str | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.model: ModelConfig = settings.model(model_name)
        self.repo = ConversationRepo(settings.data_dir, settings.user)
        self.pool = BackendPool(settings)
        self.state_repo = UiStateRepo(settings.data_dir, settings.user)
        self.state: dict[str, Any] = {}
        # Until the state is read, theme changes are the app's own defaults, not choices.
        self._state_loaded = False
        self._draft_timer = None
        # When the last key arrived (time.monotonic()): streamed text and full garbage
        # collections wait while someone types.
        self.last_key_at = 0.0
        self.collector = IdleCollector(self.last_busy)

    def on_mount(self) -> None:
        self.state = self.state_repo.load()
        if self.state.get("theme") in self.available_themes:
            self.theme = self.state["theme"]
        elif self.settings.theme in self.available_themes:
            self.theme = self.settings.theme
        self._state_loaded = True
        self.push_screen(ChatScreen())
        # Load the local model after the first paint: the screen shows at once.
        self.call_after_refresh(self.prepare_model)
        self.call_after_refresh(self.collector.install)
        self.set_interval(1.0, self.collector.tick)

    @property
    def chat_screen(self) -> ChatScreen:
        for screen in self.screen_stack:
            if isinstance(screen, ChatScreen):
                return screen
        raise LookupError("no chat screen")

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

    # -- models ---------------------------------------------------------------------------

    def model_for(self, name: str | None) -> ModelConfig:
        """A stored conversation's model if it is still configured, else the current one."""
        return self.settings.models.get(name or "", self.model)

    @property
    def model_ready(self) -> bool:
        """Whether the current model can answer now (a local one must load first)."""
        return self.is_ready(self.model.name)

    def is_ready(self, name: str) -> bool:
        if self.settings.model(name).backend != "llama":
            return True
        return bool(getattr(self.pool.get(name), "loaded", True))

    def prepare_model(self, name: str | None = None) -> None:
        """Load a local model in the background; the screen hears when it is ready."""
        name = name or self.model.name
        if self.is_ready(name):
            self.warm_backend(name)
            self.model_loaded()
            return
        self.chat_screen.model_loading(name)
        self.load_model(name)

    @work(thread=True, group="load")
    def warm_backend(self, name: str) -> None:
        """Make a remote model's backend now (importing httpx costs ~35 ms), not on Enter."""
        self.pool.get(name)

    @work(thread=True, group="load")
    def load_model(self, name: str) -> None:
        backend = self.pool.get(name)
        try:
            backend.load()  # type: ignore[attr-defined]
        except BackendError as error:
            self.call_from_thread(self.model_failed, error)
            return
        self.call_from_thread(self.model_loaded)

    def model_loaded(self) -> None:
        self.chat_screen.model_loaded()

    def model_failed(self, error: BackendError) -> None:
        self.chat_screen.model_failed()
        self.notify(str(error), severity="error", timeout=10, markup=False)

    def action_pick_model(self) -> None:
        current = self.chat_screen.current_model.name
        self.push_screen(ModelPickerScreen(self.settings, current), self.switch_model)

    def switch_model(self, name: str | None) -> None:
        if name is None or name == self.chat_screen.current_model.name:
            return
        self.model = self.settings.model(name)
        self.chat_screen.use_model(name)
        self.notify(f"Next replies come from {self.model.label}", markup=False)
        self.prepare_model()

    # -- remembered state -----------------------------------------------------------------

    def remember(self, key: str, value: Any) -> None:
        self.state[key] = value
        self.save_state({key: value})

    @work(thread=True, group="state")
    def save_state(self, values: dict[str, Any]) -> None:
        self.state_repo.save(values)

    def remember_draft(self, text: str) -> None:
        """Keep the unsent draft on disk (debounced), so even a crash does not lose it."""
        self.state["draft"] = text
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self._draft_timer = self.set_timer(
            DRAFT_SAVE_DELAY, lambda: self.save_state({"draft": self.state["draft"]})
        )

    def watch_theme(self, theme: str) -> None:
        if self._state_loaded and self.state.get("theme") != theme:
            self.remember("theme", theme)

    # -- commands -------------------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        # Textual's "Keys" opens its side help panel; ours is "Show keys" (F1), a full page.
        yield from (c for c in super().get_system_commands(screen) if c.title != "Keys")
        if not isinstance(screen, ChatScreen):
            return
        yield SystemCommand("New chat", "Start a new conversation (ctrl+n)", screen.action_new_chat)
        yield SystemCommand(
            "Switch model", "Answer with another model (ctrl+o)", self.action_pick_model
        )
        yield SystemCommand(
            "Regenerate", "A new reply to the last question (ctrl+r)", screen.action_regenerate
        )
        yield SystemCommand("Stop", "Stop the reply being generated (esc)", screen.action_stop)
        yield SystemCommand(
            "Toggle sidebar",
            "Show or hide the conversations (ctrl+b)",
            screen.action_toggle_sidebar,
        )
        yield SystemCommand(
            "Search conversations", "Filter the sidebar (ctrl+f)", screen.action_search
        )
        yield SystemCommand(
            "Undo delete",
            "Bring back the last deleted conversation (ctrl+z)",
            screen.action_undo_delete,
        )
        yield SystemCommand(
            "Rename conversation", "Give this conversation a title", screen.action_rename_current
        )
        yield SystemCommand(
            "Delete conversation", "Delete this conversation", screen.action_delete_current
        )
        yield SystemCommand(
            "Copy last reply", "Copy the last reply to the clipboard", screen.action_copy_last
        )
        yield SystemCommand("Show keys", "All key bindings (F1)", self.action_toggle_help)

    def action_toggle_help(self) -> None:
        if isinstance(self.screen, KeysScreen):
            self.screen.dismiss()
        else:
            self.push_screen(KeysScreen())

    async def on_unmount(self) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, ChatScreen) and screen.session is not None:
                screen.session.stop()
        if self._draft_timer is not None:
            self._draft_timer.stop()
        # Everything remembered, in one write that finishes before the process may end
        # (a save_state worker still running would be cut off).
        try:
            if self.state:
                await asyncio.to_thread(self.state_repo.save, dict(self.state))
            await self.pool.aclose()
        finally:
            self.collector.uninstall()
