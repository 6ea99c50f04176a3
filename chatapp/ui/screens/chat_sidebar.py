"""The chat screen's sidebar: listing and searching conversations, renaming, deleting
with undo. Every change goes through the Workspace, and the list refreshes when the core
announces it (ChatScreen.core_event)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from textual import on, work
from textual.screen import Screen
from textual.widgets import Input, TextArea

from chatapp.core.errors import ChatappError
from chatapp.ui.remembered import Remembered
from chatapp.ui.widgets.conversation_list import ConversationList

if TYPE_CHECKING:
    from chatapp.core.session import ChatSession
    from chatapp.core.workspace import Workspace


class SidebarActions(Screen[None]):
    """Mixed into ChatScreen, which provides the rest (render_thread, versions, ...)."""

    workspace: Workspace
    session: ChatSession | None
    remembered: Remembered
    deleted: list[str]
    _undo_delete_armed: bool

    @property
    def sidebar(self) -> ConversationList:
        return self.query_one(ConversationList)

    @work(exclusive=True, group="sidebar")
    async def refresh_sidebar(self) -> None:
        """List the conversations, filtered by what is in the search box."""
        search = self.sidebar.filter_text
        try:
            found = await asyncio.to_thread(self.workspace.list_conversations, search)
        except ChatappError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        self.sidebar.show(found)
        if self.session is not None:
            self.sidebar.current_id = self.session.id

    @on(ConversationList.FilterChanged)
    def filter_sidebar(self) -> None:
        self._undo_delete_armed = False
        self.refresh_sidebar()

    @on(ConversationList.Selected)
    def open_selected(self, event: ConversationList.Selected) -> None:
        self.open_conversation(event.conversation_id)

    @on(ConversationList.RenameRequested)
    def rename(self, event: ConversationList.RenameRequested) -> None:
        self.ask_rename(event.conversation_id)

    @work
    async def ask_rename(self, conversation_id: str) -> None:
        from chatapp.ui.screens.text_prompt import TextPromptScreen

        try:
            title = await asyncio.to_thread(self.workspace.title, conversation_id)
            title = await self.app.push_screen_wait(TextPromptScreen("Rename conversation", title))
            if title:
                await asyncio.to_thread(self.workspace.rename, conversation_id, title)
        except ChatappError as error:
            self.notify(str(error), severity="error", markup=False)

    @on(ConversationList.DeleteRequested)
    def delete(self, event: ConversationList.DeleteRequested) -> None:
        self.confirm_delete(event.conversation_id)

    @work
    async def confirm_delete(self, conversation_id: str) -> None:
        from chatapp.ui.screens.confirm import ConfirmScreen

        if not await self.app.push_screen_wait(ConfirmScreen("Delete this conversation?")):
            return
        if self.session is not None and self.session.id == conversation_id:
            self.session.stop()
            self.session = None
            self.sidebar.current_id = None
            await self.render_thread()
        try:
            await asyncio.to_thread(self.workspace.delete, conversation_id)
        except ChatappError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        self.deleted.append(conversation_id)
        self._undo_delete_armed = True
        self.notify("Conversation deleted. Press ctrl+z to undo.")
        await self.offer_to_forget_its_memories(conversation_id)

    async def offer_to_forget_its_memories(self, conversation_id: str) -> None:
        """A deleted chat's facts need not live on: offer to forget what came from it."""
        from chatapp.ui.screens.confirm import ConfirmScreen

        memory = self.workspace.memory
        try:
            found = await asyncio.to_thread(memory.book.from_conversation, conversation_id)
            if not found:
                return
            noun = "memory" if len(found) == 1 else f"{len(found)} memories"
            listed = "\n".join(f"· {m.text}" for m in found[:6])
            question = f"Also forget the {noun} that came from it?\n{listed}"
            if await self.app.push_screen_wait(ConfirmScreen(question)):
                await asyncio.to_thread(memory.forget, [m.id for m in found])
        except ChatappError as error:
            self.notify(str(error), severity="error", markup=False)

    @work
    async def action_undo_delete(self) -> None:
        if not self.deleted:
            self.notify("Nothing to undo")
            return
        conversation_id = self.deleted.pop()
        self._undo_delete_armed = bool(self.deleted)
        try:
            await asyncio.to_thread(self.workspace.restore, conversation_id)
        except ChatappError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        self.notify("Conversation restored")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "undo_delete":
            typing = isinstance(self.focused, TextArea | Input)
            return bool(self.deleted) and (self._undo_delete_armed or not typing)
        return True

    def action_rename_current(self) -> None:
        if self.session is not None and not self.session.is_new:
            self.ask_rename(self.session.id)

    def action_delete_current(self) -> None:
        if self.session is not None and not self.session.is_new:
            self.confirm_delete(self.session.id)

    def action_toggle_sidebar(self) -> None:
        self.sidebar.display = not self.sidebar.display
        self.remembered.set("sidebar", self.sidebar.display)

    def action_search(self) -> None:
        self.sidebar.display = True
        self.sidebar.focus_filter()
