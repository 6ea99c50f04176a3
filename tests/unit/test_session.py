"""ChatSession with the real embedded model and real TinyDB files."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from chatapp.config import embedded_model
from chatapp.core.backends.base import ContextOverflow, GenerationParams
from chatapp.core.backends.llama_local import LlamaBackend
from chatapp.core.models import FinishReason, Role
from chatapp.core.session import ChatSession
from chatapp.store.conversations import ConversationRepo
from chatapp.store.users import UserDir

SHORT = GenerationParams(max_tokens=24, temperature=0.0, seed=1)
LONG = GenerationParams(max_tokens=400, temperature=0.0, seed=1)


@pytest.fixture(scope="module")
def backend() -> LlamaBackend:
    model = replace(embedded_model(), n_ctx=2048)
    backend = LlamaBackend(model)
    backend.load()
    return backend


@pytest.fixture
def repo(tmp_path: Path) -> ConversationRepo:
    return ConversationRepo(UserDir(tmp_path / "data", "tester"))


def new_session(repo: ConversationRepo, backend: LlamaBackend) -> ChatSession:
    return ChatSession.new(repo, backend, embedded_model(), user="tester")


async def test_a_question_is_answered_and_stored(repo, backend) -> None:
    session = new_session(repo, backend)
    reply = session.send("What is the capital of France?", SHORT)
    pieces = [piece async for piece in reply]
    assert pieces and "".join(pieces) == reply.text
    assert reply.answer.finish_reason in (FinishReason.STOP, FinishReason.LENGTH)
    assert reply.usage is not None and reply.usage.completion_tokens > 0
    conversation, messages = repo.load(session.conversation.id)
    assert [m.role for m in messages] == [Role.USER, Role.ASSISTANT]
    assert messages[0].content == "What is the capital of France?"
    assert messages[1].content == reply.text and not messages[1].incomplete
    assert conversation.active_leaf == messages[1].id
    assert conversation.title == "What is the capital of France?"


async def test_the_question_is_on_disk_before_the_first_token(repo, backend) -> None:
    session = new_session(repo, backend)
    reply = session.send("Name a colour.", SHORT)
    async for _ in reply:
        _, messages = repo.load(session.conversation.id)
        assert messages[0].content == "Name a colour."
        reply.stop()
    assert reply.answer.finish_reason in (FinishReason.CANCELLED, FinishReason.STOP)


async def test_stop_keeps_the_partial_reply(repo, backend) -> None:
    session = new_session(repo, backend)
    reply = session.send("Write a long story about a dragon.", LONG)
    received = 0
    async for _ in reply:
        received += 1
        if received == 5:
            reply.stop()
    assert reply.answer.finish_reason == FinishReason.CANCELLED
    assert reply.answer.incomplete
    _, messages = repo.load(session.conversation.id)
    stored = messages[-1]
    assert stored.role == Role.ASSISTANT and stored.content == reply.text
    assert stored.finish_reason == FinishReason.CANCELLED
    # The model is free again at once.
    again = session.send("Say hi.", SHORT)
    assert (await again.wait()).content


async def test_partial_reply_is_saved_while_it_streams(repo, backend, monkeypatch) -> None:
    monkeypatch.setattr("chatapp.core.turn.SAVE_INTERVAL", 0.0)
    session = new_session(repo, backend)
    reply = session.send("Write a long story about a dragon.", LONG)
    seen_partial = False
    count = 0
    async for _ in reply:
        count += 1
        if count == 10:
            await asyncio.sleep(0.2)  # let the background save land
            _, messages = repo.load(session.conversation.id)
            partial = messages[-1]
            seen_partial = partial.role == Role.ASSISTANT and partial.incomplete
            assert partial.content and reply.text.startswith(partial.content)
    assert seen_partial
    _, messages = repo.load(session.conversation.id)
    assert messages[-1].content == reply.text and not messages[-1].incomplete


async def test_regenerate_adds_a_sibling_and_switching_follows_it(repo, backend) -> None:
    session = new_session(repo, backend)
    first = await session.send("Give me a fruit name.", SHORT).wait()
    second = await session.regenerate(
        GenerationParams(max_tokens=24, temperature=0.9, seed=7)
    ).wait()
    assert second.parent_id == first.parent_id and second.id != first.id
    assert session.sibling_position(second.id) == (2, 2)
    assert session.thread[-1].id == second.id
    shown = session.switch_sibling(second.id, -1)
    assert shown == first.id and session.thread[-1].id == first.id
    await asyncio.to_thread(session.save_conversation)
    reopened = ChatSession(repo, backend, embedded_model(), *repo.load(session.conversation.id))
    assert reopened.thread[-1].id == first.id
    assert reopened.sibling_position(first.id) == (1, 2)


async def test_edit_makes_a_new_branch(repo, backend) -> None:
    session = new_session(repo, backend)
    await session.send("Tell me about cats.", SHORT).wait()
    original = session.thread[0]
    await session.edit(original.id, "Tell me about dogs.", SHORT).wait()
    thread = session.thread
    assert thread[0].content == "Tell me about dogs."
    assert thread[0].parent_id is None and thread[0].id != original.id
    assert session.sibling_position(thread[0].id) == (2, 2)
    session.switch_sibling(thread[0].id, -1)
    assert session.thread[0].content == "Tell me about cats."
    assert len(session.thread) == 2


async def test_multi_turn_history_reaches_the_model(repo, backend) -> None:
    session = new_session(repo, backend)
    await session.send("My name is Zorblax.", SHORT).wait()
    reply = session.send("What is my name?", GenerationParams(max_tokens=32, temperature=0.0))
    await reply.wait()
    contents = [m["content"] for m in reply.prompt.messages]
    assert "My name is Zorblax." in contents
    assert reply.prompt.exact  # counted with the model's own tokenizer
    assert len(session.thread) == 4


async def test_old_turns_are_dropped_to_fit_a_small_window(tmp_path) -> None:
    model = replace(embedded_model(), n_ctx=256)
    backend = LlamaBackend(model)
    session = ChatSession.new(None, backend, model, user="tester")
    for number in range(4):
        await session.send(
            f"Fact {number}: " + "blue " * 40, GenerationParams(max_tokens=16)
        ).wait()
    reply = session.send("Which facts did I tell you?", GenerationParams(max_tokens=16))
    await reply.wait()
    assert reply.prompt.dropped > 0
    assert reply.prompt.prompt_tokens <= 256 - 16
    assert reply.prompt.messages[-1]["content"] == "Which facts did I tell you?"


async def test_a_question_too_long_for_the_window_changes_nothing(repo, backend) -> None:
    session = new_session(repo, backend)
    await session.send("Hello.", SHORT).wait()
    thread_before = [m.id for m in session.thread]
    with pytest.raises(ContextOverflow):
        session.send("word " * 5000, SHORT)
    assert [m.id for m in session.thread] == thread_before
    reply = session.send("Still there?", SHORT)
    await reply.wait()
    _, stored = repo.load(session.conversation.id)
    assert [m.content for m in stored][:1] == ["Hello."]
    assert stored[2].content == "Still there?" and stored[2].parent_id == thread_before[-1]


async def test_a_corrected_reply_is_a_sibling_written_by_the_user_with_the_same_context(
    repo, backend
) -> None:
    from chatapp.core.context import context_seen
    from chatapp.core.errors import NotEditable
    from chatapp.core.events import AssistantReplyEdited

    session = new_session(repo, backend)
    seen = []
    session.events.subscribe(seen.append, AssistantReplyEdited)
    turn = session.send("What is the capital of France?", SHORT)
    await turn.wait()
    original = turn.answer
    with pytest.raises(NotEditable):
        session.correct(session.thread[0].id, "not a reply")

    corrected = session.correct(original.id, "Paris. 巴黎是法国的首都。")
    assert corrected.written_by == "user" and corrected.parent_id == original.parent_id
    assert session.thread[-1].id == corrected.id
    assert session.sibling_position(corrected.id) == (2, 2)
    assert seen == [AssistantReplyEdited(session.id, original.id, corrected.id)]
    # Both replies answered the same prompt: a preference pair can be made of them.
    assert context_seen([*session.thread[:-1], corrected]) == context_seen(
        [*session.thread[:-1], original]
    )
    conversation, messages = repo.load(session.id)
    stored = {m.id: m for m in messages}
    assert stored[corrected.id].content == "Paris. 巴黎是法国的首都。"
    assert stored[corrected.id].written_by == "user" and stored[original.id].written_by is None
    assert conversation.active_leaf == corrected.id
