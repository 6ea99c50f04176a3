"""The store's errors: one family, each with a one-line message the UI can show as is."""

from __future__ import annotations

from pathlib import Path

from chatapp.core.errors import StoreError

__all__ = ["ConversationNotFound", "CorruptFile", "StoreBusy", "StoreError"]


class ConversationNotFound(StoreError):
    def __init__(self, conversation_id: str) -> None:
        super().__init__(f"conversation {conversation_id} not found")
        self.conversation_id = conversation_id


class CorruptFile(StoreError):
    """A data file could not be parsed; it was moved aside, never emptied."""

    def __init__(self, path: Path, moved_to: Path | None) -> None:
        where = f"moved aside to {moved_to.name}" if moved_to else "it has already been moved aside"
        super().__init__(f"{path} is corrupt and cannot be read; {where}")
        self.path = path
        self.moved_to = moved_to


class StoreBusy(StoreError):
    """Another process held a file's lock for longer than the timeout."""

    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__(f"{path} is locked by another chatapp process (waited {timeout:g} s)")
        self.path = path
