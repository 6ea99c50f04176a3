"""ChatSession: send, stream, stop, regenerate, edit and switch branches; persists every step."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from chatapp.core.backends.base import (
    Backend,
    BackendError,
    GenerationParams,
    StreamDropped,
    Usage,
)
from chatapp.core.context import BuiltPrompt, build_prompt
from chatapp.core.models import Conversation, FinishReason, Message, MessageTree, Role
from chatapp.store.errors import StoreError

if TYPE_CHECKING:
    from chatapp.config import ModelConfig
    from chatapp.store.repos import ConversationRepo

# A crash loses at most this much of a streaming reply.
SAVE_INTERVAL = 1.0
TITLE_LENGTH = 48

_END = object()


def default_params(model: ModelConfig, **overrides: Any) -> GenerationParams:
    """The model's configured sampling, with per-call overrides that are not None."""
    values: dict[str, Any] = {
        "max_tokens": model.max_tokens,
        "temperature": model.temperature,
        "top_p": model.top_p,
        "top_k": model.top_k,
        "repeat_penalty": model.repeat_penalty,
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return GenerationParams(**values)


def plain_title(text: str) -> str:
    """A fallback title: the first line of the first message, shortened on a word."""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "New chat")
    if len(line) <= TITLE_LENGTH:
        return line
    return line[:TITLE_LENGTH].rsplit(" ", 1)[0].rstrip(",.;:") + "…"


class Reply:
    """One assistant reply being generated. Iterate it for text pieces (generation starts
    with the iteration and goes on if the loop breaks), then read ``message``, ``usage``
    and ``error``; ``stop()`` ends it early and keeps the text. A failure is raised at
    the end of the iteration and kept in ``error``."""

    def __init__(
        self,
        session: ChatSession,
        message: Message,
        prompt: BuiltPrompt,
        params: GenerationParams,
        question: Message | None = None,
        leaf_before: str | None = None,
    ) -> None:
        self.session = session
        self._question = question
        self._leaf_before = leaf_before
        self.message = message
        self.prompt = prompt
        self.params = params
        self.usage: Usage | None = None
        self.error: BackendError | StoreError | None = None
        # True when the question (or, for a regenerate, the branch point) could not be
        # stored: the turn was taken back and nothing was sent.
        self.undone = False
        # The user's message of an undone turn, for the caller to give back (the TUI puts
        # it in the input again).
        self.unsaved_question: Message | None = None
        # The user message this question is a new version of (an edit).
        self.edit_of: str | None = None
        self._crash: Exception | None = None
        self.started = time.perf_counter()
        self._parts: list[str] = []
        self._pump: asyncio.Task[None] | None = None
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._ended = False
        self._stop_requested = False
        self._stored = False
        self._last_save = 0.0
        self._saving: asyncio.Task[None] | None = None
        # Set when the first chunk arrives or the reply ends: a UI that draws the turn
        # after this (or a short wait) does not hold back storing and sending the question.
        self.underway = asyncio.Event()

    @property
    def text(self) -> str:
        return "".join(self._parts)

    @property
    def done(self) -> bool:
        return self._pump is not None and self._pump.done()

    def stop(self) -> None:
        """Stop generating; the partial reply is kept and marked cancelled."""
        self._stop_requested = True
        if self._pump is not None and not self._pump.done():
            self._pump.cancel()

    def start(self) -> Reply:
        """Start generating now; iterating starts it too."""
        if self._pump is None:
            self._pump = asyncio.create_task(self._run(self._queue))
        return self

    def __aiter__(self) -> Reply:
        return self.start()

    async def __anext__(self) -> str:
        if self._ended:
            raise StopAsyncIteration
        try:
            item = await self._queue.get()
        except asyncio.CancelledError:
            # The consumer was cancelled (Ctrl-C, screen closed): stop generating and
            # let the partial reply be saved before the cancellation goes on.
            self.stop()
            if self._pump is not None:
                await asyncio.shield(self._pump)
            raise
        if item is _END:
            self._ended = True
            if self.error is not None:
                raise self.error
            if self._crash is not None:
                raise self._crash
            raise StopAsyncIteration
        return item  # type: ignore[return-value]

    async def ended(self) -> None:
        """Wait until the reply has ended (finished, stopped, failed or undone), without
        consuming it."""
        if self._pump is not None:
            await asyncio.shield(self._pump)

    async def wait(self) -> Message:
        """Consume the rest of the reply (no display) and return the stored message."""
        async for _ in self:
            pass
        return self.message

    async def _run(self, queue: asyncio.Queue[object]) -> None:
        try:
            if await self._store_question():
                await self._generate(queue)
        except Exception as error:
            # Not a backend or store failure (those are self.error) but a bug: the consumer
            # still hears that the reply ended, and gets the exception.
            self._crash = error
        finally:
            self.underway.set()
            queue.put_nowait(_END)

    async def _store_question(self) -> bool:
        """Store the user's text (or the branch point) before the model sees it. False when
        it cannot be stored: the turn is undone and self.error says why."""
        saving = asyncio.ensure_future(
            asyncio.to_thread(self.session.persist_question, self._question)
        )
        while not saving.done():
            try:
                await asyncio.shield(saving)
            except asyncio.CancelledError:
                # A stop while the text is being written: a write in a thread cannot be cut
                # short, and what follows depends on its outcome, so wait for it.
                self._stop_requested = True
                if (task := asyncio.current_task()) is not None:
                    task.uncancel()
            except Exception:
                pass  # read below
        error = saving.exception()
        if error is None:
            return True
        if not isinstance(error, StoreError):
            raise error
        # Nothing is asked that is not on disk.
        self.session.take_back(self._question, self._leaf_before)
        self.undone = True
        self.unsaved_question = self._question
        self.error = error
        self._finish(FinishReason.ERROR)
        return False

    async def _generate(self, queue: asyncio.Queue[object]) -> None:
        if self._stop_requested:
            self._finish(FinishReason.CANCELLED)
            await self._save_final()
            return
        stream = self.session.backend.stream(self.prompt.messages, self.params)
        try:
            async for chunk in stream:
                self.underway.set()
                if chunk.text:
                    self._parts.append(chunk.text)
                    queue.put_nowait(chunk.text)
                    self._save_periodically()
                if chunk.usage is not None:
                    self.usage = chunk.usage
                if chunk.finish_reason:
                    self.message.finish_reason = _finish_reason(chunk.finish_reason)
            self._finish(self.message.finish_reason or FinishReason.STOP)
        except asyncio.CancelledError:
            self._finish(FinishReason.CANCELLED)
        except StreamDropped as error:
            if error.partial and not self._parts:
                self._parts.append(error.partial)
            self.error = error
            self._finish(FinishReason.ERROR)
        except BackendError as error:
            self.error = error
            self._finish(FinishReason.ERROR)
        finally:
            await stream.aclose()
            await self._save_final()

    def _finish(self, reason: FinishReason) -> None:
        message = self.message
        message.content = self.text
        message.finish_reason = reason
        message.incomplete = reason in (FinishReason.CANCELLED, FinishReason.ERROR)
        message.error = str(self.error) if self.error else None
        usage = self.usage or Usage()
        message.prompt_tokens = usage.prompt_tokens or self.prompt.prompt_tokens
        message.completion_tokens = usage.completion_tokens
        message.tokens_per_second = usage.tokens_per_second

    def _save_periodically(self) -> None:
        now = time.monotonic()
        if now - self._last_save < SAVE_INTERVAL:
            return
        if self._saving is not None and not self._saving.done():
            return
        self._last_save = now
        snapshot = replace(self.message, content=self.text, incomplete=True)
        self._saving = asyncio.create_task(self._store(snapshot))
        # A failed save is retried by the next one; the last one reports (_save_final).
        self._saving.add_done_callback(lambda task: task.cancelled() or task.exception())

    async def _save_final(self) -> None:
        if self._saving is not None:
            await asyncio.gather(self._saving, return_exceptions=True)
        if self.message.content or self.message.finish_reason != FinishReason.ERROR:
            # When nothing arrived the turn ends at the user's message, and the error is
            # shown beside it with Retry (a regenerate), not stored as an empty reply.
            try:
                await self._store(self.message)
            except StoreError as error:
                # The reply stays on screen and in the session, which stores it before the
                # next question (whose parent it is); the error says it is not on disk yet.
                self.session.unsaved[self.message.id] = replace(self.message)
                self.error = self.error or error
                self.message.error = str(self.error)

    async def _store(self, message: Message) -> None:
        self.session.tree.add(replace(message))
        if not self._stored:
            self.session.conversation.active_leaf = message.id
        await asyncio.to_thread(self.session.persist_reply, message, not self._stored)
        self._stored = True
        self.session.unsaved.pop(message.id, None)


def _finish_reason(value: str) -> FinishReason:
    try:
        return FinishReason(value)
    except ValueError:
        # Servers have more reasons ("eos", "content_filter"…); all of them mean it ended.
        return FinishReason.STOP


class ChatSession:
    """A conversation with one model at a time, as a tree of messages."""

    def __init__(
        self,
        repo: ConversationRepo | None,
        backend: Backend,
        model: ModelConfig,
        conversation: Conversation,
        messages: list[Message] | None = None,
    ) -> None:
        self.repo = repo
        self.backend = backend
        self.model = model
        self.conversation = conversation
        self.tree = MessageTree(messages)
        self.reply: Reply | None = None
        # Replies in the tree whose last save failed, by id: stored before the next question.
        self.unsaved: dict[str, Message] = {}
        # A conversation is written to disk with its first message, not before.
        self.repo_is_new = messages is None
        # Set when the model or settings change; saved with the next question.
        self._settings_changed = False

    @classmethod
    def new(
        cls,
        repo: ConversationRepo | None,
        backend: Backend,
        model: ModelConfig,
        *,
        user: str,
        system: str | None = None,
    ) -> ChatSession:
        settings = {"system": system} if system is not None else {}
        conversation = Conversation(user=user, model=model.name, settings=settings)
        return cls(repo, backend, model, conversation)

    @classmethod
    def open(
        cls, repo: ConversationRepo, conversation_id: str, backend: Backend, model: ModelConfig
    ) -> ChatSession:
        conversation, messages = repo.load(conversation_id)
        return cls(repo, backend, model, conversation, messages)

    # -- the visible thread -------------------------------------------------------------

    @property
    def thread(self) -> list[Message]:
        return self.tree.path_to(self.conversation.active_leaf)

    @property
    def system_prompt(self) -> str | None:
        if "system" in self.conversation.settings:
            return self.conversation.settings["system"]
        return self.model.system_prompt

    @property
    def generating(self) -> bool:
        return self.reply is not None and not self.reply.done

    def sibling_position(self, message_id: str) -> tuple[int, int]:
        """(1-based index, count) of a message among its alternatives: ‹ 2/3 ›."""
        siblings = self.tree.siblings(message_id)
        ids = [m.id for m in siblings]
        return ids.index(message_id) + 1, len(ids)

    def switch_to(self, message_id: str) -> None:
        """Show the branch through message_id (its newest continuation).
        In memory only: call save_conversation() (off the event loop) to store it."""
        self.conversation.active_leaf = self.tree.latest_leaf(message_id)

    def switch_sibling(self, message_id: str, step: int) -> str:
        """Move to the previous (-1) or next (+1) alternative; returns the one shown."""
        siblings = self.tree.siblings(message_id)
        index = [m.id for m in siblings].index(message_id)
        target = siblings[(index + step) % len(siblings)]
        self.switch_to(target.id)
        return target.id

    def use_model(self, backend: Backend, model: ModelConfig) -> None:
        """Answer the next turns with another model."""
        self.backend = backend
        self.model = model
        self.conversation.model = model.name
        self._settings_changed = True

    # -- generating ---------------------------------------------------------------------

    def send(self, text: str, params: GenerationParams | None = None) -> Reply:
        """Add the user's message under the current leaf (saved before anything else)
        and start a reply to it."""
        leaf = self.conversation.active_leaf
        return self._ask(text, parent_id=leaf, params=params)

    def edit(self, message_id: str, text: str, params: GenerationParams | None = None) -> Reply:
        """A new version of a user message: a sibling of it, answered on a new branch."""
        original = self.tree.get(message_id)
        if original.role != Role.USER:
            raise ValueError("only user messages can be edited")
        reply = self._ask(text, parent_id=original.parent_id, params=params)
        reply.edit_of = message_id
        return reply

    def regenerate(self, params: GenerationParams | None = None) -> Reply:
        """A new reply (a sibling of the last one) to the last user message in view."""
        if self.generating:
            raise RuntimeError("a reply is still being generated; stop it first")
        question = next((m for m in reversed(self.thread) if m.role == Role.USER), None)
        if question is None:
            raise ValueError("nothing to regenerate: the conversation has no user message")
        params = params or default_params(self.model)
        prompt = self._prompt(self.tree.path_to(question.id), params)
        leaf_before, self.conversation.active_leaf = self.conversation.active_leaf, question.id
        return self._start_reply(question, prompt, params, False, leaf_before)

    def stop(self) -> None:
        if self.reply is not None:
            self.reply.stop()

    def _ask(self, text: str, parent_id: str | None, params: GenerationParams | None) -> Reply:
        if self.generating:
            raise RuntimeError("a reply is still being generated; stop it first")
        question = Message(
            conversation_id=self.conversation.id, role=Role.USER, content=text, parent_id=parent_id
        )
        params = params or default_params(self.model)
        # Built before anything changes: a prompt that cannot fit leaves the session as it was.
        prompt = self._prompt([*self.tree.path_to(parent_id), question], params)
        if not self.tree:
            self.conversation.title = self.conversation.title or plain_title(text)
        self.tree.add(question)
        leaf_before, self.conversation.active_leaf = self.conversation.active_leaf, question.id
        return self._start_reply(question, prompt, params, True, leaf_before)

    def _prompt(self, history: list[Message], params: GenerationParams) -> BuiltPrompt:
        return build_prompt(
            history,
            system=self.system_prompt,
            n_ctx=self.backend.n_ctx,
            max_tokens=params.max_tokens,
            count_tokens=self.backend.count_tokens,
        )

    def _start_reply(
        self,
        question: Message,
        prompt: BuiltPrompt,
        params: GenerationParams,
        new_question: bool,
        leaf_before: str | None,
    ) -> Reply:
        answer = Message(
            conversation_id=self.conversation.id,
            role=Role.ASSISTANT,
            content="",
            parent_id=question.id,
            model=self.model.name,
            params=params.to_dict(),
        )
        self.reply = Reply(
            self, answer, prompt, params, question if new_question else None, leaf_before
        )
        return self.reply

    def take_back(self, question: Message | None, leaf: str | None) -> None:
        """Undo a turn that could not be stored: the question leaves the tree and the
        conversation shows the branch it showed before."""
        if question is not None and question.id in self.tree:
            self.tree.remove(question.id)
            if not self.tree and self.conversation.title == plain_title(question.content):
                self.conversation.title = ""  # it came from this question
        self.conversation.active_leaf = leaf
        # The conversation record (title, branch) is written again with the next question.
        self._settings_changed = True

    # -- persistence (run in worker threads by Reply, never on the event loop) -----------

    def persist_question(self, question: Message | None) -> None:
        """Store a new user message, or just the branch point for a regenerate."""
        if self.repo is None:
            return
        if self.repo_is_new:
            self.repo.create(self.conversation)
            self.repo_is_new = False
        # Replies whose last save failed go first: the question may be their child.
        for message in list(self.unsaved.values()):
            self.repo.append_message(message)
            del self.unsaved[message.id]
        if question is not None and not self._settings_changed:
            self.repo.append_message(question, make_active=True)
            return
        if question is not None:
            self.repo.append_message(question)
        self.repo.save_conversation(self.conversation)
        self._settings_changed = False

    def persist_reply(self, message: Message, first: bool) -> None:
        if self.repo is None:
            return
        if first:
            self.repo.append_message(message, make_active=True)
        else:
            self.repo.update_message(message)

    def save_conversation(self) -> None:
        """Write title, branch, model and settings (callers run it off the event loop)."""
        if self.repo is not None and not self.repo_is_new:
            self.repo.save_conversation(self.conversation)
