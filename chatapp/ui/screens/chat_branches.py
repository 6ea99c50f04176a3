"""The chat screen's branches: regenerate (with or without memory), retry a failed reply,
step between alternative replies, and edit a message (a new branch from it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.screen import Screen

from chatapp.core.errors import ChatappError
from chatapp.ui.widgets.message_view import MessageView

if TYPE_CHECKING:
    from collections.abc import Callable

    from chatapp.core.models import Message
    from chatapp.core.session import ChatSession
    from chatapp.core.turn import Turn
    from chatapp.core.workspace import Workspace
    from chatapp.ui.composer import Composer
    from chatapp.ui.widgets.prompt_input import PromptInput
    from chatapp.ui.widgets.thread_view import ThreadView


class BranchActions(Screen[None]):
    """Mixed into ChatScreen, which provides the rest (prompt, thread_view, show_turn...)."""

    workspace: Workspace
    session: ChatSession | None
    composer: Composer

    if TYPE_CHECKING:  # ChatScreen's and the other mixins', found through its bases

        @property
        def prompt(self) -> PromptInput: ...

        @property
        def thread_view(self) -> ThreadView: ...

        def show_turn(self, turn: Turn, rerender: bool = False) -> None: ...

        def prepare_model(self) -> None: ...

        def versions(self, message: Message) -> tuple[int, int]: ...

        def save_later(self, save: Callable[[], None]) -> None: ...

        def update_banner(self) -> None: ...

        def update_context_status(self) -> None: ...

    def action_regenerate_without_memory(self) -> None:
        self.action_regenerate(memory=False)

    def action_regenerate(self, question_id: str | None = None, memory: bool = True) -> None:
        session = self.session
        if session is None or session.generating or self.composer.pending is not None:
            return
        if not self.workspace.models.ready(session.model.name):
            self.notify("The model is still loading: try again in a moment")
            self.prepare_model()
            return
        try:
            turn = session.regenerate(question_id=question_id, memory=memory)
        except ChatappError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        self.show_turn(turn, rerender=True)

    @on(MessageView.RetryRequested)
    def retry(self, event: MessageView.RetryRequested) -> None:
        event.stop()
        known = self.session is not None and event.message_id in self.session.tree
        self.action_regenerate(event.message_id if known else None)

    @on(MessageView.SwitchSibling)
    def switch_sibling(self, event: MessageView.SwitchSibling) -> None:
        event.stop()
        session = self.session
        if session is None or session.generating:
            return
        try:
            shown = session.switch_sibling(event.message_id, event.step)
        except ChatappError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        self.save_later(session.save_conversation)
        self.run_worker(self._after_switch(shown), group="open", exclusive=True)

    async def _after_switch(self, shown_id: str) -> None:
        if self.session is not None:
            await self.thread_view.show_version(self.session.thread, self.versions, shown_id)
            self.update_context_status()

    @on(MessageView.EditRequested)
    def start_edit(self, event: MessageView.EditRequested) -> None:
        event.stop()
        if self.composer.pending is None:
            self.begin_edit(event.message, event.message.content)

    def begin_edit(self, message: Message, text: str) -> None:
        """Edit message, with text in the box; the draft comes back when editing ends."""
        self.composer.begin_edit(message, self.prompt.text)
        self.prompt.text = text
        self.prompt.move_cursor(self.prompt.document.end)
        self.prompt.focus()
        self.update_banner()

    def end_edit(self) -> None:
        """Leave editing and give the box back the draft it had before."""
        draft = self.composer.end_edit()
        if draft is not None:
            self.prompt.text = draft
            self.update_banner()
