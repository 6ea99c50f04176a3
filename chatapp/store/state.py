"""Small per-user UI state that outlives a session: theme, sidebar, the unsent draft."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chatapp.store.tinystore import TinyFile, make_private_dir

STATE_FILE = "ui.json"


class UiStateRepo:
    """Key/value pairs in `<data_dir>/users/<user>/ui.json` (one TinyDB document)."""

    def __init__(self, data_dir: Path, user: str) -> None:
        folder = data_dir / "users" / user
        make_private_dir(folder)
        self._file = TinyFile(folder / STATE_FILE)

    def load(self) -> dict[str, Any]:
        if not self._file.exists():
            return {}
        with self._file.reading() as db:
            document = db.table("state").get(doc_id=1)
        return dict(document) if document else {}

    def save(self, values: dict[str, Any]) -> None:
        with self._file.writing() as db:
            table = db.table("state")
            if table.contains(doc_id=1):
                table.update(values, doc_ids=[1])
            else:
                table.insert(values)
