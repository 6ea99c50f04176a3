"""ConversationRepo: one user's conversations on disk (folder layout: store/users.py).

Each conversation is its own TinyDB file (a `conversation` table holding one record and a
`messages` table), so appending a message rewrites only that file, however long the
user's history. `index.json` is a cache of list summaries keyed by each file's
(mtime_ns, size); it is refreshed when the list is read, never on append, and can be
rebuilt from the conversation files at any time.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from tinydb import TinyDB, where
from tinydb.table import Document

from chatapp.core.models import Conversation, Message
from chatapp.store.errors import ConversationNotFound, StorageUnavailable, StoreError
from chatapp.store.tinystore import Reporter, TinyFile, move_file
from chatapp.store.users import UserDir

log = logging.getLogger(__name__)

CONVERSATION_TABLE = "conversation"
MESSAGES_TABLE = "messages"
INDEX_TABLE = "conversations"
# The conversation record is the only document of its table.
RECORD_ID = 1

_CONVERSATION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")

Signature = list[int]
# Told about each conversation file that cannot be read while listing.
DamageReporter = Callable[[str, StoreError], None]


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    id: str
    title: str
    created: float
    updated: float
    model: str | None
    message_count: int
    # The templates its user messages were made from, by name.
    templates: tuple[str, ...] = ()


class ConversationRepo:
    """One user's conversations; safe to share between threads and processes.

    A folder that cannot be written (read-only, full) can still be read: writes raise
    StorageUnavailable, and tell on_unavailable first.
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
        self._lock_timeout = lock_timeout
        self._on_unavailable = on_unavailable
        try:
            folder.ensure()
        except StorageUnavailable as error:
            if on_unavailable is not None:
                on_unavailable(error)
        self._files: dict[Path, TinyFile] = {}
        self._files_guard = threading.Lock()
        self._index = self._file(folder.index)

    # -- writing -----------------------------------------------------------------------

    def create(self, conversation: Conversation, messages: Sequence[Message] = ()) -> None:
        """Store a new conversation with its first messages, in one write: a failure
        leaves no conversation at all, never an empty one."""
        if not _CONVERSATION_ID.fullmatch(conversation.id):
            raise StoreError(f"invalid conversation id {conversation.id!r}")
        file = self._conversation_file(conversation.id)
        with file.writing() as db:
            if file.exists() or self.folder.trashed_file(conversation.id).exists():
                raise StoreError(f"conversation {conversation.id} already exists")
            record = Document(conversation.to_dict(), doc_id=RECORD_ID)
            db.table(CONVERSATION_TABLE).insert(record)
            if messages:
                db.table(MESSAGES_TABLE).insert_multiple(m.to_dict() for m in messages)

    def save_conversation(self, conversation: Conversation) -> None:
        """Store title, active_leaf, settings, model, template and updated."""
        with self._editing(conversation.id) as db:
            stored = _record(db, conversation.id)
            fields = conversation.to_dict()
            fields["id"], fields["user"], fields["created"] = (
                stored["id"],
                stored["user"],
                stored["created"],
            )
            # A writer holding an older copy must not move the conversation back in time.
            fields["updated"] = max(fields["updated"], stored["updated"])
            db.table(CONVERSATION_TABLE).update(fields, doc_ids=[RECORD_ID])

    def append_message(self, message: Message, *, make_active: bool = False) -> None:
        """Add a message to its conversation; an id already stored is replaced, not doubled.
        make_active also makes it the branch tip, in the same write (one fsync, not two)."""
        self._put_message(message, make_active=make_active)

    def append_messages(self, conversation_id: str, messages: list[Message]) -> None:
        """Add many messages in one write (an import, a test's history): one fsync, not
        one a message."""
        with self._editing(conversation_id) as db:
            _record(db, conversation_id)
            db.table(MESSAGES_TABLE).insert_multiple(m.to_dict() for m in messages)

    def update_message(self, message: Message) -> None:
        """Upsert by id: a streaming reply is saved like this about once a second."""
        self._put_message(message)

    def set_active_leaf(self, conversation_id: str, message_id: str) -> None:
        with self._editing(conversation_id) as db:
            _record(db, conversation_id)
            if not db.table(MESSAGES_TABLE).contains(where("id") == message_id):
                raise StoreError(f"message {message_id} is not in conversation {conversation_id}")
            db.table(CONVERSATION_TABLE).update({"active_leaf": message_id}, doc_ids=[RECORD_ID])

    def rename(self, conversation_id: str, title: str) -> None:
        with self._editing(conversation_id) as db:
            _record(db, conversation_id)
            db.table(CONVERSATION_TABLE).update({"title": title}, doc_ids=[RECORD_ID])

    def delete(self, conversation_id: str) -> None:
        """Move the conversation to the trash; `restore` brings it back."""
        file = self._conversation_file(conversation_id)
        with file.locked():
            if not file.exists():
                raise ConversationNotFound(conversation_id)
            trashed = self.folder.trashed_file(conversation_id)
            move_file(file.path, trashed)
            # The trash is purged by age: it counts from the delete, not the last message.
            os.utime(trashed)
        self._drop_from_index({conversation_id})

    def restore(self, conversation_id: str) -> None:
        file = self._conversation_file(conversation_id)
        trashed = self.folder.trashed_file(conversation_id)
        with file.locked():
            if not trashed.exists():
                raise ConversationNotFound(conversation_id)
            if file.exists():
                raise StoreError(f"conversation {conversation_id} already exists")
            move_file(trashed, file.path)

    def purge_trash(self, older_than: float = 0.0) -> int:
        """Delete for good the conversations trashed more than older_than seconds ago;
        returns how many."""
        cutoff = time.time() - older_than
        purged = 0
        for path in self.folder.trash.glob("*.json"):
            # Under the conversation's lock, so a concurrent restore sees all or nothing.
            with (
                self._conversation_file(path.stem).locked(),
                contextlib.suppress(FileNotFoundError),
            ):
                if path.stat().st_mtime <= cutoff:
                    path.unlink()
                    purged += 1
        return purged

    # -- reading -----------------------------------------------------------------------

    def load(self, conversation_id: str) -> tuple[Conversation, list[Message]]:
        """The conversation and all its messages (every branch), in creation order."""
        file = self._conversation_file(conversation_id)
        with file.reading() as db:
            record = db.table(CONVERSATION_TABLE).get(doc_id=RECORD_ID)
            documents = db.table(MESSAGES_TABLE).all()
        if record is None:
            _missing(file, conversation_id)
        # Document ids grow with each insert, and an upsert keeps its id: creation order.
        documents.sort(key=lambda document: document.doc_id)
        messages = [Message.from_dict(document) for document in documents]
        return Conversation.from_dict(dict(record)), messages

    def list_conversations(
        self, on_damaged: DamageReporter | None = None
    ) -> list[ConversationSummary]:
        """Summaries, most recently updated first.

        A file that cannot be read is left out and told to on_damaged (default: the log);
        a corrupt one is moved aside first, so it is told once.
        """
        on_disk = self._scan()
        cached = self._read_index()
        stale = {
            cid: sig
            for cid, sig in on_disk.items()
            if cached.get(cid, {}).get("sig") != sig or _summary(cached[cid]) is None
        }
        fresh, damaged = self._summarise_files(stale)
        vanished = cached.keys() - on_disk.keys()
        if fresh or vanished:
            self._write_index(fresh, vanished)
        entries = {**cached, **fresh}
        listed = (on_disk.keys() - stale.keys()) | fresh.keys()
        summaries = [summary for cid in listed if (summary := _summary(entries[cid])) is not None]
        summaries.sort(key=lambda summary: (summary.updated, summary.id), reverse=True)
        for cid, error in damaged.items():
            if on_damaged is not None:
                on_damaged(cid, error)
            else:
                log.warning("%s", error)
        return summaries

    def last(self, on_damaged: DamageReporter | None = None) -> ConversationSummary | None:
        summaries = self.list_conversations(on_damaged)
        return summaries[0] if summaries else None

    def search(
        self, text: str, on_damaged: DamageReporter | None = None
    ) -> list[ConversationSummary]:
        """Conversations whose title or any message contains text, ignoring case; newest first."""
        needle = text.casefold()
        return [
            summary
            for summary in self.list_conversations(on_damaged)
            if needle in summary.title.casefold() or self._mentions(summary.id, needle)
        ]

    def moved_aside(self) -> list[tuple[Path, float]]:
        """Damaged conversation files moved aside, with when each was last written,
        newest first."""
        found: list[tuple[Path, float]] = []
        for path in self.folder.conversations.glob("*.json.corrupt-*"):
            with contextlib.suppress(OSError):
                found.append((path, path.stat().st_mtime))
        return sorted(found, key=lambda item: item[1], reverse=True)

    # -- helpers -----------------------------------------------------------------------

    def _put_message(self, message: Message, *, make_active: bool = False) -> None:
        with self._editing(message.conversation_id) as db:
            stored = _record(db, message.conversation_id)
            db.table(MESSAGES_TABLE).upsert(message.to_dict(), where("id") == message.id)
            changes: dict[str, object] = {"updated": max(time.time(), stored["updated"])}
            if make_active:
                changes["active_leaf"] = message.id
            db.table(CONVERSATION_TABLE).update(changes, doc_ids=[RECORD_ID])

    @contextlib.contextmanager
    def _editing(self, conversation_id: str) -> Iterator[TinyDB]:
        """A write transaction on an existing conversation file."""
        file = self._conversation_file(conversation_id)
        with file.writing() as db:
            # Checked under the lock: a delete that finished while we waited moved the file.
            if not file.exists():
                raise ConversationNotFound(conversation_id)
            yield db

    def _mentions(self, conversation_id: str, needle: str) -> bool:
        file = self._conversation_file(conversation_id)
        try:
            with file.reading() as db:
                documents = db.table(MESSAGES_TABLE).all()
        except StoreError as error:
            log.warning("%s", error)  # damaged since it was listed: not a match
            return False
        return any(needle in str(document.get("content", "")).casefold() for document in documents)

    def _scan(self) -> dict[str, Signature]:
        """Conversation ids on disk with their file signature (mtime_ns, size)."""
        found: dict[str, Signature] = {}
        if not self.folder.conversations.is_dir():
            return found  # nothing was ever saved (or the folder cannot be made)
        with os.scandir(self.folder.conversations) as entries:
            for entry in entries:
                cid, dot, suffix = entry.name.rpartition(".")
                if suffix != "json" or not dot or not _CONVERSATION_ID.fullmatch(cid):
                    continue
                with contextlib.suppress(FileNotFoundError):
                    stat = entry.stat()
                    found[cid] = [stat.st_mtime_ns, stat.st_size]
        return found

    def _summarise_files(
        self, stale: dict[str, Signature]
    ) -> tuple[dict[str, dict[str, Any]], dict[str, StoreError]]:
        """Index entries for files whose signature changed; unreadable ones are collected."""
        fresh: dict[str, dict[str, Any]] = {}
        damaged: dict[str, StoreError] = {}
        for cid, sig in stale.items():
            # The signature was taken before reading, so a file changed in between only
            # looks stale again next time; it can never look fresh with old content.
            try:
                fresh[cid] = {"sig": sig, **self._summarise(cid)}
            except ConversationNotFound:
                continue
            except StoreError as error:
                damaged[cid] = error
        return fresh, damaged

    def _summarise(self, conversation_id: str) -> dict[str, Any]:
        file = self._conversation_file(conversation_id)
        with file.reading() as db:
            record = db.table(CONVERSATION_TABLE).get(doc_id=RECORD_ID)
            messages = db.table(MESSAGES_TABLE).all()
        if record is None:
            _missing(file, conversation_id)
        return {
            "id": conversation_id,
            "title": record.get("title", ""),
            "created": record.get("created", 0.0),
            "updated": record.get("updated", 0.0),
            "model": record.get("model"),
            "message_count": len(messages),
            "templates": _template_names(messages),
        }

    def _read_index(self) -> dict[str, dict[str, Any]]:
        try:
            with self._index.reading() as db:
                documents = db.table(INDEX_TABLE).all()
        except StoreError as error:
            # The index only caches what the conversation files say: rebuild it.
            log.warning("%s; rebuilding the conversation index", error)
            return {}
        return {
            document["id"]: dict(document)
            for document in documents
            if isinstance(document.get("id"), str)
        }

    def _write_index(self, fresh: dict[str, dict[str, Any]], vanished: set[str]) -> None:
        try:
            with self._index.writing() as db:
                table = db.table(INDEX_TABLE)
                table.remove(where("id").one_of([*fresh, *vanished]))
                table.insert_multiple(fresh.values())
        except StoreError as error:
            # Only a cache: a read-only or full folder lists without it.
            log.warning("%s; the conversation index will be rebuilt", error)

    def _drop_from_index(self, conversation_ids: set[str]) -> None:
        self._write_index({}, conversation_ids)

    def _conversation_file(self, conversation_id: str) -> TinyFile:
        # Ids become file names: refuse anything that could climb out of the directory.
        if not _CONVERSATION_ID.fullmatch(conversation_id):
            raise ConversationNotFound(conversation_id)
        return self._file(self.folder.conversation_file(conversation_id))

    def _file(self, path: Path) -> TinyFile:
        with self._files_guard:
            file = self._files.get(path)
            if file is None:
                file = self._files[path] = TinyFile(
                    path, lock_timeout=self._lock_timeout, on_unavailable=self._on_unavailable
                )
            return file


def _record(db: TinyDB, conversation_id: str) -> Document:
    record = db.table(CONVERSATION_TABLE).get(doc_id=RECORD_ID)
    if record is None:
        raise StoreError(f"conversation {conversation_id} has no conversation record")
    return record


def _missing(file: TinyFile, conversation_id: str) -> NoReturn:
    if not file.exists():
        raise ConversationNotFound(conversation_id)
    raise StoreError(f"{file.path} has no conversation record")


def _template_names(messages: Sequence[Mapping[str, Any]]) -> list[str]:
    """The templates the messages were made from, in the order first used."""
    names = (m.get("template", {}).get("name") for m in messages if m.get("template"))
    return list(dict.fromkeys(name for name in names if isinstance(name, str)))


def _summary(entry: dict[str, Any]) -> ConversationSummary | None:
    """An index entry as a summary, or None if the entry is malformed (then it is rebuilt)."""
    try:
        return ConversationSummary(
            id=str(entry["id"]),
            title=str(entry["title"]),
            created=float(entry["created"]),
            updated=float(entry["updated"]),
            model=entry["model"],
            message_count=int(entry["message_count"]),
            templates=tuple(str(name) for name in entry.get("templates", ())),
        )
    except (KeyError, TypeError, ValueError):
        return None
