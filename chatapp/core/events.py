"""What happened in a conversation, announced to whoever listens.

The core emits these as plain values on an EventBus; core code subscribes with plain
callbacks (titles, and later memory suggestions and feedback), and the UI turns them
into Textual messages for whatever screen is showing. Events carry ids, never live
objects, so a listener can be anywhere, even in another thread.

The order for one exchange: TurnStored (or Regenerated) when the question (or branch
point) is on disk and the model starts; then ReplyFinished once the reply is stored.
An edit adds UserMessageEdited right after its TurnStored.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from chatapp.core.models import FinishReason

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Event:
    conversation_id: str


@dataclass(frozen=True, slots=True)
class TurnStored(Event):
    """A user message is on disk and about to be answered."""

    message_id: str


@dataclass(frozen=True, slots=True)
class ReplyFinished(Event):
    """A reply ended (finished, stopped or failed) and is stored as far as it got."""

    message_id: str
    finish_reason: FinishReason
    error: str | None = None
    # The user message it answers.
    question_id: str | None = None


@dataclass(frozen=True, slots=True)
class Regenerated(Event):
    """The user asked for another reply: new_id is a sibling of old_id (None if the
    question had no reply yet, e.g. after a failure)."""

    old_id: str | None
    new_id: str


@dataclass(frozen=True, slots=True)
class UserMessageEdited(Event):
    """A new version (new_id) of a user message (original_id), on a branch of its own."""

    original_id: str
    new_id: str


@dataclass(frozen=True, slots=True)
class AssistantReplyEdited(Event):
    """The user corrected a reply: new_id is a sibling written by the user."""

    original_id: str
    new_id: str


@dataclass(frozen=True, slots=True)
class BranchSwitched(Event):
    """Another version of a message (message_id) is shown, with its branch."""

    message_id: str
    active_leaf: str | None


@dataclass(frozen=True, slots=True)
class ConversationRenamed(Event):
    title: str
    # "user" for a rename, "auto" for a title made from the first exchange.
    by: str = "user"


@dataclass(frozen=True, slots=True)
class ConversationDeleted(Event):
    """Moved to the trash; ConversationRestored undoes it."""


@dataclass(frozen=True, slots=True)
class ConversationRestored(Event):
    pass


@dataclass(frozen=True, slots=True)
class ConversationDamaged(Event):
    """A conversation file could not be read; it was moved aside (or could not be) and
    the rest go on without it. message is the one line to show."""

    message: str


@dataclass(frozen=True, slots=True)
class SavingStopped(Event):
    """Conversations are no longer saved this run: reason says why ("data folder is
    read-only"). Replies still come and conversations can still be read. About the
    workspace, not one conversation: conversation_id is ""."""

    reason: str


@dataclass(frozen=True, slots=True)
class MemorySuggested(Event):
    """Facts the user stated about themselves in message_id, waiting for their yes:
    (text, slot) pairs, in the order they were said."""

    message_id: str
    suggestions: tuple[tuple[str, str | None], ...]


@dataclass(frozen=True, slots=True)
class MemoryChanged(Event):
    """A memory was added, replaced, edited, pinned, deleted or restored (conversation_id
    is the conversation it came from, or ""). summary is the one line to show, e.g.
    "memory updated: Lives in Berlin (was: Lives in Paris)"."""

    kind: str
    memory_ids: tuple[str, ...]
    summary: str


Listener = Callable[[Event], None]


class EventBus:
    """Synchronous publish/subscribe: emit() calls each listener in the emitting thread.

    A failing listener is logged and skipped: a broken subscriber must never break the
    conversation that announced something.
    """

    def __init__(self) -> None:
        self._listeners: list[tuple[Listener, tuple[type[Event], ...]]] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener, *kinds: type[Event]) -> Callable[[], None]:
        """Call listener for every event (or only those of the given kinds); returns
        the function that unsubscribes it."""
        entry = (listener, kinds or (Event,))
        with self._lock:
            self._listeners.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._listeners:
                    self._listeners.remove(entry)

        return unsubscribe

    def emit(self, event: Event) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener, kinds in listeners:
            if not isinstance(event, kinds):
                continue
            try:
                listener(event)
            except Exception:
                log.exception("a listener of %s failed", type(event).__name__)
