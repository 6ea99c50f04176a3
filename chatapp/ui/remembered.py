"""What the UI remembers between runs (theme, sidebar, the unsent draft), kept on disk
through the Workspace, off the event loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from chatapp.core.errors import ChatappError

log = logging.getLogger(__name__)

# Typing pauses this long before the draft is written to disk.
DRAFT_SAVE_DELAY = 0.5

Saver = Callable[[dict[str, Any]], None]


class Remembered:
    """Values remembered for the user; every change reaches the disk within a moment."""

    def __init__(self, values: dict[str, Any], save: Saver) -> None:
        self.values = dict(values)
        self._save = save
        self._draft_timer: asyncio.TimerHandle | None = None
        self._writes: set[asyncio.Task[None]] = set()

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any) -> None:
        """Remember now (written in a thread)."""
        self.values[key] = value
        self._write({key: value})

    def set_draft(self, text: str) -> None:
        """Remember the unsent draft once typing pauses, so even a crash keeps it."""
        self.values["draft"] = text
        if self._draft_timer is not None:
            self._draft_timer.cancel()
        loop = asyncio.get_running_loop()
        self._draft_timer = loop.call_later(
            DRAFT_SAVE_DELAY, lambda: self._write({"draft": self.values["draft"]})
        )

    async def flush(self) -> None:
        """Everything, in one write that has finished when this returns (at exit)."""
        if self._draft_timer is not None:
            self._draft_timer.cancel()
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)
        if self.values:
            await asyncio.to_thread(self._save, dict(self.values))

    def _write(self, values: dict[str, Any]) -> None:
        task = asyncio.get_running_loop().create_task(self._write_in_thread(values))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _write_in_thread(self, values: dict[str, Any]) -> None:
        try:
            await asyncio.to_thread(self._save, values)
        except ChatappError as error:
            # Remembering is best effort: it must never take the chat down with it.
            log.warning("could not remember %s: %s", ", ".join(values), error)
