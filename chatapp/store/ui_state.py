"""Small per-user UI state that outlives a session: theme, sidebar, the unsent draft."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chatapp.store.tinystore import Reporter, TinyFile
from chatapp.store.users import UserDir

STATE_TABLE = "state"
STATE_ID = 1


class UiStateRepo:
    """Key/value pairs in one TinyDB document: the user's ui.json, or another file of the
    same kind (preferences.json)."""

    def __init__(
        self,
        folder: UserDir,
        *,
        path: Path | None = None,
        on_unavailable: Reporter | None = None,
    ) -> None:
        self._folder = folder
        self._file = TinyFile(path or folder.ui_state, on_unavailable=on_unavailable)

    def load(self) -> dict[str, Any]:
        if not self._file.exists():
            return {}
        with self._file.reading() as db:
            document = db.table(STATE_TABLE).get(doc_id=STATE_ID)
        return dict(document) if isinstance(document, dict) else {}

    def save(self, values: dict[str, Any]) -> None:
        self._folder.ensure()
        with self._file.writing() as db:
            table = db.table(STATE_TABLE)
            if table.contains(doc_id=STATE_ID):
                table.update(values, doc_ids=[STATE_ID])
            else:
                table.insert(values)
