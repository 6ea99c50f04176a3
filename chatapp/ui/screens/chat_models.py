"""The chat screen's model: loading it (a message sent meanwhile waits, then goes out),
picking another, and what the status bar says of it and of the context window."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.screen import Screen

from chatapp.core.errors import ChatappError
from chatapp.core.models import Role

if TYPE_CHECKING:
    from collections.abc import Callable

    from chatapp.config import ModelConfig
    from chatapp.core.session import ChatSession
    from chatapp.core.workspace import Workspace
    from chatapp.ui.composer import Composer
    from chatapp.ui.widgets.status_bar import StatusBar


class ModelActions(Screen[None]):
    """Mixed into ChatScreen, which provides the rest (status, composer, send...)."""

    workspace: Workspace
    session: ChatSession | None
    composer: Composer
    _new_chat_model: ModelConfig

    if TYPE_CHECKING:  # ChatScreen's and TurnDisplay's, found through ChatScreen's bases

        @property
        def status(self) -> StatusBar: ...

        @property
        def current_model(self) -> ModelConfig: ...

        def unqueue(self) -> str | None: ...

        def send(self, text: str) -> None: ...

        def save_later(self, save: Callable[[], None]) -> None: ...

    @work(group="load")
    async def prepare_model(self) -> None:
        """Make the current model ready (a local one loads); a queued message goes out."""
        name = self.current_model.name
        self.show_loading()
        try:
            await self.workspace.models.prepare(name)
        except ChatappError as error:
            self.status.state = "error"
            self.unqueue()
            self.notify(str(error), severity="error", timeout=10, markup=False)
            return
        if self.status.state.startswith("loading"):
            self.status.state = "idle"
        if self.composer.pending is not None and name == self.current_model.name:
            text = self.unqueue()
            if text is not None:
                self.send(text)

    def show_loading(self) -> None:
        """The status bar says the current model is loading while it is not ready (a
        queued message says so itself)."""
        name = self.current_model.name
        if not self.workspace.models.ready(name) and self.composer.pending is None:
            self.status.state = f"loading {name}…"

    def action_pick_model(self) -> None:
        from chatapp.ui.screens.model_picker import ModelPickerScreen

        picker = ModelPickerScreen(self.workspace.settings, self.current_model.name)
        self.app.push_screen(picker, self.use_model)

    def use_model(self, name: str | None) -> None:
        if name is None or name == self.current_model.name:
            return
        try:
            chosen = self.workspace.model(name)
            if self.session is not None:
                self.workspace.use_model(self.session, name)
        except ChatappError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        if self.session is not None:
            self.save_later(self.session.save_conversation)
        # New chats go on with the model picked last.
        self._new_chat_model = chosen
        self.set_model_status(self.current_model)
        self.notify(f"Next replies come from {self.current_model.label}", markup=False)
        self.prepare_model()

    def set_model_status(self, model: ModelConfig) -> None:
        self.status.model = model.name
        self.status.context_total = model.n_ctx

    def update_context_status(self) -> None:
        thread = self.session.thread if self.session is not None else []
        last = next((m for m in reversed(thread) if m.role == Role.ASSISTANT), None)
        used = (last.prompt_tokens or 0) + (last.completion_tokens or 0) if last else 0
        self.status.context_used = used
        self.status.tokens_per_second = last.tokens_per_second if last else None
