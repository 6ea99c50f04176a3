"""What the UI remembers between runs (theme, sidebar, the unsent draft), kept on disk
through the Workspace, off the event loop.

Remembering is best effort and never raises into the app. A save that fails (a full disk)
keeps everything in memory, is reported once, and is tried again after a pause that grows
from 2 s to 30 s until a save goes through; the flush at exit tries once more.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from chatapp.core.errors import ChatappError

log = logging.getLogger(__name__)

# Typing pauses this long before the draft is written to disk.
DRAFT_SAVE_DELAY = 0.5
# After a failed save, the next try waits this long, twice as long each time it fails again.
FIRST_RETRY_DELAY = 2.0
MAX_RETRY_DELAY = 30.0

Saver = Callable[[dict[str, Any]], None]
DraftReader = Callable[[], str]
FailureReporter = Callable[[str], None]


class Remembered:
    """Values remembered for the user; every change reaches the disk within a moment.

    Saves run one at a time in a thread, each with the values changed since the last one
    that went through, so an older value never lands after a newer one. on_failure(reason)
    is called on the event loop when saving starts failing, once until a save goes through
    again (`failure` says why meanwhile, and is None again after).
    """

    def __init__(
        self,
        values: dict[str, Any],
        save: Saver,
        *,
        on_failure: FailureReporter | None = None,
    ) -> None:
        self.values = dict(values)
        self._save = save
        self._on_failure = on_failure
        # Why saving fails, from the first failure until a save goes through again.
        self.failure: str | None = None
        self._unsaved: set[str] = set()
        self._read_draft: DraftReader | None = None
        self._draft_timer: asyncio.TimerHandle | None = None
        self._draft_changed_at = 0.0
        self._writer: asyncio.Task[None] | None = None
        self._retry: asyncio.TimerHandle | None = None
        self._retry_delay = FIRST_RETRY_DELAY
        self._closing = False

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any) -> None:
        """Remember now (written in a thread)."""
        self.values[key] = value
        self._unsaved.add(key)
        self._start_writing()

    def draft_changed(self, read_draft: DraftReader) -> None:
        """The unsent draft changed: read_draft() gives it once typing pauses (and at
        exit), so a key costs nothing more with 2 MB in the box, and a crash still keeps
        what was typed up to a moment before."""
        self._read_draft = read_draft
        loop = asyncio.get_running_loop()
        self._draft_changed_at = loop.time()
        if self._draft_timer is None:
            self._draft_timer = loop.call_at(
                self._draft_changed_at + DRAFT_SAVE_DELAY, self._draft_due
            )

    async def flush(self) -> None:
        """Everything, in one write that has finished when this returns (at exit)."""
        self._closing = True
        for timer in (self._draft_timer, self._retry):
            if timer is not None:
                timer.cancel()
        self._draft_timer = self._retry = None
        self._take_draft()
        if self._writer is not None:
            # A save under way ends first, or it could land after this one.
            await asyncio.wait([self._writer])
        if self.values and await self._try_save(dict(self.values)):
            self._unsaved.clear()

    def _draft_due(self) -> None:
        loop = asyncio.get_running_loop()
        due = self._draft_changed_at + DRAFT_SAVE_DELAY
        if loop.time() < due:
            # Typing went on: one timer moved along, rather than one per key.
            self._draft_timer = loop.call_at(due, self._draft_due)
            return
        self._draft_timer = None
        self._take_draft()
        self._start_writing()

    def _take_draft(self) -> None:
        if self._read_draft is None:
            return
        draft, self._read_draft = self._read_draft(), None
        if draft != self.values.get("draft"):
            self.values["draft"] = draft
            self._unsaved.add("draft")

    def _start_writing(self) -> None:
        # While a retry waits, new changes wait with it: they go out in that save.
        if self._unsaved and self._writer is None and self._retry is None:
            self._writer = asyncio.get_running_loop().create_task(self._write_unsaved())

    async def _write_unsaved(self) -> None:
        try:
            while self._unsaved:
                keys, self._unsaved = self._unsaved, set()
                if not await self._try_save({key: self.values[key] for key in keys}):
                    self._unsaved |= keys
                    if not self._closing:
                        self._retry = asyncio.get_running_loop().call_later(
                            self._retry_delay, self._retry_due
                        )
                        self._retry_delay = min(self._retry_delay * 2, MAX_RETRY_DELAY)
                    return
        finally:
            self._writer = None

    def _retry_due(self) -> None:
        self._retry = None
        self._start_writing()

    async def _try_save(self, values: dict[str, Any]) -> bool:
        """Save values in a thread; a failure is logged and reported, never raised."""
        try:
            await asyncio.to_thread(self._save, values)
        except (ChatappError, OSError) as error:
            self._failed(error, values)
            return False
        if self.failure is not None:
            log.info("remembering works again")
        self.failure = None
        self._retry_delay = FIRST_RETRY_DELAY
        return True

    def _failed(self, error: ChatappError | OSError, values: dict[str, Any]) -> None:
        if isinstance(error, ChatappError):
            reason = str(error)
        else:
            reason = f"cannot save the draft and settings: {error.strerror or error}"
        log.warning("could not remember %s: %s", ", ".join(sorted(values)), reason)
        if self.failure is None:
            self.failure = reason
            if self._on_failure is not None:
                self._on_failure(reason)
