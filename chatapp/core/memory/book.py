"""MemoryBook: the facts one user chose to keep, and every way to change them.

The Workspace holds one book per user; the UI and the CLI change memory only through it.
The rules live here (one value per slot, no free-form fact twice, no secrets, history
and undo); the file lives in store/memory.py. Methods block on file I/O: the UI calls
them from a thread worker.

Errors, each a ChatappError whose text is one line for the screen:

    ChatappError
    ├── MemoryRefused        not saved: nothing to remember, a secret, too long, no such slot
    ├── NothingToUndo        undo_last before any change was made through this book
    ├── InvalidMemoryFile    import_ of bytes that are not a memory export
    └── StoreError           (store/errors.py)
        ├── MemoryNotFound   no memory with that id
        ├── CorruptFile      memory.json was unreadable and moved aside; the next call
        │                    starts from an empty book
        └── StorageUnavailable, StoreBusy
"""

from __future__ import annotations

import threading
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import orjson

from chatapp.core.errors import ChatappError
from chatapp.core.memory.slots import SLOTS, normalise, secret_reason
from chatapp.core.models import Memory, MemorySource, now
from chatapp.core.text import first_line, is_blank
from chatapp.store.errors import MemoryNotFound
from chatapp.store.memory import MemoryRepo, parse_memory

EXPORT_FORMAT = "chatapp.memory/1"
MAX_TEXT = 1000
# Versions kept per memory: enough to undo a few changes, not a log of a slot's whole life.
MAX_HISTORY = 20
UNDO_DEPTH = 50

T = TypeVar("T")
# MemoryBook has a method named `list`, which hides the builtin in its annotations.
Memories = list[Memory]


class MemoryRefused(ChatappError):
    """The text was not saved; str() says why ("not saved: it looks like an API key")."""


class NothingToUndo(ChatappError):
    def __init__(self) -> None:
        super().__init__("nothing to undo")


class InvalidMemoryFile(ChatappError):
    def __init__(self, problem: str) -> None:
        super().__init__(f"not a chatapp memory export: {problem}")


@dataclass(frozen=True, slots=True)
class MemoryChange:
    """What add or edit did. "added": a new memory. "replaced": the memory's text changed
    (a slot's new value, an edit); previous_text is the old one, now in its history.
    "duplicate": the fact was already stored as `memory`, and nothing was written."""

    kind: Literal["added", "replaced", "duplicate"]
    memory: Memory
    previous_text: str | None = None


@dataclass(frozen=True, slots=True)
class _Step:
    """One change made through the book, for undo_last: what it was, and each memory it
    touched as it was before (None: the memory did not exist)."""

    what: str
    before: dict[str, Memory | None]


class MemoryBook:
    """One user's memories. Safe to share between threads; other processes may change
    the same memories at the same time (each change is one locked read-modify-write)."""

    def __init__(self, repo: MemoryRepo, user: str) -> None:
        if repo.user != user:
            raise ValueError(f"a memory book for {user!r} over the memory of {repo.user!r}")
        self.user = user
        self._repo = repo
        self._steps: deque[_Step] = deque(maxlen=UNDO_DEPTH)
        self._steps_guard = threading.Lock()

    # -- changing ----------------------------------------------------------------------

    def add(
        self,
        text: str,
        *,
        slot: str | None = None,
        source: MemorySource = MemorySource.EXPLICIT,
        source_message_id: str | None = None,
        source_conversation_id: str | None = None,
    ) -> MemoryChange:
        """Remember a fact. A slot already filled gets the new text (the old one goes to
        its history); a free-form fact already stored, however cased or punctuated, is
        returned as a duplicate and not stored twice."""
        fact = _checked_fact(text)
        if slot is not None and slot not in SLOTS:
            raise MemoryRefused(
                f"not saved: unknown slot {slot!r} (known: {', '.join(sorted(SLOTS))})"
            )
        origin = (source, source_message_id, source_conversation_id)

        def apply(memories: Memories) -> tuple[MemoryChange, _Step | None]:
            holder = _in_slot(memories, slot) if slot else _same_fact(memories, fact)
            if holder is None:
                memory = Memory(self.user, fact, slot, *origin)
                memory.updated = memory.created
                memories.append(memory)
                step = _Step(f"remembering {_quote(fact)}", {memory.id: None})
                return MemoryChange("added", memory), step
            if normalise(holder.text) == normalise(fact):
                return MemoryChange("duplicate", holder), None
            what = f"replacing {_quote(holder.text)} with {_quote(fact)}"
            step = _Step(what, {holder.id: _copy(holder)})
            previous = holder.text
            _revise(holder, fact, *origin)
            return MemoryChange("replaced", holder, previous), step

        return self._change(apply)

    def edit(self, memory_id: str, text: str) -> MemoryChange:
        """Give a memory new text; the old text goes to its history. Editing a free-form
        fact into one already stored changes nothing and returns that one as a duplicate."""
        fact = _checked_fact(text)

        def apply(memories: Memories) -> tuple[MemoryChange, _Step | None]:
            memory = _find(memories, memory_id)
            if memory.text == fact:
                return MemoryChange("duplicate", memory), None
            same = None if memory.slot else _same_fact(memories, fact, besides=memory.id)
            if same is not None:
                return MemoryChange("duplicate", same), None
            step = _Step(f"editing {_quote(memory.text)}", {memory.id: _copy(memory)})
            previous = memory.text
            _revise(
                memory, fact, memory.source, memory.source_message_id, memory.source_conversation_id
            )
            return MemoryChange("replaced", memory, previous), step

        return self._change(apply)

    def pin(self, memory_id: str, pinned: bool = True) -> Memory:
        """Pinned memories go into every prompt (the system prompt), not only when relevant."""

        def apply(memories: Memories) -> tuple[Memory, _Step | None]:
            memory = _find(memories, memory_id)
            if memory.pinned == pinned:
                return memory, None
            verb = "pinning" if pinned else "unpinning"
            step = _Step(f"{verb} {_quote(memory.text)}", {memory.id: _copy(memory)})
            memory.pinned = pinned
            return memory, step

        return self._change(apply)

    def delete(self, memory_ids: Iterable[str]) -> Memories:
        """Forget these memories; returns the ones deleted (an id already gone is skipped)."""
        wanted = set(memory_ids)
        return self._change(lambda memories: _remove(memories, lambda m: m.id in wanted))

    def clear(self) -> Memories:
        """Forget every memory; returns them (undo_last brings them back)."""
        return self._change(lambda memories: _remove(memories, lambda m: True))

    def undo(self, memory_id: str) -> Memory | None:
        """Put a memory back to its previous version (the "undo" of a "memory updated"
        notice); a memory with no earlier version is removed and None returned. Works on
        history kept in the file, so in any process; undo_last can undo this undo."""

        def apply(memories: Memories) -> tuple[Memory | None, _Step]:
            memory = _find(memories, memory_id)
            step = _Step(f"undoing {_quote(memory.text)}", {memory.id: _copy(memory)})
            if not memory.history:
                memories.remove(memory)
                return None, step
            _restore_version(memory, memory.history.pop())
            return memory, step

        return self._change(apply)

    def undo_last(self) -> str:
        """Undo the last change made through this book in this process (add, replace,
        edit, pin, delete, clear, import, undo); returns what it undid, one line."""
        with self._steps_guard:
            if not self._steps:
                raise NothingToUndo()
            step = self._steps.pop()

        def apply(memories: Memories) -> None:
            memories[:] = [m for m in memories if m.id not in step.before]
            memories.extend(_copy(m) for m in step.before.values() if m is not None)

        try:
            self._repo.change(apply)
        except BaseException:
            with self._steps_guard:
                self._steps.append(step)
            raise
        return f"undone: {step.what}"

    # -- reading -----------------------------------------------------------------------

    def version(self) -> tuple[int, int] | None:
        """Changes with every write to the memories, from any process (for caches)."""
        return self._repo.version()

    def get(self, memory_id: str) -> Memory:
        return self._repo.get(memory_id)

    def list(self, search: str | None = None) -> Memories:
        """Every memory, oldest first; with search, those containing it (ignoring case
        and full-width forms)."""
        memories = self._repo.all()
        if search is None or not search.strip():
            return memories
        needle = _folded(search.strip())
        return [memory for memory in memories if needle in _folded(memory.text)]

    def from_conversation(self, conversation_id: str) -> Memories:
        """The memories that came from a conversation's messages (to offer deleting them
        with it)."""
        return [m for m in self._repo.all() if m.source_conversation_id == conversation_id]

    # -- export and import -------------------------------------------------------------

    def export(self) -> bytes:
        """Every memory with every field, as JSON with sorted keys: the same memories
        always give the same bytes."""
        payload = {"format": EXPORT_FORMAT, "memories": [m.to_dict() for m in self._repo.all()]}
        return orjson.dumps(
            payload, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE
        )

    def import_(self, data: bytes) -> int:
        """Merge an export into this book and return how many memories it wrote. A memory
        with an id already here replaces it; one filling a slot replaces the slot's
        memory; a free-form fact already here is skipped; all others are kept.
        Everything is checked before anything is written."""
        incoming = self._parse_export(data)

        def apply(memories: Memories) -> tuple[int, _Step | None]:
            written, before = _merge(memories, incoming)
            return written, _Step(f"importing {_count(written)}", before) if written else None

        return self._change(apply)

    # -- helpers -----------------------------------------------------------------------

    def _change(self, apply: Callable[[Memories], tuple[T, _Step | None]]) -> T:
        result, step = self._repo.change(apply)
        if step is not None:
            with self._steps_guard:
                self._steps.append(step)
        return result

    def _parse_export(self, data: bytes) -> Memories:
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError as error:
            raise InvalidMemoryFile(f"invalid JSON ({first_line(error)})") from None
        if (
            not isinstance(payload, dict)
            or payload.get("format") != EXPORT_FORMAT
            or not isinstance(payload.get("memories"), list)
        ):
            raise InvalidMemoryFile(f'expected {{"format": "{EXPORT_FORMAT}", "memories": [...]}}')
        return [
            self._imported(record, number)
            for number, record in enumerate(payload["memories"], start=1)
        ]

    def _imported(self, record: Any, number: int) -> Memory:
        # Whoever exported it, an imported memory is this user's.
        try:
            memory = parse_memory(
                {**record, "user": self.user} if isinstance(record, dict) else record
            )
        except ValueError as problem:
            raise InvalidMemoryFile(f"memory {number} {problem}") from None
        if is_blank(memory.text):
            raise InvalidMemoryFile(f"memory {number} has no text")
        if memory.slot is not None and memory.slot not in SLOTS:
            raise InvalidMemoryFile(f"memory {number} has an unknown slot {memory.slot!r}")
        reason = secret_reason(memory.text)
        if reason is not None:
            raise MemoryRefused(f"not imported: memory {number} {reason}")
        return memory


def _checked_fact(text: str) -> str:
    """The fact as stored, on one line; refused when empty, secret or too long."""
    if is_blank(text):
        raise MemoryRefused("nothing to remember")
    # Checked before joining lines: a private key is recognised by its own lines.
    reason = secret_reason(text)
    if reason is not None:
        raise MemoryRefused(f"not saved: it {reason}")
    fact = " ".join(text.split())
    if len(fact) > MAX_TEXT:
        raise MemoryRefused(
            f"not saved: a memory is one short fact (at most {MAX_TEXT} characters)"
        )
    return fact


def _find(memories: Memories, memory_id: str) -> Memory:
    for memory in memories:
        if memory.id == memory_id:
            return memory
    raise MemoryNotFound(memory_id)


def _in_slot(memories: Memories, slot: str) -> Memory | None:
    return next((memory for memory in memories if memory.slot == slot), None)


def _same_fact(memories: Memories, fact: str, besides: str | None = None) -> Memory | None:
    key = normalise(fact)
    return next(
        (m for m in memories if m.id != besides and normalise(m.text) == key),
        None,
    )


def _remove(memories: Memories, doomed: Callable[[Memory], bool]) -> tuple[Memories, _Step | None]:
    gone = [memory for memory in memories if doomed(memory)]
    if not gone:
        return gone, None
    memories[:] = [memory for memory in memories if not doomed(memory)]
    what = f"deleting {_quote(gone[0].text)}" if len(gone) == 1 else f"deleting {_count(len(gone))}"
    return gone, _Step(what, {memory.id: _copy(memory) for memory in gone})


def _merge(memories: Memories, incoming: Memories) -> tuple[int, dict[str, Memory | None]]:
    """Put incoming memories into memories (see import_). Returns how many were written
    and the memories touched as they were before, by id (None: new)."""
    before: dict[str, Memory | None] = {}
    # Only facts that were here before count as duplicates: an export holds none of its
    # own, and must come back whole.
    here = {memory.id: normalise(memory.text) for memory in memories}
    written = 0
    for memory in incoming:
        key = normalise(memory.text)
        if memory.slot is None and any(
            other != memory.id and known == key for other, known in here.items()
        ):
            continue
        replaced = [
            m for m in memories if m.id == memory.id or (memory.slot and m.slot == memory.slot)
        ]
        for old in replaced:
            before.setdefault(old.id, _copy(old))
            memories.remove(old)
            here.pop(old.id, None)
        before.setdefault(memory.id, None)
        memories.append(memory)
        written += 1
    return written, before


def _revise(
    memory: Memory,
    text: str,
    source: MemorySource,
    source_message_id: str | None,
    source_conversation_id: str | None,
) -> None:
    """A new version of memory; the current one goes to its history."""
    memory.history.append(
        {
            "text": memory.text,
            "updated": memory.updated,
            "source": memory.source.value,
            "source_message_id": memory.source_message_id,
            "source_conversation_id": memory.source_conversation_id,
        }
    )
    del memory.history[:-MAX_HISTORY]
    memory.text = text
    memory.updated = now()
    memory.source = source
    memory.source_message_id = source_message_id
    memory.source_conversation_id = source_conversation_id


def _restore_version(memory: Memory, version: dict[str, Any]) -> None:
    memory.text = version["text"]
    memory.updated = version.get("updated", memory.updated)
    memory.source = MemorySource(version.get("source", memory.source))
    memory.source_message_id = version.get("source_message_id")
    memory.source_conversation_id = version.get("source_conversation_id")


def _copy(memory: Memory) -> Memory:
    return Memory.from_dict(memory.to_dict())


def _folded(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _quote(text: str, limit: int = 60) -> str:
    return f"“{text if len(text) <= limit else text[: limit - 1] + '…'}”"


def _count(number: int) -> str:
    return f"{number} memory" if number == 1 else f"{number} memories"
