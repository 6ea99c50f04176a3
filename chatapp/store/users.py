"""UserDir: one user's folder. The user name is checked once, here, and the layout of the
folder is known only here.

    <data_dir>/users/<user>/
        index.json              conversation summaries (a cache, rebuilt at will)
        conversations/<id>.json one TinyDB file per conversation
        trash/<id>.json         deleted conversations, purged after TRASH_DAYS
        memory.json             the facts the user chose to keep (one TinyDB file)
        ui.json                 theme, sidebar, the unsent draft
        preferences.json        the user's choices the core reads (memory on or off)
"""

from __future__ import annotations

import re
from pathlib import Path

from chatapp.core.errors import ConfigError
from chatapp.store.errors import StoreError
from chatapp.store.tinystore import make_private_dir, sweep_temp_files, write_atomically

_USER_NAME = re.compile(r"[A-Za-z0-9_@-][A-Za-z0-9._@-]{0,127}")


class InvalidUserName(StoreError, ConfigError):
    """A store error found in what the user set up (--user, default_user): exit code 2."""

    def __init__(self, user: str) -> None:
        super().__init__(
            f"invalid user name {user!r}: use up to 128 letters, digits, '.', '_', '@', '-'"
            " (not starting with '.')"
        )
        self.user = user


class UserDir:
    """Where one user's data lives. Creating it checks the name; `ensure()` makes the
    folders (0700) and sweeps temp files left by writers killed mid-write."""

    def __init__(self, data_dir: Path, user: str) -> None:
        if not _USER_NAME.fullmatch(user):
            raise InvalidUserName(user)
        self.data_dir = data_dir
        self.user = user
        self.root = data_dir / "users" / user
        self.conversations = self.root / "conversations"
        self.trash = self.root / "trash"
        self.index = self.root / "index.json"
        self.memory = self.root / "memory.json"
        self.feedback = self.root / "feedback"
        self.ui_state = self.root / "ui.json"
        self.preferences = self.root / "preferences.json"
        self._made = False

    def ensure(self) -> UserDir:
        if self._made:
            return self  # once per UserDir: every store of the user shares this one
        for directory in (
            self.data_dir,
            self.data_dir / "users",
            self.root,
            self.conversations,
            self.trash,
        ):
            make_private_dir(directory)
        sweep_temp_files(self.root)
        sweep_temp_files(self.conversations)
        self._made = True
        return self

    def check_writable(self) -> None:
        """Write and remove a small file the way the stores write theirs; raises
        StorageUnavailable when the folder is read-only or the disk is full."""
        probe = self.root / ".write-check"
        write_atomically(probe, b"chatapp can write here\n")
        probe.unlink(missing_ok=True)

    @classmethod
    def all(cls, data_dir: Path) -> list[UserDir]:
        """Every user with a folder under data_dir, by name."""
        users = data_dir / "users"
        if not users.is_dir():
            return []
        return [
            cls(data_dir, entry.name)
            for entry in sorted(users.iterdir())
            if entry.is_dir() and _USER_NAME.fullmatch(entry.name)
        ]

    def conversation_count(self) -> int:
        """How many conversations are stored (not counting the trash)."""
        if not self.conversations.is_dir():
            return 0
        return sum(1 for path in self.conversations.glob("*.json"))

    def conversation_file(self, conversation_id: str) -> Path:
        return self.conversations / f"{conversation_id}.json"

    def trashed_file(self, conversation_id: str) -> Path:
        return self.trash / f"{conversation_id}.json"
