"""The chat screen's memory: /remember and /forget in the message box, suggestions under
the user's messages, "used N memories" on replies, notices of changes, regenerate
without memory and incognito chats. The memory itself is the Workspace's (core/memory)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from textual import on, work
from textual.screen import Screen

from chatapp.core.errors import ChatappError
from chatapp.core.events import MemoryChanged, MemorySuggested
from chatapp.ui.widgets.memory_suggestion import MemorySuggestion
from chatapp.ui.widgets.message_view import MessageView

if TYPE_CHECKING:
    from chatapp.core.session import ChatSession
    from chatapp.core.workspace import Workspace
    from chatapp.ui.widgets.prompt_input import PromptInput
    from chatapp.ui.widgets.thread_view import ThreadView

# Suggestions can come before their message is on screen: look again this often.
SHOW_RETRY = 0.2
SHOW_TRIES = 50
REMEMBER = "/remember"
FORGET = "/forget"


class MemoryActions(Screen[None]):
    """Mixed into ChatScreen, which provides the rest (prompt, thread_view, session...)."""

    workspace: Workspace
    session: ChatSession | None
    incognito: bool

    if TYPE_CHECKING:  # TurnDisplay's, found through ChatScreen's bases at run time

        @property
        def prompt(self) -> PromptInput: ...

        @property
        def thread_view(self) -> ThreadView: ...

    # -- the message box ------------------------------------------------------------------

    def memory_command(self, text: str) -> bool:
        """Run /remember or /forget typed in the box; False when text is neither."""
        command, _, rest = text.strip().partition(" ")
        if command not in (REMEMBER, FORGET):
            return False
        if self.incognito:
            self.notify("An incognito chat neither reads nor writes memory", severity="warning")
        elif not rest.strip():
            self.notify(f"Usage: {command} <{'a fact' if command == REMEMBER else 'words'}>")
        elif command == REMEMBER:
            self.remember(rest.strip())
        else:
            self.offer_to_forget(rest.strip())
        return True

    @work(group="memory")
    async def remember(self, fact: str) -> None:
        try:
            await asyncio.to_thread(self.workspace.memory.remember, fact)
        except ChatappError as error:
            # The command stays in the box: nothing typed is lost.
            self.notify(str(error), severity="error", markup=False)
            return
        self.prompt.clear()

    @work(group="memory")
    async def offer_to_forget(self, words: str) -> None:
        from chatapp.ui.screens.confirm import ConfirmScreen

        try:
            found = await asyncio.to_thread(self.workspace.memory.matching, words)
        except ChatappError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        if not found:
            self.notify(f"No memory mentions “{words}”", markup=False)
            return
        listed = "\n".join(f"· {memory.text}" for memory in found[:8])
        more = f"\n… and {len(found) - 8} more" if len(found) > 8 else ""
        noun = "this memory" if len(found) == 1 else f"these {len(found)} memories"
        if not await self.app.push_screen_wait(ConfirmScreen(f"Forget {noun}?\n{listed}{more}")):
            return
        try:
            await asyncio.to_thread(self.workspace.memory.forget, [m.id for m in found])
        except ChatappError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        self.prompt.clear()

    def action_open_memory(self) -> None:
        from chatapp.ui.screens.memory import MemoryScreen

        self.app.push_screen(MemoryScreen(self.workspace))

    # -- what the core announces ----------------------------------------------------------

    def memory_event(self, event: object) -> None:
        """Called by ChatScreen.core_event for memory events."""
        if isinstance(event, MemoryChanged):
            from chatapp.ui.screens.memory import MemoryScreen

            # The memory screen tells its own changes (and undoes them with ctrl+z).
            if not any(isinstance(screen, MemoryScreen) for screen in self.app.screen_stack):
                self.notify(f"{event.summary} · undo in the memory screen (F3)", markup=False)
        elif isinstance(event, MemorySuggested):
            self.show_suggestions(event)

    def show_suggestions(self, event: MemorySuggested, tries: int = SHOW_TRIES) -> None:
        if self.session is None or self.session.id != event.conversation_id:
            return
        view = self.thread_view.view_for(event.message_id)
        if view is None:
            # Found before the turn is drawn (it waits for the first token): look again.
            if tries > 1:
                self.set_timer(SHOW_RETRY, lambda: self.show_suggestions(event, tries - 1))
            return
        suggestions = [
            MemorySuggestion(text, slot, event.message_id, event.conversation_id)
            for text, slot in event.suggestions
        ]
        self.thread_view.mount_all(suggestions, after=view)

    @on(MemorySuggestion.Answered)
    def suggestion_answered(self, event: MemorySuggestion.Answered) -> None:
        event.stop()
        self.answer_suggestion(event.suggestion, event.answer)

    @work(group="memory")
    async def answer_suggestion(self, suggestion: MemorySuggestion, answer: str) -> None:
        from chatapp.ui.screens.text_prompt import TextPromptScreen

        text: str | None = suggestion.text
        if answer == "edit":
            text = await self.app.push_screen_wait(TextPromptScreen("Remember", suggestion.text))
        if answer == "dismiss" or not text:
            await suggestion.remove()
            self.prompt.focus()
            return
        slot = suggestion.slot if text == suggestion.text else None
        try:
            await asyncio.to_thread(
                self.workspace.memory.accept,
                text,
                slot,
                suggestion.message_id,
                suggestion.conversation_id,
            )
        except ChatappError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        await suggestion.remove()
        self.prompt.focus()

    # -- replies that used memories --------------------------------------------------------

    @on(MessageView.MemoriesWanted)
    def memories_wanted(self, event: MessageView.MemoriesWanted) -> None:
        event.stop()
        self.send_memory_texts(event.view)

    @work(group="memory")
    async def send_memory_texts(self, view: MessageView) -> None:
        try:
            memories = await asyncio.to_thread(self.workspace.memory.book.list)
        except ChatappError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        by_id = {memory.id: memory.text for memory in memories}
        view.show_memories([by_id[i] for i in view.message.memories_used if i in by_id])
