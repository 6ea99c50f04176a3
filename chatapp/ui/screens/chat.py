"""The chat screen: sidebar of conversations, the thread, the message box and the status bar.

It composes widgets and calls the Workspace; conversations, generation, titles and storage
live in chatapp.core, paging in ThreadView, stream pacing in ui/streaming.py, and the
message box's queued/editing state in ui/composer.py."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from chatapp.core.errors import ChatappError
from chatapp.core.events import (
    ConversationDamaged,
    ConversationDeleted,
    ConversationRenamed,
    ConversationRestored,
    MemoryChanged,
    MemorySuggested,
    SavingStopped,
)
from chatapp.core.models import Message, Role
from chatapp.core.text import is_blank
from chatapp.core.workspace import Workspace
from chatapp.ui.composer import Composer
from chatapp.ui.messages import CoreEvent
from chatapp.ui.remembered import Remembered
from chatapp.ui.screens.chat_branches import BranchActions
from chatapp.ui.screens.chat_feedback import FeedbackActions
from chatapp.ui.screens.chat_memory import MemoryActions
from chatapp.ui.screens.chat_models import ModelActions
from chatapp.ui.screens.chat_sidebar import SidebarActions
from chatapp.ui.screens.chat_templates import TemplateActions
from chatapp.ui.screens.chat_turns import TurnDisplay
from chatapp.ui.screens.keys import KeySection, rows
from chatapp.ui.widgets.conversation_list import ConversationList
from chatapp.ui.widgets.keys_footer import KeysFooter
from chatapp.ui.widgets.message_view import MessageView
from chatapp.ui.widgets.prompt_input import PromptInput
from chatapp.ui.widgets.status_bar import StatusBar
from chatapp.ui.widgets.thread_view import ThreadView

if TYPE_CHECKING:
    from chatapp.config import ModelConfig
    from chatapp.core.session import ChatSession
    from chatapp.core.turn import Turn

KEYS_TOOLTIP = "All the keys (this page)"


class ChatScreen(
    SidebarActions,
    MemoryActions,
    TemplateActions,
    FeedbackActions,
    BranchActions,
    ModelActions,
    TurnDisplay,
    Screen[None],
):
    CSS_PATH = "chat.tcss"
    # The message box has the focus from the first frame (not the sidebar's search box).
    AUTO_FOCUS = "#prompt"
    BINDINGS = [
        Binding("ctrl+n", "new_chat", "New chat", tooltip="Start a new conversation"),
        Binding("escape", "stop", "Stop", show=False, tooltip="Stop the reply; its text is kept"),
        # Only while a reply streams (check_action): otherwise ctrl+c does what it does
        # everywhere in Textual (copy in the message box, the quit hint elsewhere).
        Binding(
            "ctrl+c",
            "interrupt",
            "Stop",
            show=False,
            priority=True,
            tooltip="While a reply streams: stop it, as Esc does",
        ),
        Binding(
            "ctrl+r",
            "regenerate",
            "Regenerate",
            tooltip="A new reply to the last question; the old one stays",
        ),
        Binding(
            "ctrl+g",
            "regenerate_without_memory",
            "Without memory",
            show=False,
            tooltip="A new reply to the last question built without any memory, to compare",
        ),
        Binding("ctrl+o", "pick_model", "Model", tooltip="Switch the model for the next replies"),
        Binding(
            "f3", "open_memory", "Memory", tooltip="See, search, edit and undo what is remembered"
        ),
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

    def __init__(
        self,
        workspace: Workspace,
        remembered: Remembered,
        model: str | None = None,
        last_key_at: Callable[[], float] = lambda: 0.0,
    ) -> None:
        super().__init__()
        self.workspace = workspace
        self.remembered = remembered
        self.last_key_at = last_key_at
        # The open conversation; None for a new one, which starts with the first message.
        self.session: ChatSession | None = None
        self._new_chat_model = workspace.model(model)
        self.composer = Composer()
        self.deleted: list[str] = []
        self._undo_delete_armed = False
        # A new chat started as incognito: not kept, and no memory read or written.
        self.incognito = False

    @property
    def current_model(self) -> ModelConfig:
        """The model that answers the next message sent on this screen."""
        return self.session.model if self.session is not None else self._new_chat_model

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield ConversationList(id="sidebar")
            with Vertical(id="main"):
                yield ThreadView(self.welcome(), id="thread")
                yield Static("", id="saving", markup=False)
                yield Static("", id="banner")
                yield PromptInput(id="prompt")
        yield StatusBar(id="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.status.user = self.workspace.user
        self.set_model_status(self.current_model)
        # From the first frame: the model loads after it (prepare_model), never "idle" first.
        self.show_loading()
        self.sidebar.display = self.remembered.get("sidebar") is not False
        self.prompt.focus()
        self.refresh_sidebar()
        if draft := self.remembered.get("draft"):
            self.prompt.text = draft
            self.prompt.move_cursor(self.prompt.document.end)
        # After the first paint: the screen shows at once, the model loads behind it.
        self.call_after_refresh(self.prepare_model)
        if self.workspace.saving_off is not None:
            self.show_saving_off(self.workspace.saving_off)
        self.call_after_refresh(self.check_storage)

    @on(CoreEvent)
    def core_event(self, message: CoreEvent) -> None:
        event = message.event
        changes_the_list = ConversationRenamed | ConversationDeleted | ConversationRestored
        if isinstance(event, changes_the_list):
            self.refresh_sidebar()
        elif isinstance(event, SavingStopped):
            self.show_saving_off(event.reason)
        elif isinstance(event, ConversationDamaged):
            self.notify(event.message, severity="warning", timeout=10, markup=False)
        elif isinstance(event, MemoryChanged | MemorySuggested):
            self.memory_event(event)

    # -- saving, or not -------------------------------------------------------------------

    @work(thread=True, group="storage")
    def check_storage(self) -> None:
        """Find out at start whether anything can be saved (SavingStopped says if not)."""
        self.workspace.check_storage()

    def show_saving_off(self, reason: str) -> None:
        """A banner that stays: replies still come, conversations are not written."""
        self.query_one("#saving", Static).update(
            f"not saving: {reason} · replies still come; conversations are not written "
            "until chatapp restarts"
        )
        self.add_class("-not-saving")

    def save_later(self, save: Callable[[], None]) -> None:
        """Run a save in a thread; if it fails, on_worker_state_changed says so."""
        self.run_worker(asyncio.to_thread(save), group="save", exit_on_error=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place a background job's failure is told: a ChatappError is a toast
        and the app goes on; anything else is a bug and is raised."""
        error = event.worker.error
        if event.state != WorkerState.ERROR or event.worker.exit_on_error:
            return  # Textual itself stops the app for the others
        if isinstance(error, ChatappError):
            self.notify(str(error), severity="error", timeout=10, markup=False)
        elif error is not None:
            raise error

    # -- the thread -----------------------------------------------------------------------

    @work(exclusive=True, group="open")
    async def open_conversation(self, conversation_id: str) -> None:
        if self.session is not None and self.session.generating:
            self.notify(
                "A reply is still streaming: press Esc to stop it first", severity="warning"
            )
            return
        try:
            session = await asyncio.to_thread(
                self.workspace.open_session, conversation_id, fallback=self._new_chat_model.name
            )
        except ChatappError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        self.end_edit()
        self.session = session
        # A stored conversation is never incognito, whatever the chat before it was.
        self.incognito = self.status.incognito = False
        self.set_model_status(session.model)
        self.sidebar.current_id = conversation_id
        await self.render_thread()
        self.prompt.focus()
        self.prepare_model()

    def action_copy_last(self) -> None:
        views = self.thread_view.views()
        last = next((v for v in reversed(views) if v.message.role == Role.ASSISTANT), None)
        if last is None:
            self.notify("No reply to copy yet")
        else:
            last.action_copy()

    async def render_thread(self, thread: list[Message] | None = None) -> None:
        """Show the visible branch (or the given messages)."""
        if thread is None:
            thread = self.session.thread if self.session is not None else []
        await self.thread_view.show(thread, self.versions, self.welcome())
        self.update_context_status()

    def versions(self, message: Message) -> tuple[int, int]:
        # A turn taken back (it could not be stored) may leave the tree while it is drawn.
        if self.session is None or message.id not in self.session.tree:
            return (1, 1)
        return self.session.sibling_position(message.id)

    def welcome(self) -> Static:
        """What an empty conversation shows: who answers, and how to start."""
        model = self.current_model
        lines = [
            f"New conversation with {model.label}.",
            "Type a message and press Enter · ctrl+o switches model · F1 lists the keys.",
        ]
        if model.is_embedded:
            lines.append(
                "The embedded SmolLM2-135M runs offline but is tiny. For better answers add a "
                "bigger GGUF, Ollama or an OpenAI-compatible server to "
                f"{self.workspace.settings.config_path}."
            )
        return Static(Content("\n".join(lines)), classes="welcome")

    # -- sending --------------------------------------------------------------------------

    @on(PromptInput.Submitted)
    def submitted(self, event: PromptInput.Submitted) -> None:
        if self.composer.pending is not None or is_blank(event.text):
            return
        if self.composer.editing is None and (
            self.memory_command(event.text) or self.template_command(event.text)
        ):
            return
        if self.session is not None and self.session.generating:
            self.notify("Still answering: press Esc to stop, then send", severity="warning")
        elif not self.workspace.models.ready(self.current_model.name):
            self.queue(event.text)
        else:
            self.send(event.text)

    def send(self, text: str) -> None:
        editing = self.composer.editing
        if editing is not None:
            self.start_turn(lambda session: session.edit(editing.id, text), text, from_box=True)
        else:
            self.start_turn(lambda session: session.send(text), text, from_box=True)

    def start_turn(
        self, begin: Callable[[ChatSession], Turn], typed: str, *, from_box: bool = False
    ) -> bool:
        """Begin a turn in the open conversation (a new one if none), show it; typed is
        what the user wrote, kept in the box's history (and cleared from it if from_box).
        False when it could not begin (said in a notice)."""
        if not self.workspace.models.ready(self.current_model.name):
            self.notify("The model is still loading: try again in a moment")
            self.prepare_model()
            return False
        editing = self.composer.editing if from_box else None
        try:
            if self.session is None:
                self.session = self.workspace.new_session(
                    self.current_model.name, incognito=self.incognito
                )
            turn = begin(self.session)
        except ChatappError as error:
            # The draft stays in the box: nothing typed is lost.
            self.notify(str(error), severity="error", markup=False)
            return False
        self.prompt.remember(typed)
        if editing is not None:
            self.end_edit()
        elif from_box:
            self.prompt.clear()
        self.show_turn(turn, rerender=editing is not None)
        self.run_worker(self.forget_sent_draft(turn), group="draft")
        return True

    async def forget_sent_draft(self, turn: Turn) -> None:
        """The box's draft as remembered, once the question is stored: not before, so the
        question's write goes first (on a full disk, the one that fails and gives the
        text back), and the draft still holds the text if it cannot be stored."""
        await turn.question_settled()
        if not turn.undone:
            self.remembered.set("draft", self.prompt.text)

    def queue(self, text: str) -> None:
        """Keep the message in the box, read-only, until the model has loaded."""
        self.composer.queue(text)
        self.prompt.read_only = self.composer.read_only
        self.status.state = "loading model… your message is queued"
        self.update_banner()
        self.prepare_model()

    def unqueue(self) -> str | None:
        text = self.composer.take_queued()
        self.prompt.read_only = self.composer.read_only
        self.update_banner()
        return text

    # -- conversation actions -------------------------------------------------------------

    def action_stop(self) -> None:
        if self.composer.pending is not None:
            self.unqueue()
            self.status.state = "loading model…"
        elif self.composer.editing is not None:
            self.end_edit()
        elif self.session is not None and self.session.generating:
            self.session.stop()
            self.status.state = "stopped"

    def action_interrupt(self) -> None:
        self.action_stop()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "interrupt":
            return self.session is not None and self.session.generating
        return super().check_action(action, parameters)

    def action_new_chat(self, incognito: bool = False) -> None:
        self.incognito = incognito
        self.status.incognito = incognito
        turn = self.session.turn if self.session is not None else None
        if turn is not None and not turn.done:
            turn.stop()
            self.run_worker(self.rescue(turn), group="rescue")
        # A reply worker still starting must not go on with the conversation being left.
        self.workers.cancel_group(self, "llm")
        self.session = None
        self.end_edit()
        self.sidebar.current_id = None
        self.run_worker(self.render_thread(), group="open", exclusive=True)
        self.status.tokens_per_second = None
        self.prompt.focus()

    def update_banner(self) -> None:
        text = self.composer.banner
        self.query_one("#banner", Static).update(text)
        self.set_class(bool(text), "-banner")

    @on(PromptInput.Changed)
    def draft_changed(self, event: PromptInput.Changed) -> None:
        self._undo_delete_armed = False
        # Read once typing pauses, not per key: the box may hold megabytes.
        box = event.text_area
        self.remembered.draft_changed(lambda: box.text)

    # -- what the app asks of a screen: its palette commands and its keys ------------------

    def commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("New chat", "Start a new conversation (ctrl+n)", self.action_new_chat)
        yield SystemCommand(
            "Switch model", "Answer with another model (ctrl+o)", self.action_pick_model
        )
        yield SystemCommand(
            "Regenerate", "A new reply to the last question (ctrl+r)", self.action_regenerate
        )
        yield SystemCommand(
            "Stop", "Stop the reply being generated (esc, or ctrl+c)", self.action_stop
        )
        yield SystemCommand(
            "Memory",
            "See, search, edit and delete what is remembered (F3)",
            self.action_open_memory,
        )
        yield SystemCommand(
            "Regenerate without memory",
            "A new reply built without memories, beside the one with them (ctrl+g)",
            self.action_regenerate_without_memory,
        )
        yield SystemCommand(
            "New incognito chat",
            "Not kept in history; memory neither read nor written",
            lambda: self.action_new_chat(incognito=True),
        )
        yield SystemCommand(
            "Use a template…",
            "Fill a prompt template and send it (or type /t NAME in the box)",
            self.action_use_template,
        )
        yield SystemCommand(
            "Save a message as template",
            "The focused (or last) question of yours, with parts made variables",
            self.action_save_as_template,
        )
        yield SystemCommand(
            "Compare prompts…",
            "One input through 2-4 templates, models or temperatures, side by side and blind",
            self.action_compare,
        )
        yield SystemCommand(
            "Export training data…",
            "Ratings, choices and corrections as DPO/KTO/SFT/OpenAI rows, with a card",
            self.action_export,
        )
        yield SystemCommand(
            "Leaderboard",
            "Models or template versions ranked by your choices between replies",
            self.action_leaderboard,
        )
        yield SystemCommand(
            "Toggle sidebar", "Show or hide the conversations (ctrl+b)", self.action_toggle_sidebar
        )
        yield SystemCommand(
            "Search conversations", "Filter the sidebar (ctrl+f)", self.action_search
        )
        yield SystemCommand(
            "Undo delete",
            "Bring back the last deleted conversation (ctrl+z)",
            self.action_undo_delete,
        )
        yield SystemCommand(
            "Rename conversation", "Give this conversation a title", self.action_rename_current
        )
        yield SystemCommand(
            "Delete conversation", "Delete this conversation", self.action_delete_current
        )
        yield SystemCommand(
            "Copy last reply", "Copy the last reply to the clipboard", self.action_copy_last
        )

    def action_export(self) -> None:
        from chatapp.ui.screens.export import ExportScreen

        self.app.push_screen(ExportScreen(self.workspace))

    def action_leaderboard(self) -> None:
        from chatapp.ui.screens.leaderboard import LeaderboardScreen

        self.app.push_screen(LeaderboardScreen(self.workspace))

    def key_sections(self) -> list[KeySection]:
        in_box = [("Enter", "Send"), *rows(PromptInput.BINDINGS), ("↑ ↓", "Earlier prompts")]
        return [
            ("In the message box", in_box),
            ("On a message (Tab or click to focus it)", rows(MessageView.BINDINGS)),
            ("In the sidebar", [("Enter", "Open"), *rows(ConversationList.BINDINGS)]),
        ]
