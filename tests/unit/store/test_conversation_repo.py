"""ConversationRepo over real TinyDB files: what a user does, and what must never happen."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import orjson
import pytest

from chatapp.core.models import FinishReason, MessageTree, Role
from chatapp.store.conversations import ConversationRepo
from chatapp.store.errors import ConversationNotFound, CorruptFile, StoreError
from chatapp.store.users import UserDir
from tests.unit.store.conftest import USER, Chat


def test_a_conversation_comes_back_after_a_restart(chat: Chat, data_dir: Path) -> None:
    conversation = chat.start(
        "Paris trip", model="smollm2", settings={"temperature": 0.2}, template="travel"
    )
    question = chat.say(conversation, "What is the capital of France?")
    answer = chat.reply(conversation, "Paris.", question)
    answer.finish_reason = FinishReason.STOP
    answer.completion_tokens = 2
    answer.params = {"temperature": 0.2, "stop": ["\n"]}
    chat.repo.update_message(answer)

    loaded, messages = ConversationRepo(UserDir(data_dir, USER)).load(conversation.id)

    assert loaded.title == "Paris trip"
    assert (loaded.model, loaded.template, loaded.settings) == (
        "smollm2",
        "travel",
        {"temperature": 0.2},
    )
    assert messages == [question, answer]
    assert messages[1].role is Role.ASSISTANT
    assert messages[1].finish_reason is FinishReason.STOP


def test_regenerated_replies_are_siblings_and_the_chosen_branch_is_remembered(
    chat: Chat,
) -> None:
    conversation = chat.start("Branches")
    question = chat.say(conversation, "Tell me a joke")
    first = chat.reply(conversation, "Why did the chicken...", question)
    second = chat.reply(conversation, "Knock knock.", question)
    chat.repo.set_active_leaf(conversation.id, first.id)

    loaded, messages = chat.repo.load(conversation.id)
    tree = MessageTree(messages)

    assert [m.id for m in tree.siblings(second.id)] == [first.id, second.id]
    assert loaded.active_leaf == first.id
    assert [m.id for m in tree.path_to(loaded.active_leaf)] == [question.id, first.id]


def test_a_streaming_reply_is_saved_partially_then_completed_in_place(chat: Chat) -> None:
    conversation = chat.start()
    question = chat.say(conversation, "Count to five")
    reply = chat.reply(conversation, "", question)
    follow_up = chat.say(conversation, "and back", reply)

    reply.content, reply.incomplete = "one, two", True
    chat.repo.update_message(reply)
    assert chat.repo.load(conversation.id)[1][1].content == "one, two"

    reply.content, reply.incomplete = "one, two, three, four, five", False
    reply.finish_reason = FinishReason.STOP
    chat.repo.update_message(reply)

    _, messages = chat.repo.load(conversation.id)
    assert [m.id for m in messages] == [question.id, reply.id, follow_up.id]
    assert messages[1].content == "one, two, three, four, five"
    assert not messages[1].incomplete


def test_appending_twice_does_not_duplicate_a_message(chat: Chat) -> None:
    conversation = chat.start()
    question = chat.say(conversation, "Hello")
    chat.repo.append_message(question)

    assert len(chat.repo.load(conversation.id)[1]) == 1


def test_conversations_are_listed_most_recently_updated_first(chat: Chat) -> None:
    older = chat.start("older")
    newer = chat.start("newer")
    chat.say(newer, "hi")
    assert [s.title for s in chat.repo.list_conversations()] == ["newer", "older"]

    chat.say(older, "back to you")
    chat.say(older, "and again")

    summaries = chat.repo.list_conversations()
    assert [s.title for s in summaries] == ["older", "newer"]
    assert [s.message_count for s in summaries] == [2, 1]
    assert chat.repo.last() == summaries[0]


def test_a_new_user_has_no_last_conversation(repo: ConversationRepo) -> None:
    assert repo.list_conversations() == []
    assert repo.last() is None


def test_the_list_sees_every_change_made_through_another_repo(chat: Chat, data_dir: Path) -> None:
    conversation = chat.start("abc")
    other = ConversationRepo(UserDir(data_dir, USER))
    assert other.list_conversations()[0].title == "abc"

    # Same file size, likely within the same kernel clock tick: still a different version.
    chat.repo.rename(conversation.id, "abd")
    assert other.list_conversations()[0].title == "abd"

    chat.say(conversation, "x")
    assert other.list_conversations()[0].message_count == 1


def test_appending_never_rewrites_the_index(chat: Chat, user_dir: Path) -> None:
    conversation = chat.start("busy")
    chat.repo.list_conversations()
    index_before = (user_dir / "index.json").stat().st_mtime_ns

    for number in range(5):
        chat.say(conversation, f"message {number}")

    assert (user_dir / "index.json").stat().st_mtime_ns == index_before
    assert chat.repo.list_conversations()[0].message_count == 5


def test_search_matches_titles_and_messages_ignoring_case(chat: Chat) -> None:
    recipes = chat.start("Pancake recipes")
    physics = chat.start("Homework")
    chat.say(physics, "Explain the SCHRÖDINGER equation")
    chat.start("Empty")

    assert [s.id for s in chat.repo.search("pancake")] == [recipes.id]
    assert [s.id for s in chat.repo.search("schrödinger")] == [physics.id]
    assert chat.repo.search("nothing like this") == []


def test_a_deleted_conversation_can_be_restored_until_the_trash_is_purged(
    chat: Chat, user_dir: Path
) -> None:
    keep = chat.start("keep")
    oops = chat.start("oops")
    chat.say(oops, "important")

    chat.repo.delete(oops.id)
    assert [s.id for s in chat.repo.list_conversations()] == [keep.id]
    with pytest.raises(ConversationNotFound):
        chat.repo.load(oops.id)

    chat.repo.restore(oops.id)
    assert chat.repo.load(oops.id)[1][0].content == "important"

    chat.repo.delete(oops.id)
    # Purged by age, counted from the delete: a day-old delete outlives a 30-day purge.
    assert chat.repo.purge_trash(older_than=30 * 86400) == 0
    assert len(list((user_dir / "trash").iterdir())) == 1
    trashed = user_dir / "trash" / f"{oops.id}.json"
    long_ago = time.time() - 31 * 86400
    os.utime(trashed, (long_ago, long_ago))
    assert chat.repo.purge_trash(older_than=30 * 86400) == 1
    assert list((user_dir / "trash").iterdir()) == []
    with pytest.raises(ConversationNotFound):
        chat.repo.restore(oops.id)


def test_a_late_reply_does_not_bring_a_deleted_conversation_back(chat: Chat) -> None:
    conversation = chat.start()
    question = chat.say(conversation, "long answer please")
    chat.repo.delete(conversation.id)

    with pytest.raises(ConversationNotFound, match=f"conversation {conversation.id} not found"):
        chat.reply(conversation, "partial...", question)
    assert chat.repo.list_conversations() == []


def test_rename_shows_in_the_list_and_keeps_the_messages(chat: Chat) -> None:
    conversation = chat.start("Untitled")
    chat.say(conversation, "hello")

    chat.repo.rename(conversation.id, "Greetings")

    [summary] = chat.repo.list_conversations()
    assert (summary.title, summary.message_count) == ("Greetings", 1)


def test_saving_an_old_copy_does_not_move_a_conversation_back_in_time(chat: Chat) -> None:
    conversation = chat.start("stale copy")
    chat.say(conversation, "this bumps updated")
    conversation.settings = {"max_tokens": 64}

    chat.repo.save_conversation(conversation)

    loaded, _ = chat.repo.load(conversation.id)
    assert loaded.settings == {"max_tokens": 64}
    assert loaded.updated > conversation.updated


def test_the_active_leaf_must_be_a_message_of_the_conversation(chat: Chat) -> None:
    conversation = chat.start()
    with pytest.raises(StoreError, match="is not in conversation"):
        chat.repo.set_active_leaf(conversation.id, "no-such-message")


def test_ids_cannot_reach_outside_the_data_dir(repo: ConversationRepo) -> None:
    with pytest.raises(ConversationNotFound):
        repo.load("../../etc/passwd")
    with pytest.raises(StoreError):
        UserDir(repo.folder.data_dir, "../elsewhere")


def test_data_is_private_to_the_user(chat: Chat, data_dir: Path, user_dir: Path) -> None:
    conversation = chat.start("secret")
    chat.say(conversation, "my password is hunter2")
    chat.repo.list_conversations()

    directories = [data_dir, data_dir / "users", user_dir, *_dirs(user_dir)]
    files = [p for p in user_dir.rglob("*") if p.is_file()]
    assert {_mode(d) for d in directories} == {0o700}
    assert {p.name for p in files} >= {"index.json", f"{conversation.id}.json"}
    assert {_mode(f) for f in files} == {0o600}


def test_a_corrupt_conversation_is_moved_aside_with_a_clear_error(
    chat: Chat, user_dir: Path
) -> None:
    conversation = chat.start("will break")
    path = user_dir / "conversations" / f"{conversation.id}.json"
    path.write_bytes(b'{"conversation": {"1": {"title": "will br')

    with pytest.raises(CorruptFile) as caught:
        chat.repo.load(conversation.id)

    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message and "moved aside" in message
    [moved] = path.parent.glob(f"{conversation.id}.json.corrupt-*")
    assert moved.read_bytes() == b'{"conversation": {"1": {"title": "will br'
    assert not path.exists()


def test_a_corrupt_file_met_while_listing_is_reported_once_then_skipped(
    chat: Chat, user_dir: Path
) -> None:
    fine = chat.start("fine")
    broken = chat.start("broken")
    (user_dir / "conversations" / f"{broken.id}.json").write_bytes(b"")

    told: list[tuple[str, StoreError]] = []
    assert [s.id for s in chat.repo.list_conversations(lambda *a: told.append(a))] == [fine.id]
    ((damaged_id, error),) = told
    assert damaged_id == broken.id and isinstance(error, CorruptFile)

    assert [s.id for s in chat.repo.list_conversations(lambda *a: told.append(a))] == [fine.id]
    assert len(told) == 1


def test_a_corrupt_index_is_moved_aside_and_rebuilt(chat: Chat, user_dir: Path) -> None:
    conversation = chat.start("still here")
    chat.repo.list_conversations()
    (user_dir / "index.json").write_bytes(b"[1, 2")

    assert [s.id for s in chat.repo.list_conversations()] == [conversation.id]
    assert len(list(user_dir.glob("index.json.corrupt-*"))) == 1


def test_a_failed_write_keeps_the_previous_version(
    chat: Chat, user_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation = chat.start()
    chat.say(conversation, "saved")

    def disk_full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(StoreError, match="No space left on device"):
        chat.say(conversation, "lost")
    monkeypatch.undo()

    assert [m.content for m in chat.repo.load(conversation.id)[1]] == ["saved"]
    assert list((user_dir / "conversations").glob(".*.tmp")) == []


def test_stored_files_are_plain_tinydb_json(chat: Chat, user_dir: Path) -> None:
    conversation = chat.start("readable")
    chat.say(conversation, "hi")

    data = orjson.loads((user_dir / "conversations" / f"{conversation.id}.json").read_bytes())

    assert data["conversation"]["1"]["title"] == "readable"
    assert [m["content"] for m in data["messages"].values()] == ["hi"]


def _dirs(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_dir()]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)
