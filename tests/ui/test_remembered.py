"""What the UI remembers (the unsent draft above all) reaches the disk once typing pauses,
stays in memory while the disk refuses it, and goes out as soon as the disk takes it."""

from __future__ import annotations

import asyncio
import errno
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chatapp.config import Settings
from chatapp.core.errors import StoreError
from chatapp.core.workspace import Workspace
from chatapp.ui.remembered import DRAFT_SAVE_DELAY, FIRST_RETRY_DELAY, Remembered
from tests.fixtures.disks import fill, full_disk, make_room

DRAFT = "Dear landlord, about the heating in flat 4: " * 200
NO_SPACE = "cannot write ui.json: No space left on device"


class RefusingStore:
    """Refuses the first `refusals` saves as a full disk does, then keeps what it is given."""

    def __init__(self, refusals: int, error: Exception | None = None) -> None:
        self.refusals = refusals
        self.error = error or StoreError(NO_SPACE)
        self.attempts = 0
        self.saved: dict[str, Any] = {}

    def save(self, values: dict[str, Any]) -> None:
        self.attempts += 1
        if self.attempts <= self.refusals:
            raise self.error
        self.saved.update(values)


async def wait_until(condition: Callable[[], Any], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def test_a_refused_draft_stays_in_memory_is_reported_once_and_saved_later() -> None:
    store = RefusingStore(refusals=2)
    reports: list[str] = []
    remembered = Remembered({}, store.save, on_failure=reports.append)

    remembered.draft_changed(lambda: DRAFT)
    await wait_until(lambda: store.attempts == 2, "the first retry")
    assert remembered.get("draft") == DRAFT
    assert store.saved == {}
    assert reports == [NO_SPACE]
    assert remembered.failure == NO_SPACE

    await wait_until(lambda: store.saved, "the save after the refusals")
    assert store.saved == {"draft": DRAFT}
    assert reports == [NO_SPACE]
    assert remembered.failure is None


async def test_the_flush_at_exit_tries_once_more_and_never_raises() -> None:
    store = RefusingStore(refusals=2, error=OSError(errno.ENOSPC, "No space left on device"))
    reports: list[str] = []
    remembered = Remembered({"theme": "nord"}, store.save, on_failure=reports.append)
    remembered.draft_changed(lambda: DRAFT)
    await wait_until(lambda: store.attempts == 1, "the first save")

    await remembered.flush()  # refused as well, and quietly
    assert store.attempts == 2
    assert remembered.get("draft") == DRAFT
    assert reports == ["cannot save the draft and settings: No space left on device"]

    await remembered.flush()
    assert store.saved == {"theme": "nord", "draft": DRAFT}
    # No retry was left waiting after the exit.
    await asyncio.sleep(FIRST_RETRY_DELAY + 0.5)
    assert store.attempts == 3


async def test_typing_reads_the_draft_once_per_pause_not_once_per_key() -> None:
    store = RefusingStore(refusals=0)
    remembered = Remembered({}, store.save)
    typed: list[str] = []
    reads = 0

    def read_draft() -> str:
        nonlocal reads
        reads += 1
        return "".join(typed)

    for key in "hello there":
        typed.append(key)
        remembered.draft_changed(read_draft)
        await asyncio.sleep(DRAFT_SAVE_DELAY / 10)
    assert reads == 0

    await wait_until(lambda: store.saved, "the draft saved after the pause")
    assert store.saved == {"draft": "hello there"}
    await asyncio.sleep(DRAFT_SAVE_DELAY * 2)
    assert (reads, store.attempts) == (1, 1)


async def test_a_draft_typed_just_before_exit_is_in_the_last_write() -> None:
    store = RefusingStore(refusals=0)
    remembered = Remembered({"sidebar": False}, store.save)
    remembered.draft_changed(lambda: "typed a moment ago")
    await remembered.flush()
    assert store.saved == {"sidebar": False, "draft": "typed a moment ago"}


async def test_on_a_full_disk_the_draft_waits_in_memory_until_there_is_room(
    tmp_path: Path,
) -> None:
    with full_disk(tmp_path / "disk") as disk:
        settings = Settings(data_dir=disk, user="tester")
        workspace = Workspace(settings)
        workspace.save_ui_state({"theme": "nord"})  # an earlier run's choices
        fill(disk)
        attempts: list[dict[str, Any]] = []

        def save(values: dict[str, Any]) -> None:
            attempts.append(values)
            workspace.save_ui_state(values)

        reports: list[str] = []
        remembered = Remembered(workspace.load_ui_state(), save, on_failure=reports.append)
        remembered.draft_changed(lambda: DRAFT)
        await wait_until(lambda: len(attempts) == 2, "a retry on the full disk")
        assert remembered.get("draft") == DRAFT
        assert len(reports) == 1
        assert "No space left on device" in reports[0]

        make_room(disk)
        on_disk = Workspace(settings)
        await wait_until(lambda: on_disk.load_ui_state().get("draft") == DRAFT, "the draft")
        assert len(reports) == 1
        await remembered.flush()
        assert on_disk.load_ui_state() == {"theme": "nord", "draft": DRAFT}
