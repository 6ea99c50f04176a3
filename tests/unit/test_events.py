"""What the session announces, in order, as a user sends, regenerates, edits and switches."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatapp.config import Settings
from chatapp.core.events import (
    BranchSwitched,
    ConversationDeleted,
    ConversationRenamed,
    ConversationRestored,
    Event,
    EventBus,
    Regenerated,
    ReplyFinished,
    TurnStored,
    UserMessageEdited,
)
from chatapp.core.models import FinishReason
from chatapp.core.workspace import Workspace


@pytest.fixture
def workspace(tmp_path: Path, fault_server) -> Workspace:
    model = fault_server.config("ok", name="remote")
    settings = Settings(models={"remote": model}, default_model="remote", data_dir=tmp_path)
    return Workspace(settings, "tester")


async def test_send_regenerate_edit_switch_are_announced_in_order(workspace: Workspace) -> None:
    heard: list[Event] = []
    workspace.events.subscribe(heard.append)
    session = workspace.new_session()

    first = await session.send("Hello there").wait()
    question = first.parent_id
    second = await session.regenerate().wait()
    edited = session.edit(question, "Hello again")
    await edited.wait()
    shown = session.switch_sibling(edited.question.id, -1)
    await workspace.aclose()

    cid = session.id
    assert [e for e in heard if not isinstance(e, ConversationRenamed)] == [
        TurnStored(cid, question),
        ReplyFinished(cid, first.id, FinishReason.STOP, None, question),
        Regenerated(cid, first.id, second.id),
        ReplyFinished(cid, second.id, FinishReason.STOP, None, question),
        TurnStored(cid, edited.question.id),
        UserMessageEdited(cid, question, edited.question.id),
        ReplyFinished(cid, edited.answer.id, FinishReason.STOP, None, edited.question.id),
        BranchSwitched(cid, question, second.id),
    ]
    assert shown == question


async def test_a_failed_reply_is_announced_with_its_error(workspace, fault_server) -> None:
    workspace.settings.models["broken"] = fault_server.config("server-error", name="broken")
    heard: list[Event] = []
    workspace.events.subscribe(heard.append, ReplyFinished)
    session = workspace.new_session("broken")
    turn = session.send("Anyone there?")
    with pytest.raises(Exception, match="server error 500"):
        await turn.wait()
    await workspace.aclose()
    [finished] = heard
    assert isinstance(finished, ReplyFinished)
    assert finished.finish_reason == FinishReason.ERROR and "server error 500" in finished.error


async def test_rename_delete_and_restore_are_announced(workspace: Workspace) -> None:
    session = workspace.new_session()
    await session.send("Keep this").wait()
    heard: list[Event] = []
    workspace.events.subscribe(heard.append)

    workspace.rename(session.id, "  My chat ")
    workspace.delete(session.id)
    workspace.restore(session.id)
    await workspace.aclose()

    assert heard == [
        ConversationRenamed(session.id, "My chat", by="user"),
        ConversationDeleted(session.id),
        ConversationRestored(session.id),
    ]
    assert session.conversation.title == "My chat"  # the open session follows the rename


def test_a_failing_listener_does_not_stop_the_others() -> None:
    bus = EventBus()
    heard: list[Event] = []

    def broken(event: Event) -> None:
        raise RuntimeError("bug in a listener")

    bus.subscribe(broken)
    unsubscribe = bus.subscribe(heard.append, ConversationDeleted)
    bus.emit(ConversationDeleted("c1"))
    bus.emit(ConversationRestored("c1"))  # not a kind it asked for
    unsubscribe()
    bus.emit(ConversationDeleted("c2"))
    assert heard == [ConversationDeleted("c1")]
