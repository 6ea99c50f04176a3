"""The chat screen: sidebar of conversations, the thread, the prompt and the status bar.

It renders and dispatches; conversations, generation and storage live in chatapp.core."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from chatapp.core.backends.base import BackendError
from chatapp.core.models import Message, Role
from chatapp.core.session import ChatSession, Reply, plain_title
from chatapp.store.errors import StoreError
from chatapp.ui.screens.confirm import ConfirmScreen
from chatapp.ui.screens.text_prompt import TextPromptScreen
from chatapp.ui.widgets.conversation_list import ConversationList
from chatapp.ui.widgets.message_view import MessageView
from chatapp.ui.widgets.prompt_input import PromptInput
from chatapp.ui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from chatapp.ui.app import ChatApp

# Mount only the newest messages of a long conversation; older ones load on scroll-up.
PAGE = 40
# Streamed text reaches the screen at most this often (one refresh a frame, not a token).
FRAME = 1 / 30


class ChatScreen(Screen[None]):
    CSS_PATH = "chat.tcss"
    BINDINGS = [
        Binding("ctrl+n", "new_chat", "New chat"),
        Binding("escape", "stop", "Stop", show=False),
        Binding("ctrl+r", "regenerate", "Regenerate"),
        Binding("ctrl+o", "pick_model", "Model"),
        Binding("ctrl+b", "toggle_sidebar", "Sidebar"),
        Binding("ctrl+f", "search", "Search", show=False),
        Binding("ctrl+z", "undo_delete", "Undo delete", show=False),
        Binding("question_mark", "app.toggle_help", "Keys", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.session: ChatSession | None = None
        self.editing: Message | None = None
        self.pending: str | None = None
        self.deleted: list[str] = []
        self._oldest_shown = 0

    @property
    def chat_app(self) -> ChatApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield ConversationList(id="sidebar")
            with Vertical(id="main"):
                yield VerticalScroll(id="thread")
                yield Static("", id="edit-banner")
                yield PromptInput(id="prompt")
        yield StatusBar(id="status")
        yield Footer()

    @property
    def thread_view(self) -> VerticalScroll:
        return self.query_one("#thread", VerticalScroll)

    @property
    def prompt(self) -> PromptInput:
        return self.query_one(PromptInput)

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    def on_mount(self) -> None:
        app = self.chat_app
        self.status.user = app.settings.user
        self.status.model = app.model.name
        self.status.context_total = app.model.n_ctx
        self.prompt.focus()
        self.watch(self.thread_view, "scroll_y", self.maybe_load_older, init=False)
        self.refresh_sidebar()
        draft = app.state.get("draft")
        if draft:
            self.prompt.text = draft

    # -- sidebar --------------------------------------------------------------------------

    @work(exclusive=True, group="sidebar")
    async def refresh_sidebar(self, search: str = "") -> None:
        repo = self.chat_app.repo
        if search:
            summaries = await asyncio.to_thread(repo.search, search)
        else:
            summaries = await asyncio.to_thread(repo.list_conversations)
        sidebar = self.query_one(ConversationList)
        sidebar.show(summaries)
        if self.session is not None:
            sidebar.current_id = self.session.conversation.id

    @on(ConversationList.FilterChanged)
    def filter_sidebar(self, event: ConversationList.FilterChanged) -> None:
        self.refresh_sidebar(event.text.strip())

    @on(ConversationList.Selected)
    def open_selected(self, event: ConversationList.Selected) -> None:
        self.open_conversation(event.conversation_id)

    @work(exclusive=True, group="open")
    async def open_conversation(self, conversation_id: str) -> None:
        app = self.chat_app
        if self.session is not None and self.session.generating:
            self.notify(
                "A reply is still streaming: press Esc to stop it first", severity="warning"
            )
            return
        try:
            conversation, messages = await asyncio.to_thread(app.repo.load, conversation_id)
        except StoreError as error:
            self.notify(str(error), severity="error")
            return
        model = app.model_for(conversation.model)
        self.session = ChatSession(
            app.repo, app.pool.get(model.name), model, conversation, messages
        )
        self.set_model_status(model.name, model.n_ctx)
        self.query_one(ConversationList).current_id = conversation_id
        await self.render_thread()
        self.prompt.focus()

    @on(ConversationList.RenameRequested)
    def rename(self, event: ConversationList.RenameRequested) -> None:
        self.ask_rename(event.conversation_id)

    @work
    async def ask_rename(self, conversation_id: str) -> None:
        repo = self.chat_app.repo
        conversation, _ = await asyncio.to_thread(repo.load, conversation_id)
        title = await self.app.push_screen_wait(
            TextPromptScreen("Rename conversation", conversation.title)
        )
        if not title or not title.strip():
            return
        await asyncio.to_thread(repo.rename, conversation_id, title.strip())
        if self.session is not None and self.session.conversation.id == conversation_id:
            self.session.conversation.title = title.strip()
        self.refresh_sidebar()

    @on(ConversationList.DeleteRequested)
    def delete(self, event: ConversationList.DeleteRequested) -> None:
        self.confirm_delete(event.conversation_id)

    @work
    async def confirm_delete(self, conversation_id: str) -> None:
        repo = self.chat_app.repo
        if not await self.app.push_screen_wait(ConfirmScreen("Delete this conversation?")):
            return
        if self.session is not None and self.session.conversation.id == conversation_id:
            if self.session.generating:
                self.session.stop()
            self.session = None
            await self.render_thread()
        await asyncio.to_thread(repo.delete, conversation_id)
        self.deleted.append(conversation_id)
        self.notify("Conversation deleted. Press ctrl+z to undo.")
        self.refresh_sidebar()

    @work
    async def action_undo_delete(self) -> None:
        if not self.deleted:
            self.notify("Nothing to undo")
            return
        conversation_id = self.deleted.pop()
        await asyncio.to_thread(self.chat_app.repo.restore, conversation_id)
        self.notify("Conversation restored")
        self.refresh_sidebar()

    def action_rename_current(self) -> None:
        if self.session is not None and not self.session.repo_is_new:
            self.ask_rename(self.session.conversation.id)

    def action_delete_current(self) -> None:
        if self.session is not None and not self.session.repo_is_new:
            self.confirm_delete(self.session.conversation.id)

    def action_copy_last(self) -> None:
        last = next(
            (
                v
                for v in reversed(list(self.thread_view.query(MessageView)))
                if v.message.role == Role.ASSISTANT
            ),
            None,
        )
        if last is None:
            self.notify("No reply to copy yet")
        else:
            last.action_copy()

    def action_toggle_sidebar(self) -> None:
        sidebar = self.query_one(ConversationList)
        sidebar.display = not sidebar.display
        self.chat_app.remember("sidebar", sidebar.display)

    def action_search(self) -> None:
        sidebar = self.query_one(ConversationList)
        sidebar.display = True
        sidebar.focus_filter()

    # -- the thread -----------------------------------------------------------------------

    async def render_thread(self) -> None:
        """Mount the visible branch: the newest PAGE messages, older ones on scroll-up."""
        thread = self.session.thread if self.session is not None else []
        view = self.thread_view
        await view.remove_children()
        self._oldest_shown = max(0, len(thread) - PAGE)
        await view.mount_all(self.message_view(m) for m in thread[self._oldest_shown :])
        view.scroll_end(animate=False)
        view.anchor()
        self.update_context_status()

    def message_view(self, message: Message) -> MessageView:
        assert self.session is not None
        return MessageView(message, self.session.sibling_position(message.id))

    def maybe_load_older(self, scroll_y: float) -> None:
        if scroll_y <= 0 and self._oldest_shown > 0:
            self.load_older()

    @work(exclusive=True, group="older")
    async def load_older(self) -> None:
        if self.session is None or self._oldest_shown == 0:
            return
        thread = self.session.thread
        start = max(0, self._oldest_shown - PAGE)
        views = [self.message_view(m) for m in thread[start : self._oldest_shown]]
        self._oldest_shown = start
        first = self.thread_view.children[0] if self.thread_view.children else None
        await self.thread_view.mount_all(views, before=first)
        if first is not None:
            self.thread_view.scroll_to_widget(first, animate=False, top=True)

    # -- sending --------------------------------------------------------------------------

    @on(PromptInput.Submitted)
    def submitted(self, event: PromptInput.Submitted) -> None:
        text = event.text
        if self.session is not None and self.session.generating:
            self.notify("Still answering: press Esc to stop, then send", severity="warning")
            return
        backend = self.chat_app.pool.get(self.chat_app.model.name)
        if not self.chat_app.model_ready:
            # The message goes out as soon as the model has loaded (see model_loaded).
            self.pending = text
            self.prompt.clear()
            self.prompt.remember(text)
            self.status.state = "loading model… your message is queued"
            return
        self.send(text, backend)

    def send(self, text: str, backend: object | None = None) -> None:
        app = self.chat_app
        editing, self.editing = self.editing, None
        self.query_one("#edit-banner", Static).update("")
        self.remove_class("-editing")
        if self.session is None:
            self.session = ChatSession.new(
                app.repo, app.pool.get(app.model.name), app.model, user=app.settings.user
            )
        try:
            if editing is not None:
                reply = self.session.edit(editing.id, text)
            else:
                reply = self.session.send(text)
        except (BackendError, RuntimeError, ValueError) as error:
            # The draft stays in the input: nothing typed is lost.
            self.notify(str(error), severity="error")
            return
        self.prompt.remember(text)
        self.prompt.clear()
        app.remember("draft", "")
        self.show_reply(reply, rerender=editing is not None)

    def model_loaded(self) -> None:
        """Called by the app when the local model is ready."""
        self.status.state = "idle"
        if self.pending is not None:
            text, self.pending = self.pending, None
            self.send(text)

    def show_reply(self, reply: Reply, rerender: bool = False) -> None:
        self.run_worker(self._show_reply(reply, rerender), exclusive=True, group="llm")

    async def _show_reply(self, reply: Reply, rerender: bool) -> None:
        assert self.session is not None
        question = self.session.tree.get(reply.message.parent_id or "")
        last = self.last_view()
        shown = last.message.id if last is not None else None
        if rerender or shown not in (question.id, question.parent_id):
            await self.render_thread()
        elif shown != question.id:
            await self.thread_view.mount(self.message_view(question))
        view = MessageView(reply.message)
        await self.thread_view.mount(view)
        self.thread_view.anchor()
        await self.stream_into(view, reply)

    async def stream_into(self, view: MessageView, reply: Reply) -> None:
        """Stream the reply into its view, one screen update a frame."""
        self.status.state = "generating"
        self.status.dropped = reply.prompt.dropped
        self.status.context_used = reply.prompt.prompt_tokens
        view.start_stream()
        buffer: list[str] = []
        received = 0
        started = time.perf_counter()

        async def flush() -> None:
            if buffer:
                text = "".join(buffer)
                buffer.clear()
                await view.write(text)

        timer = self.set_interval(FRAME, flush)
        try:
            async for piece in reply:
                buffer.append(piece)
                received += 1
        except BackendError:
            pass  # reply.error holds it; shown below
        finally:
            timer.stop()
            await flush()
        elapsed = time.perf_counter() - started
        await self.finish_reply(view, reply, received / elapsed if elapsed else None)

    async def finish_reply(self, view: MessageView, reply: Reply, rate: float | None) -> None:
        message = reply.message
        if message.content or message.finish_reason != "error":
            await view.finish(message)
        else:
            await view.remove()
        if reply.error is not None:
            self.status.state = "error"
            target = view if view.is_mounted else self.last_view()
            if target is not None:
                target.show_error(str(reply.error), message.parent_id)
        else:
            self.status.state = "stopped" if message.incomplete else "idle"
        self.status.tokens_per_second = message.tokens_per_second or rate
        self.status.context_used = reply.prompt.prompt_tokens + (message.completion_tokens or 0)
        if reply.error is None and message.content:
            self.refresh_siblings()
        self.maybe_title(reply)
        self.refresh_sidebar()

    def last_view(self) -> MessageView | None:
        views = list(self.thread_view.query(MessageView))
        return views[-1] if views else None

    def refresh_siblings(self) -> None:
        """Re-label ‹ n/m › on the last two messages after a regenerate or edit."""
        if self.session is None:
            return
        for view in list(self.thread_view.query(MessageView))[-2:]:
            if view.message.id in self.session.tree:
                view.set_versions(self.session.sibling_position(view.message.id))

    @work(group="title")
    async def maybe_title(self, reply: Reply) -> None:
        """Name a new conversation from its first exchange (by the model, or plainly)."""
        session = self.session
        if session is None or reply.error is not None or len(session.tree) != 2:
            return
        from chatapp.core.titles import generate_title

        question = session.tree.get(reply.message.parent_id or "")
        if session.conversation.title != plain_title(question.content):
            return
        title = await generate_title(session.backend, question.content)
        session.conversation.title = title
        await asyncio.to_thread(session.save_conversation)
        self.refresh_sidebar()

    # -- conversation actions -------------------------------------------------------------

    def action_stop(self) -> None:
        if self.editing is not None:
            self.cancel_edit()
        elif self.session is not None and self.session.generating:
            self.session.stop()
            self.status.state = "stopped"

    def action_new_chat(self) -> None:
        if self.session is not None and self.session.generating:
            self.session.stop()
        self.session = None
        self.editing = None
        self.query_one(ConversationList).current_id = None
        self.run_worker(self.render_thread(), group="open", exclusive=True)
        self.status.tokens_per_second = None
        self.prompt.focus()

    def action_regenerate(self) -> None:
        session = self.session
        if session is None or session.generating:
            return
        try:
            reply = session.regenerate()
        except (BackendError, ValueError) as error:
            self.notify(str(error), severity="error")
            return
        self.show_reply(reply, rerender=True)

    @on(MessageView.RetryRequested)
    def retry(self, event: MessageView.RetryRequested) -> None:
        event.stop()
        if self.session is not None and event.message_id in self.session.tree:
            # Answer the question again from where the failed reply hung.
            self.session.conversation.active_leaf = event.message_id
        self.action_regenerate()

    @on(MessageView.SwitchSibling)
    def switch_sibling(self, event: MessageView.SwitchSibling) -> None:
        event.stop()
        if self.session is None or self.session.generating:
            return
        self.session.switch_sibling(event.message_id, event.step)
        self.run_worker(asyncio.to_thread(self.session.save_conversation))
        self.run_worker(self._after_switch(), group="open", exclusive=True)

    async def _after_switch(self) -> None:
        await self.render_thread()
        self.thread_view.release_anchor()

    @on(MessageView.EditRequested)
    def start_edit(self, event: MessageView.EditRequested) -> None:
        event.stop()
        self.editing = event.message
        self.prompt.text = event.message.content
        self.prompt.focus()
        self.add_class("-editing")
        self.query_one("#edit-banner", Static).update(
            "Editing a message: Enter sends it as a new branch, Esc cancels"
        )

    def cancel_edit(self) -> None:
        self.editing = None
        self.prompt.clear()
        self.remove_class("-editing")
        self.query_one("#edit-banner", Static).update("")

    @on(PromptInput.Changed)
    def draft_changed(self) -> None:
        self.chat_app.remember_draft(self.prompt.text)

    # -- models ---------------------------------------------------------------------------

    def action_pick_model(self) -> None:
        self.chat_app.action_pick_model()

    def use_model(self, name: str) -> None:
        app = self.chat_app
        model = app.settings.model(name)
        if self.session is not None:
            self.session.use_model(app.pool.get(name), model)
            self.run_worker(asyncio.to_thread(self.session.save_conversation))
        self.set_model_status(model.name, model.n_ctx)

    def set_model_status(self, name: str, n_ctx: int) -> None:
        self.status.model = name
        self.status.context_total = n_ctx

    def update_context_status(self) -> None:
        thread = self.session.thread if self.session is not None else []
        last = next((m for m in reversed(thread) if m.role == Role.ASSISTANT), None)
        used = (last.prompt_tokens or 0) + (last.completion_tokens or 0) if last else 0
        self.status.context_used = used
        self.status.tokens_per_second = last.tokens_per_second if last else None
