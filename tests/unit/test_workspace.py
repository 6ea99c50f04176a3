"""The Workspace: one user's stores, models, sessions and titles, for the UI and the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatapp.config import Settings
from chatapp.core.errors import ChatappError, StoreError
from chatapp.core.events import ConversationRenamed, Event
from chatapp.core.titles import TITLE_PROMPT
from chatapp.core.workspace import Workspace

LONG_QUESTION = "How do I reverse a list in Python without changing the original list?"


def settings_with(tmp_path: Path, *models) -> Settings:
    configured = {model.name: model for model in models}
    return Settings(models=configured, default_model=models[0].name, data_dir=tmp_path)


async def test_a_new_conversation_gets_the_models_title_after_its_first_reply(
    tmp_path, scripted_server
) -> None:
    title_request = TITLE_PROMPT.format(question=LONG_QUESTION)
    model = scripted_server.config({title_request: ["Reversing a Python list"]}, name="remote")
    workspace = Workspace(settings_with(tmp_path, model), "tester")
    renamed: list[Event] = []
    workspace.events.subscribe(renamed.append, ConversationRenamed)

    session = workspace.new_session()
    await session.send(LONG_QUESTION).wait()
    assert session.conversation.title.startswith("How do I reverse")  # at once, plainly
    await workspace.aclose()  # waits for the title, as `chatapp ask` does before exiting

    assert renamed == [ConversationRenamed(session.id, "Reversing a Python list", by="auto")]
    assert workspace.title(session.id) == "Reversing a Python list"


async def test_a_title_never_overwrites_a_rename(tmp_path, scripted_server) -> None:
    title_request = TITLE_PROMPT.format(question=LONG_QUESTION)
    model = scripted_server.config({title_request: ["Reversing a Python list"]}, name="remote")
    workspace = Workspace(settings_with(tmp_path, model), "tester")
    session = workspace.new_session()
    await session.send(LONG_QUESTION).wait()
    workspace.rename(session.id, "Mine")
    await workspace.aclose()
    assert workspace.title(session.id) == "Mine"


async def test_open_session_uses_the_stored_model_unless_told_otherwise(
    tmp_path, fault_server
) -> None:
    first = fault_server.config("ok", name="first")
    second = fault_server.config("ok", name="second")
    workspace = Workspace(settings_with(tmp_path, first, second), "tester")
    session = workspace.new_session("second")
    await session.send("hi").wait()

    assert workspace.open_session(session.id).model.name == "second"
    switched = workspace.open_session(session.id, "first")
    assert switched.model.name == "first" and switched.conversation.model == "first"
    await workspace.aclose()

    # A model no longer configured: the fallback (else the default) answers.
    workspace = Workspace(settings_with(tmp_path, first), "tester")
    assert workspace.open_session(session.id).model.name == "first"
    await workspace.aclose()


def test_a_user_name_that_is_no_safe_folder_name_is_a_clear_error(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path)
    with pytest.raises(StoreError, match="invalid user name '../alice'") as caught:
        Workspace(settings, "../alice")
    assert isinstance(caught.value, ChatappError)
    assert not (tmp_path / "users").exists()  # nothing was written


def test_users_never_see_each_others_conversations(tmp_path, fault_server) -> None:
    model = fault_server.config("ok", name="remote")
    alice = Workspace(settings_with(tmp_path, model), "alice")
    bob = Workspace(settings_with(tmp_path, model), "bob")

    async def chat() -> str:
        session = alice.new_session()
        await session.send("alice's secret").wait()
        await alice.aclose()
        return session.id

    import asyncio

    conversation_id = asyncio.run(chat())
    assert [s.id for s in alice.list_conversations()] == [conversation_id]
    assert bob.list_conversations() == []
    assert bob.list_conversations("secret") == []
    with pytest.raises(StoreError):
        bob.open_session(conversation_id)
