"""MemoryRepo: one user's memories on disk, in `<user root>/memory.json` (store/users.py).

All of a user's memories live in one TinyDB file (a `memories` table): a user keeps
hundreds of facts, not millions, and one file makes every change a single atomic write.
The repo knows records, not rules: slots, de-duplication, secrets and undo belong to
core/memory/book.py, which changes the list through the one primitive, `change`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from tinydb import TinyDB

from chatapp.core.models import Memory, MemorySource
from chatapp.store.errors import CorruptFile, MemoryNotFound, StorageUnavailable, StoreError
from chatapp.store.tinystore import Reporter, TinyFile, corrupt_name, move_file
from chatapp.store.users import UserDir

log = logging.getLogger(__name__)

MEMORIES_TABLE = "memories"

T = TypeVar("T")

_FIELDS = tuple(field.name for field in dataclasses.fields(Memory))
_OPTIONAL_TEXT_FIELDS = ("slot", "source_message_id", "source_conversation_id")
_SOURCES = frozenset(MemorySource)


class MemoryRepo:
    """One user's memories; safe to share between threads and processes.

    Reading needs no lock (the file is only ever replaced whole); `change` holds the
    file lock from load to write, so two processes never lose each other's memories.
    A write that fails because the folder is read-only or full is told to
    on_unavailable before the StorageUnavailable is raised.
    """

    def __init__(
        self,
        folder: UserDir,
        *,
        lock_timeout: float = 10.0,
        on_unavailable: Reporter | None = None,
    ) -> None:
        self.folder = folder
        self.user = folder.user
        self._on_unavailable = on_unavailable
        self._file = TinyFile(
            folder.memory, lock_timeout=lock_timeout, on_unavailable=on_unavailable
        )

    def version(self) -> tuple[int, int] | None:
        """(mtime_ns, size) of the file, None if there is none: changes with every write,
        this process's or another's, so a cache built on all() knows when to rebuild."""
        try:
            stat = self.folder.memory.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def all(self) -> list[Memory]:
        """Every memory, oldest first; a missing file is an empty list."""
        with self._file.reading() as db:
            documents = _documents(db)
        try:
            return _memories(documents)
        except ValueError:
            pass
        # Checked again under the writers' lock: a writer may have just replaced the file.
        with self._file.locked(), self._file.reading() as db:
            documents = _documents(db)
            try:
                return _memories(documents)
            except ValueError as problem:
                self._move_aside(problem)

    def get(self, memory_id: str) -> Memory:
        for memory in self.all():
            if memory.id == memory_id:
                return memory
        raise MemoryNotFound(memory_id)

    def change(self, fn: Callable[[list[Memory]], T]) -> T:
        """Under the file lock: load every memory, let fn change the list in place
        (append, remove, edit items), write it back once if anything changed, and
        return what fn returned. If fn raises, nothing is written."""
        self._make_folder()
        with self._file.writing() as db:
            try:
                memories = _memories(_documents(db))
            except ValueError as problem:
                self._move_aside(problem)
            before = [_record(memory) for memory in memories]
            result = fn(memories)
            after = [_record(memory) for memory in memories]
            if after != before:
                table = db.table(MEMORIES_TABLE)
                table.truncate()
                table.insert_multiple(after)
        return result

    def _make_folder(self) -> None:
        try:
            self.folder.ensure()
        except StorageUnavailable as error:
            if self._on_unavailable is not None:
                self._on_unavailable(error)
            raise

    def _move_aside(self, problem: ValueError) -> NoReturn:
        """A file that parses but does not hold memories is as unusable as one that does
        not parse: move it aside, never empty it. The caller holds the writers' lock."""
        path = self._file.path
        target = corrupt_name(path)
        try:
            move_file(path, target)
        except StorageUnavailable as error:
            raise StoreError(
                f"{path} is corrupt and cannot be read; it could not be moved aside "
                f"({error.reason})"
            ) from error
        log.warning("moved %s to %s: a record %s", path, target, problem)
        raise CorruptFile(path, target)


def parse_memory(record: object) -> Memory:
    """A stored or imported record as a Memory. Fields left out take their defaults;
    a field of the wrong type raises ValueError saying which ("has no text")."""
    if not isinstance(record, dict):
        raise ValueError("is not an object")
    for key in ("user", "text"):
        if not isinstance(record.get(key), str) or not record[key]:
            raise ValueError(f"has no {key}")
    if "id" in record and (not isinstance(record["id"], str) or not record["id"]):
        raise ValueError("has an invalid id")
    for key in _OPTIONAL_TEXT_FIELDS:
        if record.get(key) is not None and not isinstance(record[key], str):
            raise ValueError(f"has an invalid {key}")
    for key in ("created", "updated"):
        if key in record and not _is_number(record[key]):
            raise ValueError(f"has an invalid {key}")
    if "pinned" in record and not isinstance(record["pinned"], bool):
        raise ValueError("has an invalid pinned")
    if "source" in record and record["source"] not in _SOURCES:
        raise ValueError(f"has an unknown source {record['source']!r}")
    history = record.get("history", [])
    if not isinstance(history, list) or not all(_is_version(v) for v in history):
        raise ValueError("has an invalid history")
    # Memory.from_dict without its per-call dataclasses.fields(), which costs more than
    # the checks above; and a history of its own, never a list in TinyDB's snapshot.
    values = {name: record[name] for name in _FIELDS if name in record}
    values["source"] = MemorySource(values.get("source", MemorySource.EXPLICIT))
    values["history"] = [dict(version) for version in history]
    return Memory(**values)


def _record(memory: Memory) -> dict[str, Any]:
    """Memory.to_dict, ten times faster: dataclasses.asdict deep-copies field by field,
    and a change turns every memory into a record twice."""
    record = {name: getattr(memory, name) for name in _FIELDS}
    record["history"] = [dict(version) for version in memory.history]
    return record


def _documents(db: TinyDB) -> list[dict[str, Any]]:
    return [dict(document) for document in db.table(MEMORIES_TABLE).all()]


def _memories(documents: list[dict[str, Any]]) -> list[Memory]:
    memories = [parse_memory(document) for document in documents]
    memories.sort(key=lambda memory: (memory.created, memory.id))
    return memories


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_version(value: object) -> bool:
    return isinstance(value, dict) and isinstance(value.get("text"), str)
