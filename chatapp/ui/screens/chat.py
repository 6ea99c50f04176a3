"""The chat screen: sidebar of conversations, the thread, the prompt and the status bar.

It renders and dispatches; conversations, generation and storage live in chatapp.core."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Input, Static, TextArea

from chatapp.core.backends.base import BackendError
from chatapp.core.models import FinishReason, Message, Role
from chatapp.core.session import ChatSession, Reply, plain_title
from chatapp.store.errors import StoreError
from chatapp.ui.screens.confirm import ConfirmScreen
from chatapp.ui.screens.text_prompt import TextPromptScreen
from chatapp.ui.widgets.conversation_list import ConversationList
from chatapp.ui.widgets.message_view import MessageView
from chatapp.ui.widgets.prompt_input import PromptInput
from chatapp.ui.widgets.status_bar import StatusBar
from chatapp.ui.widgets.thread_view import ThreadView

if TYPE_CHECKING:
    from chatapp.config import ModelConfig
    from chatapp.ui.app import ChatApp

# Mount only the newest messages of a long conversation; older ones load on scroll-up.
PAGE = 40
# Streamed text reaches the screen at most this often: each update lays the reply out
# again, so it is one update for several tokens, never one a token.
FRAME = 1 / 10
# Keys come first: streamed text waits while the user types (a key in the last TYPING_QUIET
# seconds), so the key's echo is not drawn behind a layout, but never longer than MAX_DEFER.
TYPING_QUIET = 0.05
MAX_DEFER = 0.5
# The longest the screen waits for the first token before drawing the turn.
UNDERWAY_WAIT = 0.1

EDITING = "Editing a message: Enter sends it as a new branch, Esc cancels"
KEYS_TOOLTIP = "All the keys (this page)"
QUEUED = "Queued: your message goes out as soon as the model has loaded (Esc cancels)"


class ChatScreen(Screen[None]):
    CSS_PATH = "chat.tcss"
    BINDINGS = [
        Binding("ctrl+n", "new_chat", "New chat", tooltip="Start a new conversation"),
        Binding("escape", "stop", "Stop", show=False, tooltip="Stop the reply; its text is kept"),
        Binding(
            "ctrl+r",
            "regenerate",
            "Regenerate",
            tooltip="A new reply to the last question; the old one stays",
        ),
        Binding("ctrl+o", "pick_model", "Model", tooltip="Switch the model for the next replies"),
        Binding("ctrl+b", "toggle_sidebar", "Sidebar", tooltip="Show or hide the conversations"),
        Binding("ctrl+f", "search", "Search", show=False, tooltip="Search the conversations"),
        # Priority, or the prompt's own ctrl+z (undo typing) would always win; check_action
        # hands the key back to the text box unless a delete is the latest thing to undo.
        Binding(
            "ctrl+z",
            "undo_delete",
            "Undo delete",
            show=False,
            priority=True,
            tooltip="Bring back the conversation just deleted",
        ),
        Binding("question_mark", "app.toggle_help", "Keys", show=False, tooltip=KEYS_TOOLTIP),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.session: ChatSession | None = None
        self.editing: Message | None = None
        # The prompt as it was before an edit began; it comes back when the edit ends.
        self._draft_before_edit = ""
        # A message sent while the local model loads; it stays in the (read-only) input.
        self.pending: str | None = None
        self.deleted: list[str] = []
        self._undo_delete_armed = False
        self._oldest_shown = 0
        self._loading_older = False

    @property
    def chat_app(self) -> ChatApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield ConversationList(id="sidebar")
            with Vertical(id="main"):
                yield ThreadView(self.welcome(), id="thread")
                yield Static("", id="banner")
                yield PromptInput(id="prompt")
        yield StatusBar(id="status")
        yield Footer()

    @property
    def thread_view(self) -> ThreadView:
        return self.query_one("#thread", ThreadView)

    @property
    def prompt(self) -> PromptInput:
        return self.query_one(PromptInput)

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    @property
    def current_model(self) -> ModelConfig:
        """The model that answers the next message sent on this screen."""
        return self.session.model if self.session is not None else self.chat_app.model

    def on_mount(self) -> None:
        app = self.chat_app
        self.status.user = app.settings.user
        self.set_model_status(app.model.name, app.model.n_ctx)
        self.query_one(ConversationList).display = app.state.get("sidebar") is not False
        self.prompt.focus()
        self.watch(self.thread_view, "scroll_y", self.maybe_load_older, init=False)
        self.refresh_sidebar()
        draft = app.state.get("draft")
        if draft:
            self.prompt.text = draft
            self.prompt.move_cursor(self.prompt.document.end)

    # -- sidebar --------------------------------------------------------------------------

    @work(exclusive=True, group="sidebar")
    async def refresh_sidebar(self) -> None:
        """List the conversations, filtered by what is in the search box."""
        repo = self.chat_app.repo
        sidebar = self.query_one(ConversationList)
        search = sidebar.filter_text.strip()
        if search:
            summaries = await asyncio.to_thread(repo.search, search)
        else:
            summaries = await asyncio.to_thread(repo.list_conversations)
        sidebar.show(summaries)
        if self.session is not None:
            sidebar.current_id = self.session.conversation.id

    @on(ConversationList.FilterChanged)
    def filter_sidebar(self) -> None:
        self._undo_delete_armed = False
        self.refresh_sidebar()

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
            self.notify(str(error), severity="error", markup=False)
            return
        model = app.model_for(conversation.model)
        self.end_edit()
        self.session = ChatSession(
            app.repo, app.pool.get(model.name), model, conversation, messages
        )
        self.set_model_status(model.name, model.n_ctx)
        self.query_one(ConversationList).current_id = conversation_id
        await self.render_thread()
        self.prompt.focus()
        app.prepare_model(model.name)

    @on(ConversationList.RenameRequested)
    def rename(self, event: ConversationList.RenameRequested) -> None:
        self.ask_rename(event.conversation_id)

    @work
    async def ask_rename(self, conversation_id: str) -> None:
        repo = self.chat_app.repo
        try:
            conversation, _ = await asyncio.to_thread(repo.load, conversation_id)
        except StoreError as error:
            self.notify(str(error), severity="error", markup=False)
            return
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
        try:
            await asyncio.to_thread(repo.delete, conversation_id)
        except StoreError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        self.deleted.append(conversation_id)
        self._undo_delete_armed = True
        self.notify("Conversation deleted. Press ctrl+z to undo.")
        self.refresh_sidebar()

    @work
    async def action_undo_delete(self) -> None:
        if not self.deleted:
            self.notify("Nothing to undo")
            return
        conversation_id = self.deleted.pop()
        self._undo_delete_armed = bool(self.deleted)
        try:
            await asyncio.to_thread(self.chat_app.repo.restore, conversation_id)
        except StoreError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        self.notify("Conversation restored")
        self.refresh_sidebar()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "undo_delete":
            typing = isinstance(self.focused, (TextArea, Input))
            return bool(self.deleted) and (self._undo_delete_armed or not typing)
        return True

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
                for v in reversed(list(self.thread_view.query_children(MessageView)))
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

    async def render_thread(self, thread: list[Message] | None = None) -> None:
        """Mount the visible branch (or the given messages): the newest PAGE messages,
        older ones on scroll-up."""
        if thread is None:
            thread = self.session.thread if self.session is not None else []
        view = self.thread_view
        await view.remove_children()
        if not thread:
            await view.mount(self.welcome())
        self._oldest_shown = max(0, len(thread) - PAGE)
        await view.mount_all(self.message_view(m) for m in thread[self._oldest_shown :])
        view.scroll_end(animate=False)
        view.anchor()
        view.check_folds()
        self.update_context_status()

    def welcome(self) -> Static:
        """What an empty conversation shows: who answers, and how to start."""
        app = self.chat_app
        model = self.session.model if self.session is not None else app.model
        lines = [
            f"New conversation with {model.label}.",
            "Type a message and press Enter · ctrl+o switches model · F1 lists the keys.",
        ]
        if model.backend == "llama" and model.path is None:
            lines.append(
                "The embedded SmolLM2-135M runs offline but is tiny. For better answers add a "
                f"bigger GGUF, Ollama or an OpenAI-compatible server to {app.settings.config_path}."
            )
        return Static(Content("\n".join(lines)), classes="welcome")

    def message_view(self, message: Message) -> MessageView:
        assert self.session is not None
        # A turn taken back (it could not be stored) may leave the tree while it is drawn.
        known = message.id in self.session.tree
        return MessageView(message, self.session.sibling_position(message.id) if known else (1, 1))

    def maybe_load_older(self, scroll_y: float) -> None:
        if scroll_y <= 0 and self._oldest_shown > 0 and not self._loading_older:
            self._loading_older = True
            self.load_older()

    @work(group="older")
    async def load_older(self) -> None:
        """Mount the previous page above the first message, keeping that message in place."""
        try:
            if self.session is None or self._oldest_shown == 0:
                return
            thread = self.session.thread
            start = max(0, self._oldest_shown - PAGE)
            views = [self.message_view(m) for m in thread[start : self._oldest_shown]]
            self._oldest_shown = start
            view = self.thread_view
            first = view.children[0] if view.children else None
            await view.mount_all(views, before=first)
            if first is not None:
                # After the next layout: until then the new messages have no height, the
                # scroll stays at the top and the next page would never be asked for.
                placed = asyncio.Event()

                def keep_place() -> None:
                    view.scroll_to_widget(first, animate=False, top=True)
                    placed.set()

                view.call_after_refresh(keep_place)
                await placed.wait()
                view.check_folds()
        finally:
            self._loading_older = False

    # -- sending --------------------------------------------------------------------------

    @on(PromptInput.Submitted)
    def submitted(self, event: PromptInput.Submitted) -> None:
        if self.pending is not None:
            return
        if self.session is not None and self.session.generating:
            self.notify("Still answering: press Esc to stop, then send", severity="warning")
            return
        if not self.chat_app.is_ready(self.current_model.name):
            self.queue(event.text)
            return
        self.send(event.text)

    def send(self, text: str) -> None:
        app = self.chat_app
        if self.session is None:
            self.session = ChatSession.new(
                app.repo, app.pool.get(app.model.name), app.model, user=app.settings.user
            )
        editing = self.editing
        try:
            if editing is not None:
                reply = self.session.edit(editing.id, text)
            else:
                reply = self.session.send(text)
        except (BackendError, RuntimeError, ValueError) as error:
            # The draft stays in the input: nothing typed is lost.
            self.notify(str(error), severity="error", markup=False)
            if isinstance(error, BackendError):
                self.reload_session()
            return
        self.prompt.remember(text)
        if editing is not None:
            self.end_edit()
        else:
            self.prompt.clear()
        app.remember("draft", self.prompt.text)
        self.show_reply(reply, rerender=editing is not None)

    def reload_session(self) -> None:
        """Start again from what is stored: a refused send can leave the unsent question in
        the session's tree, and the next message would be answered as if it had gone."""
        if self.session is None:
            return
        if self.session.repo_is_new:
            self.session = None
        else:
            self.open_conversation(self.session.conversation.id)

    # -- a local model loading ------------------------------------------------------------

    def queue(self, text: str) -> None:
        """Keep the message in the input, read-only, until the model has loaded."""
        self.pending = text
        self.prompt.read_only = True
        self.status.state = "loading model… your message is queued"
        self.update_banner()
        self.chat_app.prepare_model(self.current_model.name)

    def unqueue(self) -> None:
        self.pending = None
        self.prompt.read_only = False
        self.update_banner()

    def model_loading(self, name: str) -> None:
        if self.pending is None:
            self.status.state = f"loading {name}…"

    def model_loaded(self) -> None:
        """Called by the app when a local model is ready: a queued message goes out."""
        if self.status.state.startswith("loading"):
            self.status.state = "idle"
        if self.pending is not None and self.chat_app.is_ready(self.current_model.name):
            text = self.pending
            self.unqueue()
            self.send(text)

    def model_failed(self) -> None:
        self.status.state = "error"
        if self.pending is not None:
            self.unqueue()

    def show_reply(self, reply: Reply, rerender: bool = False) -> None:
        # Start generating now, not when the worker first runs: the request leaves (or the
        # local model starts) while the screen is still clearing the input and mounting.
        reply.start()
        self.run_worker(self._show_reply(reply, rerender), exclusive=True, group="llm")

    async def _show_reply(self, reply: Reply, rerender: bool) -> None:
        # What to draw is decided now, before the reply can be stored into the thread.
        question = reply.session.tree.get(reply.message.parent_id or "")
        thread = [m for m in reply.session.thread if m.id != reply.message.id]
        last = self.last_view()
        shown = last.message.id if last is not None else None
        # The request first: mounting views now would hold back (by the GIL) the thread
        # that stores the question, the send and the model's start. Draw at the first
        # token, or after UNDERWAY_WAIT.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(UNDERWAY_WAIT):
                await reply.underway.wait()
        if reply.undone:
            await self.give_back(reply)
            return
        await self.thread_view.query_children(".welcome").remove()
        if rerender or shown not in (question.id, question.parent_id):
            await self.render_thread(thread)
        elif shown != question.id:
            await self.thread_view.mount(self.message_view(question))
        # Empty: the text comes through stream_into, even what arrived while waiting.
        view = MessageView(replace(reply.message, content=""))
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
        ended = asyncio.Event()

        async def read() -> None:
            nonlocal received
            try:
                async for piece in reply:
                    buffer.append(piece)
                    received += 1
            except (BackendError, StoreError):
                pass  # reply.error holds it; shown below
            finally:
                ended.set()

        # This loop is the only writer, and a write is never cut short: a write cancelled
        # halfway (as a timer's callback is when the timer stops) can leave the view's
        # Markdown stream stopped with text still to come, and the reply never finishes.
        reader = asyncio.create_task(read())
        flushed = time.monotonic()
        try:
            while not ended.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(FRAME):
                        await ended.wait()
                moment = time.monotonic()
                typing = moment - self.chat_app.last_key_at < TYPING_QUIET
                if buffer and not (typing and moment - flushed < MAX_DEFER):
                    text = "".join(buffer)
                    buffer.clear()
                    flushed = moment
                    await view.write(text)
            await reader
        finally:
            reader.cancel()
        if buffer:
            await view.write("".join(buffer))
        elapsed = time.perf_counter() - started
        await self.finish_reply(view, reply, received / elapsed if received else None)

    async def finish_reply(self, view: MessageView, reply: Reply, rate: float | None) -> None:
        if reply.undone:
            await self.give_back(reply)
            return
        message = reply.message
        target: MessageView | None = view
        if message.content or message.finish_reason != FinishReason.ERROR:
            await view.finish(message)
        else:
            # Nothing arrived: the turn ends at the question, and the error shows there.
            await view.remove()
            target = self.last_view()
        if reply.error is not None:
            self.status.state = "error"
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

    async def give_back(self, reply: Reply) -> None:
        """The turn could not be stored, so nothing was sent: the thread is shown as it was
        and the question goes back into the input (an edit, back into editing)."""
        await self.render_thread()
        self.status.state = "error"
        question = reply.unsaved_question
        if question is None:  # a regenerate: nothing typed to give back
            self.notify(f"Not regenerated: {reply.error}", severity="error", markup=False)
            return
        tree = reply.session.tree
        if reply.edit_of is not None and reply.edit_of in tree and self.editing is None:
            self.begin_edit(tree.get(reply.edit_of), question.content)
            self.notify_given_back(reply)
        else:
            self.put_back(reply)

    async def rescue(self, reply: Reply) -> None:
        """A conversation was left while its question was being stored: if storing it
        failed, its text comes back into the input here."""
        await reply.ended()
        if reply.unsaved_question is not None:
            self.put_back(reply)

    def put_back(self, reply: Reply) -> None:
        """The unsent question into the input, before anything typed since."""
        assert reply.unsaved_question is not None
        text = reply.unsaved_question.content
        typed = self.prompt.text
        self.prompt.text = f"{text}\n{typed}" if typed.strip() else text
        self.prompt.move_cursor(self.prompt.document.end)
        self.notify_given_back(reply)

    def notify_given_back(self, reply: Reply) -> None:
        self.notify(
            f"Not sent, your message is back in the input: {reply.error}",
            severity="error",
            markup=False,
        )

    def last_view(self) -> MessageView | None:
        views = list(self.thread_view.query_children(MessageView))
        return views[-1] if views else None

    def refresh_siblings(self) -> None:
        """Re-label ‹ n/m › on the last two messages after a regenerate or edit."""
        if self.session is None:
            return
        for view in list(self.thread_view.query_children(MessageView))[-2:]:
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
        fallback = plain_title(question.content)
        if session.conversation.title != fallback:
            return
        title = await generate_title(session.backend, question.content)
        if session.conversation.title != fallback:
            return  # renamed by the user meanwhile: theirs wins
        session.conversation.title = title
        await asyncio.to_thread(session.save_conversation)
        self.refresh_sidebar()

    # -- conversation actions -------------------------------------------------------------

    def action_stop(self) -> None:
        if self.pending is not None:
            self.unqueue()
            self.status.state = "loading model…"
        elif self.editing is not None:
            self.end_edit()
        elif self.session is not None and self.session.generating:
            self.session.stop()
            self.status.state = "stopped"

    def action_new_chat(self) -> None:
        reply = self.session.reply if self.session is not None else None
        if reply is not None and not reply.done:
            reply.stop()
            self.run_worker(self.rescue(reply), group="rescue")
        # A reply worker still starting must not go on with the conversation being left.
        self.workers.cancel_group(self, "llm")
        self.session = None
        self.end_edit()
        self.query_one(ConversationList).current_id = None
        self.run_worker(self.render_thread(), group="open", exclusive=True)
        self.status.tokens_per_second = None
        self.prompt.focus()

    def action_regenerate(self) -> None:
        session = self.session
        if session is None or session.generating or self.pending is not None:
            return
        if not self.chat_app.is_ready(session.model.name):
            self.notify("The model is still loading: try again in a moment")
            self.chat_app.prepare_model(session.model.name)
            return
        try:
            reply = session.regenerate()
        except (BackendError, ValueError) as error:
            self.notify(str(error), severity="error", markup=False)
            if isinstance(error, BackendError):
                self.reload_session()
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
        shown = self.session.switch_sibling(event.message_id, event.step)
        self.run_worker(asyncio.to_thread(self.session.save_conversation))
        self.run_worker(self._after_switch(shown), group="open", exclusive=True)

    async def _after_switch(self, shown_id: str) -> None:
        await self.render_thread()
        views = list(self.thread_view.query_children(MessageView))
        shown = next((view for view in views if view.message.id == shown_id), None)
        if shown is None:
            return
        # Keep the switched message under focus, so [ and ] go on switching it.
        shown.focus(scroll_visible=False)
        if shown is not views[-1]:
            # Only once laid out: before that the anchor's scroll position is stale, and
            # releasing it there can leave the thread scrolled out of sight.
            self.thread_view.call_after_refresh(self._show_switched, shown)

    def _show_switched(self, view: MessageView) -> None:
        self.thread_view.release_anchor()
        self.thread_view.scroll_to_widget(view, animate=False, top=True)

    @on(MessageView.EditRequested)
    def start_edit(self, event: MessageView.EditRequested) -> None:
        event.stop()
        if self.pending is not None:
            return
        self.begin_edit(event.message, event.message.content)

    def begin_edit(self, message: Message, text: str) -> None:
        """Edit message, with text in the input; the draft comes back when editing ends."""
        if self.editing is None:
            self._draft_before_edit = self.prompt.text
        self.editing = message
        self.prompt.text = text
        self.prompt.move_cursor(self.prompt.document.end)
        self.prompt.focus()
        self.update_banner()

    def end_edit(self) -> None:
        """Leave editing and give the prompt back the draft it had before."""
        if self.editing is None:
            return
        self.editing = None
        self.prompt.text = self._draft_before_edit
        self._draft_before_edit = ""
        self.update_banner()

    def update_banner(self) -> None:
        text = QUEUED if self.pending is not None else EDITING if self.editing else ""
        self.query_one("#banner", Static).update(text)
        self.set_class(bool(text), "-banner")

    @on(PromptInput.Changed)
    def draft_changed(self) -> None:
        self._undo_delete_armed = False
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
