"""Opening a stored conversation counts its tokens off the event loop, so the first Enter
in it counts only the new question, and chooses the prompt counting it whole would."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from chatapp.config import embedded_model
from chatapp.core.backends.base import ChatMessage, GenerationParams
from chatapp.core.backends.llama_file import KVCache
from chatapp.core.backends.llama_local import LlamaBackend
from chatapp.core.context import BuiltPrompt, build_prompt
from chatapp.core.models import FinishReason, Message
from chatapp.core.prompt_tokens import ANCHOR
from chatapp.core.session import ChatSession
from chatapp.core.workspace import Workspace
from tests.fixtures.conversations import store_long_conversation
from tests.unit.workspaces import workspace_for

MODEL = replace(embedded_model(), n_ctx=2048)
QUESTION = "And now, 最后一个问题: what was topic 7 about?"


@dataclass
class Counted:
    """The prompts the model's tokenizer was asked to count, newest last, and how it
    counts a whole prompt."""

    prompts: list[list[ChatMessage]]
    whole: Callable[[list[ChatMessage]], int]

    def contents(self) -> list[list[str]]:
        return [[m["content"] for m in prompt] for prompt in self.prompts]


@pytest.fixture
async def workspace(tmp_path: Path) -> AsyncIterator[Workspace]:
    workspace = workspace_for(tmp_path, MODEL)
    yield workspace
    await workspace.aclose()


def observe_counts(workspace: Workspace) -> tuple[LlamaBackend, Counted]:
    """The workspace's model, its whole-prompt counts recorded (an observer: the real
    tokenizer still counts), before anything has counted with it."""
    backend = workspace.models.get(MODEL.name)
    assert isinstance(backend, LlamaBackend)
    counted = Counted([], backend.count_tokens)

    def observed(messages: list[ChatMessage]) -> int:
        counted.prompts.append(list(messages))
        return counted.whole(messages)

    backend.count_tokens = observed  # type: ignore[method-assign]
    return backend, counted


def whole_count_prompt(session: ChatSession, counted: Counted, question: Message) -> BuiltPrompt:
    """The prompt for question as counting every candidate prompt whole chooses it."""
    return build_prompt(
        [*session.tree.path_to(question.parent_id), question],
        system=session.system_prompt,
        n_ctx=MODEL.n_ctx,
        max_tokens=MODEL.max_tokens,
        count_tokens=counted.whole,
    )


# "": a conversation whose system prompt was emptied, so its prompts start with a question.
@pytest.mark.parametrize("system", [None, ""], ids=["with system prompt", "without"])
async def test_the_first_enter_in_an_opened_long_conversation_counts_only_the_question(
    workspace: Workspace, system: str | None
) -> None:
    stored = store_long_conversation(workspace, system=system)
    backend, counted = observe_counts(workspace)
    backend.load()

    session = await asyncio.to_thread(workspace.open_session, stored)
    await asyncio.to_thread(session.warm_token_counts)
    assert counted.prompts, "opening counted nothing"
    counted.prompts.clear()

    turn = session.send(QUESTION)

    # The question after the anchor system message, and (without a system prompt to
    # start the prompt) the question as the first message.
    alone = [] if system is None else [[QUESTION]]
    assert counted.contents() == [*alone, [ANCHOR["content"], QUESTION]]
    whole = whole_count_prompt(session, counted, turn.question)
    assert turn.prompt == whole
    assert turn.prompt.dropped > 0 and turn.prompt.exact


async def test_a_model_not_loaded_yet_is_not_loaded_to_count(workspace: Workspace) -> None:
    stored = store_long_conversation(workspace, 20)
    backend, counted = observe_counts(workspace)

    session = await asyncio.to_thread(workspace.open_session, stored)
    await asyncio.to_thread(session.warm_token_counts)

    assert not backend.loaded
    assert counted.prompts == []


async def test_counting_beside_a_reply_streaming_on_the_same_model(workspace: Workspace) -> None:
    """Another conversation's reply runs on the model's thread while one opens: both
    finish, and the counts are the tokenizer's own."""
    stored = store_long_conversation(workspace)
    backend, counted = observe_counts(workspace)
    backend.load()
    # Without the one-sentence system prompt the model tells a story of hundreds of tokens.
    other = workspace.new_session(save=False, system="")
    story = GenerationParams(max_tokens=400, temperature=0.0, seed=1)
    reply = other.send("Write a long story about a dragon.", story).start()
    await reply.generation.first_text()

    session = await asyncio.to_thread(workspace.open_session, stored)
    await asyncio.to_thread(session.warm_token_counts)
    overlapped = not reply.generation.done
    reply.stop()
    answer = await reply.wait()
    counted.prompts.clear()
    turn = session.send(QUESTION)

    assert overlapped, "the reply ended before the conversation was counted"
    assert reply.error is None and answer.finish_reason == FinishReason.CANCELLED
    assert answer.content.startswith("Once")
    assert counted.contents() == [[ANCHOR["content"], QUESTION]]
    assert turn.prompt == whole_count_prompt(session, counted, turn.question)


async def test_opening_a_long_conversation_grows_the_window_before_its_first_enter(
    tmp_path: Path,
) -> None:
    """The model reloads with the larger window it needs while the conversation opens
    (on its own thread, after opening returns), not after the first Enter."""
    model = embedded_model()  # room for 8,192 tokens, loaded with a 2,048-token window
    workspace = workspace_for(tmp_path, model)
    try:
        stored = store_long_conversation(workspace)
        backend = workspace.models.get(model.name)
        assert isinstance(backend, LlamaBackend)
        backend.load()
        assert backend.llama.n_ctx() == KVCache().first_window == 2048

        await asyncio.to_thread(workspace.open_session, stored)
        deadline = time.monotonic() + 60
        while backend.llama.n_ctx() == 2048 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

        assert backend.llama.n_ctx() == 8192
    finally:
        await workspace.aclose()
