"""The Workspace and the store when the data folder fails for real: read-only (a bind
mount, or chmod for a non-root user), a full disk (a small tmpfs), damaged files. Reading
goes on, saving stops with one reason, and nothing stored before is touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatapp.config import Settings
from chatapp.core.errors import StoreError
from chatapp.core.events import ConversationDamaged, Event, SavingStopped
from chatapp.core.workspace import Workspace
from chatapp.store.conversations import ConversationRepo
from chatapp.store.errors import StorageUnavailable
from chatapp.store.users import UserDir
from tests.fixtures.disks import fill, full_disk, make_room, read_only

USER = "tester"


def workspace_on(data_dir: Path, model) -> tuple[Workspace, list[Event]]:
    settings = Settings(models={model.name: model}, default_model=model.name, data_dir=data_dir)
    workspace = Workspace(settings, USER)
    seen: list[Event] = []
    workspace.events.subscribe(seen.append, SavingStopped, ConversationDamaged)
    return workspace, seen


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


async def stored_conversation(data_dir: Path, model, question: str) -> str:
    workspace, _ = workspace_on(data_dir, model)
    session = workspace.new_session()
    await session.send(question).wait()
    await workspace.aclose(title_wait=0)
    return session.id


async def test_a_read_only_folder_reads_and_answers_but_writes_nothing(
    tmp_path, scripted_server
) -> None:
    model = scripted_server.config()
    kept = await stored_conversation(tmp_path, model, "Stored before")
    before = files_of(tmp_path)
    with read_only(tmp_path):
        workspace, seen = workspace_on(tmp_path, model)
        assert [s.id for s in workspace.list_conversations()] == [kept]
        assert workspace.check_storage() == "data folder is read-only"
        assert seen == [SavingStopped("", "data folder is read-only")]

        opened = workspace.open_session(kept)
        turn = opened.send("Still answering?")
        await turn.wait()
        assert turn.text == "You said: Still answering?" and turn.error is None
        fresh = workspace.new_session()
        await fresh.send("And a new one?").wait()
        assert fresh.thread[-1].content == "You said: And a new one?"
        await workspace.aclose(title_wait=0)
    assert files_of(tmp_path) == before
    assert len(seen) == 1  # said once, however many writes were skipped


async def test_a_disk_that_fills_up_mid_chat_gives_the_question_back_then_stops_saving(
    tmp_path, scripted_server
) -> None:
    model = scripted_server.config()
    data = tmp_path / "data"
    with full_disk(data):
        workspace, seen = workspace_on(data, model)
        assert workspace.check_storage() is None
        session = workspace.new_session()
        await session.send("Stored fine").wait()
        before = files_of(data)

        fill(data)
        turn = session.send("Is this stored?")
        with pytest.raises(StorageUnavailable):
            await turn.wait()
        assert turn.undone and isinstance(turn.error, StorageUnavailable)
        assert seen == [SavingStopped("", "disk is full")]
        assert session.repo is None and workspace.saving_off == "disk is full"

        again = session.send("Is this stored?")  # the text the UI gave back, sent again
        await again.wait()
        assert again.text == "You said: Is this stored?" and again.error is None
        make_room(data)
        await workspace.aclose(title_wait=0)
        assert files_of(data) == before  # the first exchange intact, nothing half-written
        _, messages = ConversationRepo(UserDir(data, USER)).load(session.id)
        assert [m.content for m in messages] == ["Stored fine", "You said: Stored fine"]


def healthy_and_damaged(data_dir: Path, model) -> tuple[str, str]:
    """Two stored conversations, "Healthy" and then "Damaged" (for the test to damage)."""
    import asyncio

    good = asyncio.run(stored_conversation(data_dir, model, "Healthy"))
    return good, asyncio.run(stored_conversation(data_dir, model, "Damaged"))


def test_a_lock_that_cannot_be_made_is_a_store_error_with_a_reason(tmp_path) -> None:
    repo = ConversationRepo(UserDir(tmp_path, USER))
    told: list[StorageUnavailable] = []
    with read_only(tmp_path):
        repo = ConversationRepo(UserDir(tmp_path, USER), on_unavailable=told.append)
        with pytest.raises(StoreError) as caught:
            repo.rename("01ABC", "title")
    assert isinstance(caught.value, StorageUnavailable)
    assert caught.value.reason == "data folder is read-only"
    assert "Read-only file system" in str(caught.value) and "\n" not in str(caught.value)
    assert told == [caught.value]


def test_a_damaged_file_is_reported_once_and_the_others_are_listed(
    tmp_path, scripted_server
) -> None:
    model = scripted_server.config()
    good, bad = healthy_and_damaged(tmp_path, model)
    folder = UserDir(tmp_path, USER)
    folder.conversation_file(bad).write_bytes(b"\x00\x01 not json")
    folder.index.write_text("{broken")

    workspace, seen = workspace_on(tmp_path, model)
    assert [s.id for s in workspace.list_conversations()] == [good]
    (damaged,) = seen
    assert isinstance(damaged, ConversationDamaged) and damaged.conversation_id == bad
    assert "moved aside" in damaged.message
    assert [s.id for s in workspace.list_conversations("healthy")] == [good]
    assert len(seen) == 1

    conversation_id, lost = workspace.last_conversation()
    assert conversation_id == good
    assert [p.name.split(".json")[0] for p in lost] == [bad]


def test_a_damaged_file_in_a_read_only_folder_is_skipped_every_time_and_told_once(
    tmp_path, scripted_server
) -> None:
    model = scripted_server.config()
    good, bad = healthy_and_damaged(tmp_path, model)
    UserDir(tmp_path, USER).conversation_file(bad).write_text("{")
    before = files_of(tmp_path)
    with read_only(tmp_path):
        workspace, seen = workspace_on(tmp_path, model)
        for _ in range(2):
            assert [s.id for s in workspace.list_conversations()] == [good]
    (damaged,) = [e for e in seen if isinstance(e, ConversationDamaged)]  # told once a run
    assert "could not be moved aside (data folder is read-only)" in damaged.message
    assert files_of(tmp_path) == before
