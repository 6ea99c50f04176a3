"""Workspace: one user's chatapp, the one entry point of the UI and the CLI.

It owns the user's folder and stores, the model pool (which model a conversation uses,
whether it is ready, loading it), the event bus every session announces on, and the
jobs that follow events (a new conversation's title). Whatever the UI can do, the CLI
and a test can do through it, without a screen.

Methods that read or write files block: the UI calls them in a worker thread.

When the data folder cannot be written (read-only, full disk), the workspace keeps going
with saving off: `saving_off` says why, SavingStopped announces it once, conversations
can still be read and replies still come, and nothing more is written this run.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chatapp.core.backends.pool import ModelPool
from chatapp.core.background import BackgroundJobs
from chatapp.core.errors import ChatappError
from chatapp.core.events import (
    AssistantReplyEdited,
    ConversationDamaged,
    ConversationDeleted,
    ConversationRenamed,
    ConversationRestored,
    Event,
    EventBus,
    Regenerated,
    ReplyFinished,
    SavingStopped,
    UserMessageEdited,
)
from chatapp.core.memory.suggestions import MemorySuggestions
from chatapp.store.errors import StorageUnavailable, StoreError
from chatapp.store.ui_state import UiStateRepo
from chatapp.store.users import UserDir

# What the first screen does not need is imported where it is used (conversations,
# memory, sessions, titles, templates, feedback): the UI paints before it pays for them.
if TYPE_CHECKING:
    import random
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

    from chatapp.config import ModelConfig, Settings
    from chatapp.core.backends.base import GenerationParams
    from chatapp.core.feedback.records import FeedbackEvent
    from chatapp.core.feedback.replies import ReplyFeedback
    from chatapp.core.memory.user_memory import UserMemory
    from chatapp.core.models import Conversation, MessageTree
    from chatapp.core.practice import PracticeRun, Variant
    from chatapp.core.session import ChatSession
    from chatapp.core.templates import Rendered, Template, TemplateLibrary
    from chatapp.core.turn import Turn
    from chatapp.store.conversations import ConversationRepo, ConversationSummary

log = logging.getLogger(__name__)

# The sidebar filter's prefixes that ask for conversations made with a template.
TEMPLATE_FILTERS = ("template", "t")
# What feedback hears of (ReplyFeedback.heard).
FEEDBACK_EVENTS = (Regenerated, ReplyFinished, UserMessageEdited, AssistantReplyEdited)


# Deleted conversations stay restorable this long, then go at the next start.
TRASH_DAYS = 30
# How long closing waits for a title still being written (it is also bounded by
# titles.TITLE_TIMEOUT).
TITLE_WAIT_ON_CLOSE = 10.0

__all__ = ["ConversationSummary", "UserSummary", "Workspace", "list_users"]


def __getattr__(name: str) -> object:
    if name == "ConversationSummary":
        from chatapp.store.conversations import ConversationSummary

        return ConversationSummary
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True, slots=True)
class UserSummary:
    name: str
    conversations: int
    memories: int


def list_users(settings: Settings) -> list[UserSummary]:
    """Every user with data under the data folder, with what each has stored."""
    from chatapp.store.memory import MemoryRepo

    return [
        UserSummary(folder.user, folder.conversation_count(), len(MemoryRepo(folder).all()))
        for folder in UserDir.all(settings.data_dir)
    ]


class Workspace:
    def __init__(self, settings: Settings, user: str | None = None) -> None:
        self.settings = settings
        self.user = user or settings.user
        # Checks the user name: a bad one is a StoreError before anything is written.
        self.folder = UserDir(settings.data_dir, self.user)
        self.events = EventBus()
        self.models = ModelPool(settings)
        self._conversations: ConversationRepo | None = None
        self._ui_state: UiStateRepo | None = None
        self._prefs: UiStateRepo | None = None
        self._sessions: weakref.WeakValueDictionary[str, ChatSession] = (
            weakref.WeakValueDictionary()
        )
        self._titles: set[asyncio.Task[None]] = set()
        # Why nothing is being saved this run (None while saving works).
        self.saving_off: str | None = None
        self._storage_checked = False
        # Damaged conversations already told about: a file that cannot be moved aside
        # (read-only folder) is met at every listing, and told once a run.
        self._told_damaged: set[str] = set()
        # Sessions and saving_off change from worker threads too.
        self._lock = threading.Lock()
        self._memory: UserMemory | None = None
        self._templates: TemplateLibrary | None = None
        self._incognito: set[str] = set()
        self.jobs = BackgroundJobs()
        self.events.subscribe(self._title_after_first_reply, ReplyFinished)
        suggestions = MemorySuggestions(lambda: self.memory, self._minable, self.jobs)
        self.events.subscribe(suggestions.heard, *MemorySuggestions.EVENTS)
        self._feedback: ReplyFeedback | None = None
        self.events.subscribe(self._feedback_heard, *FEEDBACK_EVENTS)

    @property
    def conversations(self) -> ConversationRepo:
        """The user's conversation store (made on first use: it creates the folders)."""
        if self._conversations is None:
            from chatapp.store.conversations import ConversationRepo

            self._conversations = ConversationRepo(
                self.folder, on_unavailable=self._storage_unavailable
            )
        return self._conversations

    @property
    def memory(self) -> UserMemory:
        """The user's memory (made on first use; reading it creates nothing on disk)."""
        if self._memory is None:
            from chatapp.core.memory.book import MemoryBook
            from chatapp.core.memory.user_memory import UserMemory
            from chatapp.store.memory import MemoryRepo

            repo = MemoryRepo(self.folder, on_unavailable=self._storage_unavailable)
            self._memory = UserMemory(
                MemoryBook(repo, self.user),
                self.events,
                budget_tokens=self.settings.memory.budget_tokens,
                auto=self.settings.memory.auto,
                enabled=self.memory_enabled,
            )
        return self._memory

    @property
    def templates(self) -> TemplateLibrary:
        """The prompt templates: built-ins, and the user's own in the config folder's
        prompts/ (made on first use; read when first listed or used)."""
        if self._templates is None:
            from chatapp.config import default_config_path
            from chatapp.core.templates import TemplateLibrary, builtin_dir

            config = self.settings.config_path or default_config_path()
            self._templates = TemplateLibrary(
                builtin_dir(),
                config.parent / "prompts",
                cache_path=self.settings.data_dir / "cache" / "templates.json",
            )
        return self._templates

    @property
    def feedback(self) -> ReplyFeedback:
        """Ratings, choices and corrections of this user's replies (and the implicit
        signals), logged per month under the user's folder."""
        if self._feedback is None:
            from chatapp.core.feedback.log import FeedbackLog
            from chatapp.core.feedback.replies import ReplyFeedback
            from chatapp.store.feedback import FeedbackRepo

            repo = FeedbackRepo(
                self.folder.feedback,
                on_unavailable=self._storage_unavailable,
                on_problem=lambda error: log.warning("feedback: %s", error),
            )
            self._feedback = ReplyFeedback(
                FeedbackLog(repo, self.user),
                self._tree_of,
                background=self._feedback_job,
            )
        return self._feedback

    def _feedback_job(self, job: Callable[[], object]) -> None:
        """A feedback write that follows an event: in a thread when the event came on the
        event loop; right here when it came in a worker thread (the UI stores
        corrections in one), which is off the loop already."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            try:
                job()
            except ChatappError as error:
                log.warning("no feedback: %s", error)
            return
        self.jobs.start(asyncio.to_thread(job), "feedback")

    def _feedback_heard(self, event: Event) -> None:
        if event.conversation_id not in self._incognito:
            self.feedback.heard(event)

    def _tree_of(self, conversation_id: str) -> MessageTree:
        """The messages of a conversation: the open session's, else as stored."""
        from chatapp.core.models import MessageTree

        session = self._sessions.get(conversation_id)
        if session is not None:
            return session.tree
        return MessageTree(self.conversations.load(conversation_id)[1])

    def record_practice_choice(self, run: PracticeRun) -> FeedbackEvent:
        """Store the choice made on a compare run, with the samples on view (call it off
        the event loop)."""
        return self.feedback.practice_choice(run)

    def memory_enabled(self) -> bool:
        """Memory is on unless the user turned it off (remembered per user)."""
        try:
            return self._preferences().load().get("memory", True) is not False
        except ChatappError:
            return True

    def set_memory_enabled(self, on: bool) -> None:
        self._preferences().save({"memory": on})

    def _preferences(self) -> UiStateRepo:
        if self._prefs is None:
            self._prefs = UiStateRepo(
                self.folder, path=self.folder.preferences, on_unavailable=self._storage_unavailable
            )
        return self._prefs

    def _minable(self, conversation_id: str) -> ChatSession | None:
        """The open session whose user messages may be mined for facts (not incognito)."""
        if conversation_id in self._incognito:
            return None
        return self._sessions.get(conversation_id)

    # -- saving, or not -------------------------------------------------------------------

    def check_storage(self) -> str | None:
        """Can this user's data be written? Checked once (folders made, a small file
        written and removed); returns why not, and saving is off from then on."""
        if not self._storage_checked:
            self._storage_checked = True
            try:
                self.folder.ensure()
                self.folder.check_writable()
            except StorageUnavailable as error:
                self._storage_unavailable(error)
        return self.saving_off

    def _storage_unavailable(self, error: StorageUnavailable) -> None:
        """A write failed for want of a writable folder (in any thread): stop saving,
        say so once."""
        with self._lock:
            if self.saving_off is not None:
                return
            self.saving_off = error.reason
            for session in list(self._sessions.values()):
                session.repo = None
        log.warning("saving is off: %s", error)
        self.events.emit(SavingStopped("", error.reason))

    # -- models ---------------------------------------------------------------------------

    def model(self, name: str | None = None) -> ModelConfig:
        """A configured model (the default for None); ConfigError names the known ones."""
        return self.models.config(name)

    def model_for(self, conversation: Conversation, fallback: str | None = None) -> ModelConfig:
        """The model a stored conversation used, if it is still configured; else fallback
        (or the default)."""
        if conversation.model in self.settings.models:
            return self.models.config(conversation.model)
        return self.models.config(fallback)

    async def check_models(self) -> dict[str, str]:
        """One line a model: can it be used right now?"""
        from chatapp.core.backends.reachability import check_models

        return await check_models(self.settings)

    # -- sessions -------------------------------------------------------------------------

    def new_session(
        self,
        model: str | None = None,
        *,
        system: str | None = None,
        save: bool = True,
        incognito: bool = False,
    ) -> ChatSession:
        """A new conversation; it is written to disk with its first message (never when
        save is False). An incognito one is never saved and neither reads nor writes
        memory."""
        from chatapp.core.session import ChatSession

        config = self.models.config(model)
        # Made first: making the store can find the folder unwritable (saving off).
        conversations = self.conversations
        saved = save and not incognito and self.saving_off is None
        session = ChatSession.new(
            conversations if saved else None,
            self.models.get(config.name),
            config,
            user=self.user,
            system=system,
            events=self.events,
        )
        if incognito:
            self._incognito.add(session.id)
        else:
            session.recall = self.memory.recall
        return self._track(session)

    def open_session(
        self, conversation_id: str, model: str | None = None, *, fallback: str | None = None
    ) -> ChatSession:
        """A stored conversation, answered by `model` if given, else by the model it used
        (or `fallback` when that one is no longer configured). Blocks: reads the file."""
        from chatapp.core.session import ChatSession

        conversation, messages = self.conversations.load(conversation_id)
        config = self.model_for(conversation, fallback)
        session = ChatSession(
            self.conversations if self.saving_off is None else None,
            self.models.get(config.name),
            config,
            conversation,
            messages,
            events=self.events,
        )
        if model is not None and model != config.name:
            chosen = self.models.config(model)
            session.use_model(self.models.get(chosen.name), chosen)
        session.recall = self.memory.recall
        # Its messages counted here, in the caller's thread, not on the first Enter.
        session.warm_token_counts()
        return self._track(session)

    def send_template(
        self,
        session: ChatSession,
        template: Template,
        rendered: Rendered,
        params: GenerationParams | None = None,
    ) -> Turn:
        """Send a filled-in template: its user part as the message (recording the
        template, its version and the values), its system part as the conversation's
        system prompt when the conversation starts with it (else before the message),
        and its suggested sampling unless params are given."""
        from chatapp.core.session import default_params

        text = rendered.user
        if rendered.system and not session.tree:
            session.conversation.settings["system"] = rendered.system
        elif rendered.system:
            text = f"{rendered.system}\n\n{rendered.user}"
        if not session.tree:
            session.conversation.template = template.name
        used = {
            "name": template.name,
            "version": template.version,
            "variables": dict(rendered.variables),
        }
        return session.send(
            text,
            params or default_params(session.model, **template.suggested_params()),
            template=used,
        )

    # -- practice -------------------------------------------------------------------------

    def variant(
        self,
        text: str,
        *,
        template: str | None = None,
        model: str | None = None,
        values: Mapping[str, str] | None = None,
        params: GenerationParams | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> Variant:
        """One way of asking text for the compare screen (practice.make_variant): filled
        into the template named (text is its main variable) or as it is, for a model
        (the default for None)."""
        from chatapp.core.practice import make_variant

        chosen = None
        if template is not None:
            library = self.templates
            chosen = (library.get(template), library.render)
        return make_variant(
            self.models.config(model),
            text,
            chosen,
            values=values,
            params=params,
            temperature=temperature,
            max_tokens=max_tokens,
        )

    async def practice(
        self, variants: Sequence[Variant], *, repeats: int = 1, rng: random.Random | None = None
    ) -> PracticeRun:
        """A compare run of variants, their models made ready first, started."""
        from chatapp.core.practice import PracticeRun

        run = PracticeRun(variants, self.models.get, repeats=repeats, rng=rng)
        for name in dict.fromkeys(variant.model for variant in variants):
            await self.models.prepare(name)
        return run.start()

    def use_model(self, session: ChatSession, model: str) -> None:
        """The session's next replies come from another model (stored with its next
        question, or now by save_conversation)."""
        config = self.models.config(model)
        session.use_model(self.models.get(config.name), config)

    def last_conversation(self) -> tuple[str | None, list[Path]]:
        """The id of the newest conversation that can be read, and the damaged files
        (moved aside) written after it: newer conversations that were lost."""
        summary = self.conversations.last(self._damaged)
        since = summary.updated if summary is not None else 0.0
        lost = [path for path, written in self.conversations.moved_aside() if written > since]
        return (summary.id if summary is not None else None), lost

    def stop_all(self) -> None:
        """Stop every reply being generated (the app is closing)."""
        with self._lock:
            sessions = list(self._sessions.values())
        for session in sessions:
            session.stop()

    def _track(self, session: ChatSession) -> ChatSession:
        with self._lock:
            self._sessions[session.id] = session
            if self.saving_off is not None:
                session.repo = None  # saving stopped while it was being opened
        return session

    # -- conversations --------------------------------------------------------------------

    def list_conversations(self, search: str | None = None) -> list[ConversationSummary]:
        """Newest first; only those whose title or messages contain `search`, if given,
        or, for "template:NAME" (or "t:NAME"), those with a message made from a template
        whose name starts with NAME."""
        search = (search or "").strip()
        field, colon, wanted = search.partition(":")
        if colon and field in TEMPLATE_FILTERS:
            wanted = wanted.strip().casefold()
            return [
                summary
                for summary in self.conversations.list_conversations(self._damaged)
                if any(name.casefold().startswith(wanted) for name in summary.templates)
            ]
        if search:
            return self.conversations.search(search, self._damaged)
        return self.conversations.list_conversations(self._damaged)

    def _damaged(self, conversation_id: str, error: StoreError) -> None:
        with self._lock:
            if conversation_id in self._told_damaged:
                return
            self._told_damaged.add(conversation_id)
        self.events.emit(ConversationDamaged(conversation_id, str(error)))

    def markdown(self, conversation_id: str) -> str:
        """The conversation's visible branch as Markdown."""
        from chatapp.core.markdown import conversation_markdown

        conversation, messages = self.conversations.load(conversation_id)
        return conversation_markdown(conversation, messages)

    def title(self, conversation_id: str) -> str:
        conversation, _ = self.conversations.load(conversation_id)
        return conversation.title

    def rename(self, conversation_id: str, title: str) -> None:
        title = title.strip()
        self.conversations.rename(conversation_id, title)
        if (session := self._sessions.get(conversation_id)) is not None:
            session.conversation.title = title
        self.events.emit(ConversationRenamed(conversation_id, title, by="user"))

    def delete(self, conversation_id: str) -> None:
        """Move to the trash (restore() brings it back for TRASH_DAYS)."""
        self.conversations.delete(conversation_id)
        self.events.emit(ConversationDeleted(conversation_id))

    def restore(self, conversation_id: str) -> None:
        self.conversations.restore(conversation_id)
        self.events.emit(ConversationRestored(conversation_id))

    def purge_trash(self) -> int:
        """Delete for good what was trashed more than TRASH_DAYS ago; returns how many."""
        return self.conversations.purge_trash(older_than=TRASH_DAYS * 86400)

    # -- remembered UI state ----------------------------------------------------------------

    def load_ui_state(self) -> dict[str, Any]:
        return self._ui_repo().load()

    def save_ui_state(self, values: dict[str, Any]) -> None:
        self._ui_repo().save(values)

    def _ui_repo(self) -> UiStateRepo:
        if self._ui_state is None:
            self._ui_state = UiStateRepo(self.folder, on_unavailable=self._storage_unavailable)
        return self._ui_state

    # -- titles ---------------------------------------------------------------------------

    def _title_after_first_reply(self, event: Event) -> None:
        """A new conversation is named after its first exchange, off the critical path:
        the reply is shown (and printed) first."""
        assert isinstance(event, ReplyFinished)
        session = self._sessions.get(event.conversation_id)
        if session is None or session.repo is None or event.error is not None:
            return  # not stored (--no-save), or failed
        if len(session.tree) != 2:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(self._name(session))
        self._titles.add(task)
        task.add_done_callback(self._titles.discard)

    async def _name(self, session: ChatSession) -> None:
        from chatapp.core.titles import generate_title, plain_title

        question = next((m for m in session.thread if m.parent_id is None), None)
        if question is None:
            return
        fallback = plain_title(question.content)
        if session.conversation.title != fallback:
            return  # named by the user already
        title = await generate_title(session.backend, question.content)
        if title == fallback or session.conversation.title != fallback:
            return  # nothing better, or renamed by the user meanwhile: theirs wins
        session.conversation.title = title
        try:
            await asyncio.to_thread(session.save_conversation)
        except ChatappError as error:
            log.warning("could not store the title of %s: %s", session.id, error)
            return
        self.events.emit(ConversationRenamed(session.id, title, by="auto"))

    async def titles_written(self, timeout: float = TITLE_WAIT_ON_CLOSE) -> None:
        """Wait (bounded) for titles still being made."""
        if not self._titles:
            return
        _, late = await asyncio.wait(set(self._titles), timeout=timeout)
        # Not after the models close under them: what is late is given up.
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    async def aclose(self, title_wait: float = TITLE_WAIT_ON_CLOSE) -> None:
        """Finish the jobs that follow events and titles in progress (waiting at most
        title_wait for these), stop generating, close the models."""
        await self.background_done()
        await self.titles_written(title_wait)
        self.stop_all()
        await self.models.aclose()

    async def background_done(self) -> None:
        """Wait for the jobs that follow events: memory suggestions, implicit feedback."""
        await self.jobs.done()
