"""The store's errors: one family, each with a one-line message the UI can show as is."""

from __future__ import annotations

import errno
from pathlib import Path

from chatapp.core.errors import StoreError

__all__ = [
    "ConversationNotFound",
    "CorruptFile",
    "MemoryNotFound",
    "StorageUnavailable",
    "StoreBusy",
    "StoreError",
    "storage_reason",
]

_REASONS = {
    errno.EROFS: "data folder is read-only",
    errno.EACCES: "no permission to write in the data folder",
    errno.EPERM: "no permission to write in the data folder",
    errno.ENOSPC: "disk is full",
    errno.EDQUOT: "disk quota is used up",
}


def storage_reason(error: OSError) -> str:
    """Why a write failed, in words for a banner: 'data folder is read-only'."""
    if error.errno in _REASONS:
        return _REASONS[error.errno]
    return (error.strerror or str(error)).lower()


class ConversationNotFound(StoreError):
    def __init__(self, conversation_id: str) -> None:
        super().__init__(f"conversation {conversation_id} not found")
        self.conversation_id = conversation_id


class MemoryNotFound(StoreError):
    def __init__(self, memory_id: str) -> None:
        super().__init__(f"memory {memory_id} not found")
        self.memory_id = memory_id


class CorruptFile(StoreError):
    """A data file could not be parsed; it was moved aside, never emptied."""

    def __init__(self, path: Path, moved_to: Path | None) -> None:
        where = f"moved aside to {moved_to.name}" if moved_to else "it has already been moved aside"
        super().__init__(f"{path} is corrupt and cannot be read; {where}")
        self.path = path
        self.moved_to = moved_to


class StorageUnavailable(StoreError):
    """The data folder cannot be written (read-only, no permission, full disk, I/O error).
    `reason` says why in a few words; reading may still work."""

    def __init__(self, action: str, path: Path, error: OSError) -> None:
        super().__init__(f"cannot {action} {path}: {error.strerror or error}")
        self.path = path
        self.errno = error.errno
        self.reason = storage_reason(error)


class StoreBusy(StoreError):
    """Another process held a file's lock for longer than the timeout."""

    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__(f"{path} is locked by another chatapp process (waited {timeout:g} s)")
        self.path = path
