"""Every backend failure through a ChatSession: one clear line, and nothing typed is lost."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from filelock import FileLock

from chatapp.config import ModelConfig
from chatapp.core.backends import make_backend
from chatapp.core.backends.base import BackendError, GenerationParams
from chatapp.core.models import FinishReason, MessageTree, Role
from chatapp.core.session import ChatSession
from chatapp.store.conversations import ConversationRepo
from chatapp.store.errors import StoreBusy
from chatapp.store.tinystore import LOCK_SUFFIX
from chatapp.store.users import UserDir
from tests.fixtures.locks import conversation_file, lock_held_by_another_process
from tests.fixtures.servers import FAULT_TOKENS, SECRET_KEY, closed_port_url

QUESTION = "Will my question survive this?"
PARTIAL = "".join(FAULT_TOKENS)


@pytest.fixture
def repo(tmp_path: Path) -> ConversationRepo:
    return ConversationRepo(UserDir(tmp_path / "data", "tester"))


async def ask(repo: ConversationRepo, config) -> tuple[ChatSession, BackendError]:
    backend = make_backend(config)
    session = ChatSession.new(repo, backend, config, user="tester")
    reply = session.send(QUESTION, GenerationParams(max_tokens=16))
    try:
        with pytest.raises(BackendError) as caught:
            await reply.wait()
    finally:
        await backend.aclose()
    assert reply.error is caught.value
    return session, caught.value


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ("unauthorized", "rejected the API key"),
        ("model-not-found", "not found"),
        ("rate-limited", "retry in 7 s"),
        ("server-error", "server error 500"),
        ("stall", "timed out"),
        ("malformed", "malformed response"),
        ("context-llamacpp", "too long: 9,412 tokens, more than the context window of 8,192"),
    ],
)
async def test_a_failure_before_any_text_keeps_the_question(repo, fault_server, fault, words):
    session, error = await ask(repo, fault_server.config(fault))
    message = str(error)
    assert words in message and "\n" not in message and SECRET_KEY not in message
    _, stored = repo.load(session.conversation.id)
    assert [(m.role, m.content) for m in stored] == [(Role.USER, QUESTION)]
    assert session.thread[-1].content == QUESTION  # Retry answers this question again


@pytest.mark.parametrize(
    ("fault", "words"), [("drop", "incomplete"), ("stall-midway", "no data for 1 s")]
)
async def test_a_failure_midway_keeps_what_arrived_marked_incomplete(
    repo, fault_server, fault, words
):
    session, error = await ask(repo, fault_server.config(fault))
    assert words in str(error)
    _, stored = repo.load(session.conversation.id)
    question, partial = stored
    assert question.content == QUESTION
    assert partial.role == Role.ASSISTANT and partial.content == PARTIAL
    assert partial.incomplete and partial.finish_reason == FinishReason.ERROR
    assert partial.error == str(error)


async def test_cannot_connect_names_the_url(repo, fault_server) -> None:
    url = closed_port_url()
    config = fault_server.config("ok", base_url=url)
    session, error = await ask(repo, config)
    assert "cannot connect to" in str(error) and "127.0.0.1" in str(error)
    _, stored = repo.load(session.conversation.id)
    assert [m.content for m in stored] == [QUESTION]


@contextlib.asynccontextmanager
async def one_turn(
    tmp_path: Path, config: ModelConfig, lock_timeout: float
) -> AsyncIterator[tuple[ConversationRepo, ChatSession, Path]]:
    """A stored conversation with one answered question, and its file (to lock)."""
    repo = ConversationRepo(UserDir(tmp_path / "data", "tester"), lock_timeout=lock_timeout)
    backend = make_backend(config)
    try:
        session = ChatSession.new(repo, backend, config, user="tester")
        await session.send("First question").wait()
        yield repo, session, conversation_file(repo, session.conversation.id)
    finally:
        await backend.aclose()


async def test_a_question_that_cannot_be_stored_is_not_sent_and_is_given_back(
    tmp_path, fault_server
):
    async with one_turn(tmp_path, fault_server.config("ok"), 0.3) as (repo, session, path):
        first_turn = [m.content for m in session.thread]

        with lock_held_by_another_process(path):
            reply = session.send(QUESTION)
            with pytest.raises(StoreBusy) as caught:
                await reply.wait()
        assert "is locked by another chatapp process" in str(caught.value)
        assert reply.error is caught.value and not reply.text
        assert reply.undone and reply.question is not None
        assert reply.question.content == QUESTION
        # Undone: the next question follows the first turn, as if this one was never typed.
        assert [m.content for m in session.thread] == first_turn
        assert not session.generating

        await session.send("Second question").wait()
    _, stored = repo.load(session.conversation.id)
    assert QUESTION not in [m.content for m in stored]
    assert [m.content for m in session.thread] == [*first_turn, "Second question", PARTIAL]
    assert [m.content for m in stored] == [m.content for m in session.thread]


async def test_esc_while_the_question_waits_for_the_store_ends_the_reply_once_it_is_stored(
    tmp_path, fault_server
):
    async with one_turn(tmp_path, fault_server.config("ok"), 5) as (repo, session, path):
        with lock_held_by_another_process(path):
            reply = session.send(QUESTION).start()
            await asyncio.sleep(0.2)
            reply.stop()  # Esc: the question is being written, the write goes on
            await asyncio.sleep(0.2)
            assert session.generating
        async with asyncio.timeout(10):
            await reply.wait()
    assert reply.answer.finish_reason == FinishReason.CANCELLED and not reply.text
    assert not reply.undone and not session.generating
    _, stored = repo.load(session.conversation.id)
    assert [m.content for m in stored][2:] == [QUESTION, ""]  # asked, stopped before a word


async def test_a_reply_that_cannot_be_stored_is_stored_before_the_next_question(
    tmp_path, fault_server
):
    async with one_turn(tmp_path, fault_server.config("ok-pause"), 0.3) as (repo, session, path):
        reply = session.send(QUESTION).start()
        await reply.generation.first_text()  # the question is stored, the first tokens are here
        # Another writer holds the file until the reply has ended.
        with FileLock(f"{path}{LOCK_SUFFIX}"), pytest.raises(StoreBusy):
            await reply.wait()
        assert reply.text == PARTIAL and not reply.undone
        assert session.thread[-1].content == PARTIAL  # shown, answered next

        await session.send("Next question").wait()
    conversation, stored = repo.load(session.conversation.id)
    contents = [m.content for m in MessageTree(stored).path_to(conversation.active_leaf)]
    assert contents == ["First question", PARTIAL, QUESTION, PARTIAL, "Next question", PARTIAL]
