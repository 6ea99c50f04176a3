"""Conversations and messages: a tree of messages linked by parent_id."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


def new_id() -> str:
    """A new sortable id (ULID): ids created later sort after earlier ones."""
    from ulid import ULID  # here: python-ulid reads its package metadata when imported

    return str(ULID())


def now() -> float:
    return time.time()


class Role(StrEnum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"


class FinishReason(StrEnum):
    STOP = "stop"
    LENGTH = "length"
    CANCELLED = "cancelled"
    ERROR = "error"


@dataclass(slots=True)
class Message:
    conversation_id: str
    role: Role
    content: str
    parent_id: str | None = None
    id: str = field(default_factory=new_id)
    created: float = field(default_factory=now)
    model: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    tokens_per_second: float | None = None
    finish_reason: FinishReason | None = None
    incomplete: bool = False
    error: str | None = None
    memories_used: list[str] = field(default_factory=list)
    # "user" on a reply the user corrected (a sibling of the model's), else None.
    written_by: str | None = None
    # On a user message made from a template: {"name", "version", "variables"}.
    template: dict[str, Any] | None = None
    # On a reply, how its prompt was made, so later turns and feedback see exactly what
    # the model saw: the memory block put before its question (kept there in later
    # turns, so the prompt prefix stays the same and llama.cpp keeps its KV cache) and
    # the memories written in it, the system prompt as sent (pinned memories included),
    # and how many of the oldest history messages did not fit; notes_left_out: earlier
    # replies whose notes were left out (their memories changed or deleted since).
    memory_note: str = ""
    memory_note_ids: list[str] = field(default_factory=list)
    notes_left_out: list[str] = field(default_factory=list)
    system_seen: str | None = None
    history_dropped: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["role"] = Role(values["role"])
        if values.get("finish_reason") is not None:
            values["finish_reason"] = FinishReason(values["finish_reason"])
        return cls(**values)


@dataclass(slots=True)
class Conversation:
    user: str
    id: str = field(default_factory=new_id)
    title: str = ""
    created: float = field(default_factory=now)
    updated: float = field(default_factory=now)
    model: str | None = None
    template: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    active_leaf: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Conversation:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class MemorySource(StrEnum):
    """How a memory came to be: the user said it (explicit), accepted a suggestion made
    from their message (suggested), had it saved without asking (auto, only when
    memory.auto is on), or brought it from a file (imported)."""

    EXPLICIT = "explicit"
    SUGGESTED = "suggested"
    AUTO = "auto"
    IMPORTED = "imported"


@dataclass(slots=True)
class Memory:
    """One short fact the user chose to keep. A fact of a known kind has a slot (name,
    location, diet...): a new value replaces the old, which goes to history for undo."""

    user: str
    text: str
    slot: str | None = None
    source: MemorySource = MemorySource.EXPLICIT
    # The user message (and its conversation) a suggested or auto memory came from.
    source_message_id: str | None = None
    source_conversation_id: str | None = None
    id: str = field(default_factory=new_id)
    created: float = field(default_factory=now)
    updated: float = field(default_factory=now)
    pinned: bool = False
    # Earlier versions, oldest first: {"text", "updated", "source", ...} as they were.
    history: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Memory:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["source"] = MemorySource(values.get("source", MemorySource.EXPLICIT))
        return cls(**values)


class MessageTree:
    """The messages of one conversation, indexed for branch navigation."""

    def __init__(self, messages: list[Message] | None = None) -> None:
        self.by_id: dict[str, Message] = {}
        self.children: dict[str | None, list[Message]] = {}
        for message in messages or []:
            self.add(message)

    def add(self, message: Message) -> None:
        if message.id in self.by_id:
            self.replace(message)
            return
        self.by_id[message.id] = message
        self.children.setdefault(message.parent_id, []).append(message)

    def replace(self, message: Message) -> None:
        old = self.by_id[message.id]
        self.by_id[message.id] = message
        siblings = self.children[old.parent_id]
        siblings[siblings.index(old)] = message

    def remove(self, message_id: str) -> None:
        message = self.by_id.pop(message_id)
        self.children[message.parent_id].remove(message)

    def __len__(self) -> int:
        return len(self.by_id)

    def __contains__(self, message_id: object) -> bool:
        return message_id in self.by_id

    def get(self, message_id: str) -> Message:
        return self.by_id[message_id]

    def siblings(self, message_id: str) -> list[Message]:
        """The message and its alternatives (same parent), oldest first."""
        return self.children[self.by_id[message_id].parent_id]

    def path_to(self, leaf_id: str | None) -> list[Message]:
        """The thread from the root down to leaf_id (the visible conversation)."""
        path: list[Message] = []
        node = self.by_id.get(leaf_id) if leaf_id else None
        while node is not None:
            path.append(node)
            node = self.by_id.get(node.parent_id) if node.parent_id else None
        path.reverse()
        return path

    def latest_leaf(self, message_id: str) -> str:
        """Follow the newest child from message_id down to a leaf."""
        node = self.by_id[message_id]
        while kids := self.children.get(node.id):
            node = kids[-1]
        return node.id
