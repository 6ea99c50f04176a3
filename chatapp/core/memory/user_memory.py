"""UserMemory: one user's memory as the Workspace offers it to the UI and the CLI.

It puts the parts together: the MemoryBook (what is stored, slots, undo), the extractor
(suggestions from what the user says, never from replies or recalled memories) and the
retrieval index (what goes into a prompt). Every change is announced as MemoryChanged,
every suggestion as MemorySuggested. Methods that touch the file block: the UI calls
them in a thread; recall() reads a cached index and is cheap enough for the event loop.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable, Sequence

from chatapp.core.context import NO_MEMORY, MemoryNotes
from chatapp.core.events import EventBus, MemoryChanged, MemorySuggested
from chatapp.core.memory.book import MemoryBook, MemoryChange
from chatapp.core.memory.candidate import Candidate
from chatapp.core.memory.extract import extract
from chatapp.core.memory.retrieve import MemoryIndex, pinned_block, select, turn_block
from chatapp.core.models import Memory, MemorySource, Message, Role

# How many earlier messages, besides the new one, retrieval looks at.
RECENT_MESSAGES = 4
# At most this many relevant facts a turn: each one stays in the context for the rest of
# the conversation, and on a CPU every token of context slows the next reply a little.
RELEVANT_PER_TURN = 6

Preference = Callable[[], bool]


class UserMemory:
    def __init__(
        self,
        book: MemoryBook,
        events: EventBus,
        *,
        budget_tokens: int,
        auto: bool,
        enabled: Preference,
    ) -> None:
        self.book = book
        self.events = events
        self.budget_tokens = budget_tokens
        self.auto = auto
        self._enabled = enabled
        self._index: MemoryIndex | None = None
        self._index_version: tuple[int, int] | None = None
        self._guard = threading.Lock()

    @property
    def enabled(self) -> bool:
        """Memory on for this user: recalled into prompts, and suggestions made."""
        return self._enabled()

    # -- remembering ----------------------------------------------------------------------

    def remember(
        self,
        text: str,
        *,
        source: MemorySource = MemorySource.EXPLICIT,
        slot: str | None = None,
        message_id: str | None = None,
        conversation_id: str | None = None,
    ) -> MemoryChange:
        """Keep a fact; its slot is found from the text when not given ("My name is Sam"
        fills name). MemoryRefused for an empty or secret-looking one."""
        if slot is None:
            found = extract(text)
            slot = found[0].slot if len(found) == 1 else None
        change = self.book.add(
            text,
            slot=slot,
            source=source,
            source_message_id=message_id,
            source_conversation_id=conversation_id,
        )
        self._announce(change.kind, [change.memory], summary_of(change), conversation_id)
        return change

    def suggest(
        self, message: Message, candidates: Sequence[Candidate] | None = None
    ) -> list[tuple[str, str | None]]:
        """Facts the user stated about themselves in message (theirs only), as (text,
        slot): saved at once when memory.auto is on, else announced for their yes.
        The rules find them, unless candidates (a model's) are given. Nothing when
        memory is off, or already known."""
        if message.role != Role.USER or not self.enabled:
            return []
        known = {memory.text.casefold() for memory in self.book.list()}
        if candidates is None:
            candidates = extract(message.content)
        found = [(c.text, c.slot) for c in candidates]
        fresh = [(text, slot) for text, slot in found if text.casefold() not in known]
        if not fresh:
            return []
        if self.auto:
            for text, slot in fresh:
                self.remember(
                    text,
                    source=MemorySource.AUTO,
                    slot=slot,
                    message_id=message.id,
                    conversation_id=message.conversation_id,
                )
            return fresh
        self.events.emit(MemorySuggested(message.conversation_id, message.id, tuple(fresh)))
        return fresh

    def accept(
        self, text: str, slot: str | None, message_id: str, conversation_id: str
    ) -> MemoryChange:
        """The user said yes to a suggestion (maybe edited): kept with where it came from."""
        return self.remember(
            text,
            source=MemorySource.SUGGESTED,
            slot=slot,
            message_id=message_id,
            conversation_id=conversation_id,
        )

    def matching(self, words: str) -> list[Memory]:
        """The memories /forget <words> offers to delete."""
        return self.book.list(words.strip()) if words.strip() else []

    def forget(self, memory_ids: Sequence[str]) -> list[Memory]:
        gone = self.book.delete(memory_ids)
        if gone:
            noun = "memory" if len(gone) == 1 else "memories"
            self._announce("deleted", gone, f"forgot {len(gone)} {noun}")
        return gone

    def edit(self, memory_id: str, text: str) -> MemoryChange:
        change = self.book.edit(memory_id, text)
        self._announce("edited", [change.memory], summary_of(change))
        return change

    def pin(self, memory_id: str, pinned: bool = True) -> Memory:
        memory = self.book.pin(memory_id, pinned)
        what = "pinned" if pinned else "unpinned"
        self._announce(what, [memory], f"{what}: {memory.text}")
        return memory

    def clear(self) -> list[Memory]:
        gone = self.book.clear()
        self._announce("deleted", gone, f"forgot all {len(gone)} memories")
        return gone

    def undo_last(self) -> str:
        summary = self.book.undo_last()
        self._announce("undone", [], summary)
        return summary

    def _announce(
        self,
        kind: str,
        memories: Sequence[Memory],
        summary: str,
        conversation_id: str | None = None,
    ) -> None:
        self.events.emit(
            MemoryChanged(conversation_id or "", kind, tuple(m.id for m in memories), summary)
        )

    # -- recalling ------------------------------------------------------------------------

    def recall(self, history: list[Message]) -> MemoryNotes:
        """The memories for a prompt about history (its last message is the new one):
        pinned ones for the system prompt, and the relevant others not already noted
        earlier in the conversation beside the new message, within the budget, whole.
        Earlier notes stay in place while their memories are unchanged."""
        if not self.enabled or self.budget_tokens <= 0 or not history:
            return NO_MEMORY
        index = self._current_index()
        if not len(index):
            return NO_MEMORY
        kept, noted = still_true_notes(history, index)
        recent = [m.content for m in reversed(history[-(RECENT_MESSAGES + 1) :])]
        chosen = select(index, recent, budget_tokens=self.budget_tokens, limit=RELEVANT_PER_TURN)
        # Relevant ones already noted earlier in the conversation are in the prompt
        # there; only the others are written beside the new message.
        new = [memory for memory in chosen.relevant if memory.id not in noted]
        today = datetime.date.today()
        return MemoryNotes(
            system=pinned_block(chosen.pinned, today=today),
            turn=turn_block(new, today=today),
            ids=tuple(chosen.ids),
            turn_ids=tuple(memory.id for memory in new),
            kept_notes=kept,
        )

    def _current_index(self) -> MemoryIndex:
        """The index over the stored memories, rebuilt only when the file changed (here
        or in another chatapp process)."""
        with self._guard:
            version = self.book.version()
            if self._index is None or version != self._index_version:
                self._index = MemoryIndex(self.book.list(), previous=self._index)
                self._index_version = version
            return self._index


def still_true_notes(
    history: Sequence[Message], index: MemoryIndex
) -> tuple[frozenset[str], set[str]]:
    """The replies in history whose memory notes still hold (every memory in them
    still there and unchanged since), and the memories those notes carry."""
    kept: set[str] = set()
    noted: set[str] = set()
    for reply in history:
        if not reply.memory_note_ids:
            continue
        if all(index.updated.get(i, float("inf")) <= reply.created for i in reply.memory_note_ids):
            kept.add(reply.id)
            noted.update(reply.memory_note_ids)
    return frozenset(kept), noted


def summary_of(change: MemoryChange) -> str:
    """One line for a notice: what the memory now says, and what it replaced."""
    if change.kind == "duplicate":
        return f"already remembered: {change.memory.text}"
    if change.kind == "replaced" and change.previous_text:
        return f"memory updated: {change.memory.text} (was: {change.previous_text})"
    return f"remembered: {change.memory.text}"
