"""A snapshot of the memory screen with three memories: one pinned, one in Chinese, one
filling a slot. Their ids and times are fixed (imported as an export would bring them).
Regenerate after an intended change of look with
`pytest tests/ui/test_memory_snapshot.py --snapshot-update`, then look at the SVG."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from textual.pilot import Pilot

from chatapp.config import Settings
from chatapp.core.memory.book import EXPORT_FORMAT
from chatapp.core.models import Memory, MemorySource
from chatapp.core.workspace import Workspace
from chatapp.ui.app import ChatApp
from chatapp.ui.screens.memory import MemoryScreen
from tests.ui.test_snapshots import USER, settings, settled, until

# Fixtures shared with the other snapshots: `settings` has a remote model never asked anything.
__all__ = ["settings"]


def at(month: int, day: int) -> float:
    return datetime(2026, month, day, 12, 0).timestamp()


MEMORIES = (
    Memory(USER, "Prefers short answers with examples", id="m-short", pinned=True),
    Memory(USER, "我是素食者", id="m-veg"),
    Memory(USER, "Lives in Leeds", slot="location", id="m-leeds", source=MemorySource.SUGGESTED),
)
UPDATED = {"m-short": at(1, 20), "m-veg": at(2, 14), "m-leeds": at(3, 9)}


def export() -> bytes:
    records = []
    for memory in MEMORIES:
        record = memory.to_dict()
        record["created"] = record["updated"] = UPDATED[memory.id]
        records.append(record)
    return orjson.dumps({"format": EXPORT_FORMAT, "memories": records})


async def memory_screen(pilot: Pilot[Any]) -> None:
    await settled(pilot)
    app = pilot.app
    assert isinstance(app, ChatApp)
    screen = MemoryScreen(app.workspace)
    await app.push_screen(screen)
    await until(pilot, lambda: len(screen.listing.shown) == len(MEMORIES), "the memories")
    await pilot.pause()


def test_memory_screen(snap_compare: Any, settings: Settings) -> None:
    workspace = Workspace(settings)
    workspace.memory.book.import_(export())
    assert snap_compare(ChatApp(workspace), terminal_size=(80, 24), run_before=memory_screen)
