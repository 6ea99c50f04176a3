"""Turn: one exchange of a conversation, stored as it goes.

The question is stored before the model sees it, the growing reply at least once a second,
and the final reply at the end; a turn whose question cannot be stored is taken back and
nothing is sent. The ChatSession makes turns and holds the tree they grow.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Literal, Protocol

from chatapp.core.backends.base import Usage
from chatapp.core.context import BuiltPrompt
from chatapp.core.errors import BackendError, ChatappError, StoreError
from chatapp.core.generation import Generation
from chatapp.core.models import Conversation, FinishReason, Message, MessageTree

# A crash loses at most this much of a streaming reply.
SAVE_INTERVAL = 1.0

TurnKind = Literal["send", "edit", "regenerate"]
_END = object()


class Conversing(Protocol):
    """What a turn needs of the conversation it belongs to (a ChatSession)."""

    tree: MessageTree
    conversation: Conversation
    # Replies whose last save failed, by id: stored before the next question.
    unsaved: dict[str, Message]

    @property
    def thread(self) -> list[Message]: ...

    def persist_question(self, question: Message | None) -> None: ...

    def persist_reply(self, message: Message, first: bool) -> None: ...

    def take_back(self, question: Message | None, leaf: str | None) -> None: ...

    def announce_start(self, turn: Turn) -> None: ...

    def announce_end(self, turn: Turn) -> None: ...


class Turn:
    """One exchange: a question (None for a regenerate), the generation answering it, and
    ``answer``, the assistant message as stored. Iterate it for text pieces (it starts
    with the iteration, and goes on if the loop breaks); a failure is raised at the end
    and kept in ``error``. ``undone`` is True when the question (or, for a regenerate,
    the branch point) could not be stored: nothing was sent, and the question's text is
    the caller's to give back."""

    def __init__(
        self,
        session: Conversing,
        kind: TurnKind,
        question: Message,
        answer: Message,
        prompt: BuiltPrompt,
        generation: Generation,
        leaf_before: str | None,
        replaces: str | None = None,
    ) -> None:
        self.session = session
        self.kind = kind
        # The user message answered: new for a send or an edit, the old one for a regenerate.
        self.question = question
        self.answer = answer
        self.prompt = prompt
        self.generation = generation
        # For an edit, the user message this is a new version of; for a regenerate, the
        # reply that was shown before (if any).
        self.replaces = replaces
        self.error: ChatappError | None = None
        self.undone = False
        self._leaf_before = leaf_before
        self._crash: Exception | None = None
        self._task: asyncio.Task[None] | None = None
        self._pieces: asyncio.Queue[object] = asyncio.Queue()
        self._ended_reading = False
        self._stored = False
        self._last_save = 0.0
        self._saving: asyncio.Task[None] | None = None
        # Set once the question is stored, or the turn undone because it could not be.
        self._question_settled = asyncio.Event()

    @property
    def text(self) -> str:
        return self.generation.text

    @property
    def stored(self) -> bool:
        """The reply joined the conversation (and its file, when the session saves); a
        failure before any text leaves the turn at the question."""
        return self._stored

    @property
    def usage(self) -> Usage | None:
        return self.generation.usage

    @property
    def done(self) -> bool:
        return self._task is not None and self._task.done()

    @property
    def new_question(self) -> bool:
        return self.kind != "regenerate"

    def start(self) -> Turn:
        """Start now: store the question, then generate; iterating starts it too."""
        if self._task is None:
            self._task = asyncio.create_task(self._run())
        return self

    def stop(self) -> None:
        """Stop generating; the partial reply is kept and marked cancelled. While the
        question is being stored the write goes on, and the reply ends stopped after it."""
        self.generation.stop()

    def __aiter__(self) -> Turn:
        return self.start()

    async def __anext__(self) -> str:
        if self._ended_reading:
            raise StopAsyncIteration
        try:
            item = await self._pieces.get()
        except asyncio.CancelledError:
            # The reader was cancelled (Ctrl-C, screen closed): stop generating and let
            # the partial reply be saved before the cancellation goes on.
            self.stop()
            if self._task is not None:
                await asyncio.shield(self._task)
            raise
        if item is _END:
            self._ended_reading = True
            if self._crash is not None:
                raise self._crash
            if self.error is not None:
                raise self.error
            raise StopAsyncIteration
        return item  # type: ignore[return-value]

    async def question_settled(self) -> None:
        """Until the question is stored (the turn goes on) or could not be (undone)."""
        await self._question_settled.wait()

    async def ended(self) -> None:
        """Wait until the turn has ended (finished, stopped, failed or undone), without
        reading it."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def wait(self) -> Message:
        """Read the rest of the reply (no display) and return the stored message."""
        async for _ in self:
            pass
        return self.answer

    async def _run(self) -> None:
        try:
            stored = await self._store_question()
            self._question_settled.set()
            if stored:
                self.session.announce_start(self)
                try:
                    await self._generate()
                finally:
                    # Whoever heard the start hears the end, even of a turn that crashed.
                    self.session.announce_end(self)
        except Exception as error:
            # Not a backend or store failure (those are self.error) but a bug: the reader
            # still hears that the turn ended, and gets the exception.
            self._crash = error
        finally:
            self._question_settled.set()
            self._pieces.put_nowait(_END)

    async def _store_question(self) -> bool:
        """Store the user's text (or the branch point) before the model sees it. False when
        it cannot be stored: the turn is undone and self.error says why."""
        question = self.question if self.new_question else None
        saving = asyncio.ensure_future(asyncio.to_thread(self.session.persist_question, question))
        while not saving.done():
            try:
                await asyncio.shield(saving)
            except asyncio.CancelledError:
                # Cancelled while the text is being written: a write in a thread cannot be
                # cut short and what follows depends on its outcome, so wait for it.
                self.generation.stop()
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
        self.session.take_back(question, self._leaf_before)
        self.undone = True
        self.error = error
        return False

    async def _generate(self) -> None:
        try:
            async for piece in self.generation:
                self._pieces.put_nowait(piece)
                self._save_periodically()
        except BackendError:
            pass  # generation.error holds it
        finally:
            self._settle()
            await self._save_final()

    def _settle(self) -> None:
        """Copy the generation's outcome into the stored message."""
        generation, message = self.generation, self.answer
        reason = generation.finish_reason or FinishReason.CANCELLED
        self.error = self.error or generation.error
        message.content = generation.text
        message.finish_reason = reason
        message.incomplete = reason in (FinishReason.CANCELLED, FinishReason.ERROR)
        message.error = str(self.error) if self.error else None
        usage = generation.usage or Usage()
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
        snapshot = replace(self.answer, content=self.text, incomplete=True)
        self._saving = asyncio.create_task(self._store(snapshot))
        # A failed save is retried by the next one; the last one reports (_save_final).
        self._saving.add_done_callback(lambda task: task.cancelled() or task.exception())

    async def _save_final(self) -> None:
        if self._saving is not None:
            await asyncio.gather(self._saving, return_exceptions=True)
        if self.answer.content or self.answer.finish_reason != FinishReason.ERROR:
            # When nothing arrived the turn ends at the user's message, and the error is
            # shown beside it with Retry (a regenerate), not stored as an empty reply.
            try:
                await self._store(self.answer)
            except StoreError as error:
                # The reply stays on screen and in the session, which stores it before the
                # next question (whose parent it is); the error says it is not on disk yet.
                self.session.unsaved[self.answer.id] = replace(self.answer)
                self.error = self.error or error
                self.answer.error = str(self.error)

    async def _store(self, message: Message) -> None:
        session = self.session
        session.tree.add(replace(message))
        if not self._stored:
            session.conversation.active_leaf = message.id
        await asyncio.to_thread(session.persist_reply, message, not self._stored)
        self._stored = True
        session.unsaved.pop(message.id, None)
