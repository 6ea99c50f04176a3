"""ChatSession: a conversation as a tree of messages, answered turn by turn.

Each turn (core/turn.py) is a Generation stored as it goes; the session keeps the tree,
the branch on view and the model, and announces each step on its EventBus
(core/events.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chatapp.core.backends.base import Backend, GenerationParams
from chatapp.core.context import NO_MEMORY, BuiltPrompt, MemoryNotes, build_prompt
from chatapp.core.errors import (
    ChatappError,
    EmptyMessage,
    NotEditable,
    NothingToRegenerate,
    ReplyInProgress,
    UnknownMessage,
)
from chatapp.core.events import (
    AssistantReplyEdited,
    BranchSwitched,
    Event,
    EventBus,
    Regenerated,
    ReplyFinished,
    TurnStored,
    UserMessageEdited,
)
from chatapp.core.generation import Generation
from chatapp.core.models import (
    Conversation,
    FinishReason,
    Message,
    MessageTree,
    Role,
    new_id,
    now,
)
from chatapp.core.prompt_tokens import counter_for
from chatapp.core.text import is_blank
from chatapp.core.titles import plain_title
from chatapp.core.turn import Turn, TurnKind

if TYPE_CHECKING:
    from chatapp.config import ModelConfig
    from chatapp.store.conversations import ConversationRepo


# Which memories a prompt about this history carries, as blocks (the Workspace's).
Recall = Callable[[list[Message]], MemoryNotes]


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


class ChatSession:
    """A conversation with one model at a time, as a tree of messages."""

    def __init__(
        self,
        repo: ConversationRepo | None,
        backend: Backend,
        model: ModelConfig,
        conversation: Conversation,
        messages: list[Message] | None = None,
        events: EventBus | None = None,
    ) -> None:
        self.repo = repo
        self.backend = backend
        self.model = model
        self.conversation = conversation
        self.tree = MessageTree(messages)
        self.events = events or EventBus()
        self.turn: Turn | None = None
        # Replies in the tree whose last save failed, by id: stored before the next question.
        self.unsaved: dict[str, Message] = {}
        # A conversation is written to disk with its first message, not before.
        self.is_new = messages is None
        # Set when the model or settings change; saved with the next question.
        self._settings_changed = False
        # The memories for a prompt about this history (the Workspace's; None: none).
        self.recall: Recall | None = None

    @classmethod
    def new(
        cls,
        repo: ConversationRepo | None,
        backend: Backend,
        model: ModelConfig,
        *,
        user: str,
        system: str | None = None,
        events: EventBus | None = None,
    ) -> ChatSession:
        settings = {"system": system} if system is not None else {}
        conversation = Conversation(user=user, model=model.name, settings=settings)
        return cls(repo, backend, model, conversation, events=events)

    # -- the visible thread -------------------------------------------------------------

    @property
    def id(self) -> str:
        return self.conversation.id

    @property
    def thread(self) -> list[Message]:
        return self.tree.path_to(self.conversation.active_leaf)

    @property
    def system_prompt(self) -> str | None:
        if "system" in self.conversation.settings:
            return self.conversation.settings["system"]  # type: ignore[no-any-return]
        return self.model.system_prompt

    @property
    def generating(self) -> bool:
        return self.turn is not None and not self.turn.done

    def message(self, message_id: str) -> Message:
        if message_id not in self.tree:
            raise UnknownMessage(message_id)
        return self.tree.get(message_id)

    def sibling_position(self, message_id: str) -> tuple[int, int]:
        """(1-based index, count) of a message among its alternatives: ‹ 2/3 ›."""
        ids = [m.id for m in self.tree.siblings(self.message(message_id).id)]
        return ids.index(message_id) + 1, len(ids)

    def switch_to(self, message_id: str) -> None:
        """Show the branch through message_id (its newest continuation).
        In memory only: call save_conversation() (off the event loop) to store it."""
        self.conversation.active_leaf = self.tree.latest_leaf(self.message(message_id).id)
        self._emit(BranchSwitched(self.id, message_id, self.conversation.active_leaf))

    def switch_sibling(self, message_id: str, step: int) -> str:
        """Move to the previous (-1) or next (+1) alternative; returns the one shown."""
        siblings = self.tree.siblings(self.message(message_id).id)
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

    def send(
        self,
        text: str,
        params: GenerationParams | None = None,
        *,
        template: dict[str, Any] | None = None,
    ) -> Turn:
        """Add the user's message under the current leaf (saved before anything else)
        and start a reply to it. template: what made the text ({"name", "version",
        "variables"}), recorded on the message."""
        return self._ask("send", text, self.conversation.active_leaf, params, template=template)

    def edit(self, message_id: str, text: str, params: GenerationParams | None = None) -> Turn:
        """A new version of a user message: a sibling of it, answered on a new branch."""
        original = self.message(message_id)
        if original.role != Role.USER:
            raise NotEditable()
        return self._ask("edit", text, original.parent_id, params, replaces=message_id)

    def regenerate(
        self,
        params: GenerationParams | None = None,
        *,
        question_id: str | None = None,
        memory: bool = True,
    ) -> Turn:
        """A new reply (a sibling of the one shown) to the last user message in view, or
        to question_id (Retry under a failed reply); memory=False builds it without any
        memory, to compare with the reply that had them."""
        if self.generating:
            raise ReplyInProgress()
        thread = self.thread
        if question_id is not None:
            question: Message | None = self.message(question_id)
        else:
            question = next((m for m in reversed(thread) if m.role == Role.USER), None)
        if question is None or question.role != Role.USER:
            raise NothingToRegenerate()
        shown = next((m.id for m in thread if m.parent_id == question.id), None)
        params = params or default_params(self.model)
        prompt = self._prompt(self.tree.path_to(question.id), params, memory=memory)
        leaf_before, self.conversation.active_leaf = self.conversation.active_leaf, question.id
        return self._start_turn("regenerate", question, prompt, params, leaf_before, shown)

    def correct(self, reply_id: str, text: str) -> Message:
        """The user's own version of a reply: a sibling of it, written by the user, with
        the context the original had (for feedback), shown and stored at once (call it
        off the event loop). The original stays as the alternative before it."""
        if self.generating:
            raise ReplyInProgress()
        original = self.message(reply_id)
        if original.role != Role.ASSISTANT or original.incomplete:
            raise NotEditable("only a finished reply can be corrected")
        if is_blank(text):
            raise EmptyMessage()
        corrected = dataclasses.replace(
            original,
            id=new_id(),
            content=text,
            created=now(),
            written_by="user",
            completion_tokens=None,
            tokens_per_second=None,
            finish_reason=FinishReason.STOP,
            error=None,
        )
        self.tree.add(corrected)
        self.conversation.active_leaf = corrected.id
        self.persist_reply(corrected, first=True)
        self._emit(AssistantReplyEdited(self.id, original.id, corrected.id))
        return corrected

    def stop(self) -> None:
        if self.turn is not None:
            self.turn.stop()

    def _ask(
        self,
        kind: TurnKind,
        text: str,
        parent_id: str | None,
        params: GenerationParams | None,
        replaces: str | None = None,
        template: dict[str, Any] | None = None,
    ) -> Turn:
        if self.generating:
            raise ReplyInProgress()
        if is_blank(text):
            raise EmptyMessage()
        question = Message(
            conversation_id=self.id,
            role=Role.USER,
            content=text,
            parent_id=parent_id,
            template=template,
        )
        params = params or default_params(self.model)
        # Built before anything changes: a prompt that cannot fit leaves the session as it was.
        prompt = self._prompt([*self.tree.path_to(parent_id), question], params)
        if not self.tree:
            self.conversation.title = self.conversation.title or plain_title(text)
        self.tree.add(question)
        leaf_before, self.conversation.active_leaf = self.conversation.active_leaf, question.id
        return self._start_turn(kind, question, prompt, params, leaf_before, replaces)

    def warm_token_counts(self) -> None:
        """Count the thread's tokens now, as the next prompt will, so that prompt counts
        only its new message: otherwise the first Enter in a stored conversation of 200
        messages counts them all, on the event loop. Blocks while it counts (about a
        millisecond a message that fits the window): call it off the event loop, as
        opening a conversation does.

        Only while the model is loaded, since counting would load it; otherwise the first
        prompt counts as before. Counting beside a reply being generated is safe: it
        reads the tokenizer, which generating leaves alone. The backend is then asked to
        reserve the window the next reply needs (a local model grows it in the background,
        not after the Enter)."""
        backend = self.backend
        thread = self.thread
        if not thread or not backend.ready or not counter_for(backend).separable:
            return  # nothing to count, or nothing kept: whole prompts are counted afresh
        params = default_params(self.model)
        try:
            prompt = self._prompt(thread, params, memory=False)
        except ChatappError:
            return  # only a head start: the next prompt meets the same error and shows it
        # The window the next reply needs, grown now rather than after its Enter.
        backend.reserve(prompt.prompt_tokens + params.max_tokens)

    def _prompt(
        self, history: list[Message], params: GenerationParams, *, memory: bool = True
    ) -> BuiltPrompt:
        notes = self.recall(history) if memory and self.recall is not None else NO_MEMORY
        return build_prompt(
            history,
            system=self.system_prompt,
            n_ctx=self.backend.n_ctx,
            max_tokens=params.max_tokens,
            count_tokens=counter_for(self.backend),
            memory=notes,
        )

    def _start_turn(
        self,
        kind: TurnKind,
        question: Message,
        prompt: BuiltPrompt,
        params: GenerationParams,
        leaf_before: str | None,
        replaces: str | None,
    ) -> Turn:
        answer = Message(
            conversation_id=self.id,
            role=Role.ASSISTANT,
            content="",
            parent_id=question.id,
            model=self.model.name,
            params=params.to_dict(),
            memories_used=list(prompt.memory_ids),
            memory_note=prompt.notes.turn,
            memory_note_ids=list(prompt.notes.turn_ids),
            notes_left_out=prompt.notes_left_out(self.tree.path_to(question.parent_id)),
            system_seen=prompt.system,
            history_dropped=prompt.dropped,
        )
        generation = Generation(self.backend, prompt.messages, params)
        self.turn = Turn(self, kind, question, answer, prompt, generation, leaf_before, replaces)
        return self.turn

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

    # -- events ---------------------------------------------------------------------------

    def announce_start(self, turn: Turn) -> None:
        """The question (or branch point) is stored and the model is about to see it."""
        if turn.kind == "regenerate":
            self._emit(Regenerated(self.id, turn.replaces, turn.answer.id))
            return
        self._emit(TurnStored(self.id, turn.question.id))
        if turn.kind == "edit" and turn.replaces is not None:
            self._emit(UserMessageEdited(self.id, turn.replaces, turn.question.id))

    def announce_end(self, turn: Turn) -> None:
        answer = turn.answer
        reason = answer.finish_reason or FinishReason.CANCELLED
        error = str(turn.error) if turn.error else None
        self._emit(ReplyFinished(self.id, answer.id, reason, error, turn.question.id))

    def _emit(self, event: Event) -> None:
        self.events.emit(event)

    # -- persistence (run in worker threads by Turn, never on the event loop) ------------

    def persist_question(self, question: Message | None) -> None:
        """Store a new user message, or just the branch point for a regenerate."""
        # Read once: the workspace may turn saving off (repo None) from another thread.
        repo = self.repo
        if repo is None:
            return
        if self.is_new:
            # Record and question in one write: no empty conversation if it fails.
            self.conversation.updated = max(self.conversation.updated, now())
            repo.create(self.conversation, [question] if question is not None else [])
            self.is_new = False
            self._settings_changed = False
            return
        # Replies whose last save failed go first: the question may be their child.
        for message in list(self.unsaved.values()):
            repo.append_message(message)
            del self.unsaved[message.id]
        if question is not None and not self._settings_changed:
            repo.append_message(question, make_active=True)
            return
        if question is not None:
            repo.append_message(question)
        repo.save_conversation(self.conversation)
        self._settings_changed = False

    def persist_reply(self, message: Message, first: bool) -> None:
        repo = self.repo
        if repo is None:
            return
        if first:
            repo.append_message(message, make_active=True)
        else:
            repo.update_message(message)

    def save_conversation(self) -> None:
        """Write title, branch, model and settings (callers run it off the event loop)."""
        repo = self.repo
        if repo is not None and not self.is_new:
            repo.save_conversation(self.conversation)
