"""Generation: one streamed reply, no conversation; several at once."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from chatapp.config import embedded_model
from chatapp.core.backends import make_backend
from chatapp.core.backends.base import BackendError, ChatMessage, GenerationParams
from chatapp.core.backends.llama_local import LlamaBackend
from chatapp.core.generation import Generation
from chatapp.core.models import FinishReason
from tests.fixtures.servers import FAULT_TOKENS

SHORT = GenerationParams(max_tokens=24, temperature=0.0, seed=1)


def ask(text: str) -> list[ChatMessage]:
    return [{"role": "user", "content": text}]


async def test_two_remote_generations_run_at_once_and_both_are_whole(llama_server) -> None:
    backend = make_backend(llama_server.config())
    try:
        alone = await Generation(backend, ask("Name a fruit."), SHORT).wait()
        first = Generation(backend, ask("Name a fruit."), SHORT).start()
        second = Generation(backend, ask("Name a colour."), SHORT).start()
        await asyncio.gather(first.wait(), second.wait())
    finally:
        await backend.aclose()
    for generation in (first, second):
        assert generation.text.strip() and generation.error is None
        assert generation.finish_reason in (FinishReason.STOP, FinishReason.LENGTH)
        assert generation.usage is not None and generation.usage.completion_tokens
    # Same prompt, seed and temperature 0: the same whole text as when it ran alone.
    assert first.text == alone


@pytest.fixture(scope="module")
def local() -> LlamaBackend:
    return LlamaBackend(replace(embedded_model(), n_ctx=2048))


async def test_two_local_generations_queue_on_one_model_and_both_are_whole(local) -> None:
    alone = await Generation(local, ask("Name a fruit."), SHORT).wait()
    first = Generation(local, ask("Name a fruit."), SHORT).start()
    second = Generation(local, ask("Name a colour."), SHORT).start()
    texts = await asyncio.gather(first.wait(), second.wait())
    assert all(text.strip() for text in texts)
    assert first.text == alone
    assert {first.finish_reason, second.finish_reason} <= {FinishReason.STOP, FinishReason.LENGTH}


async def test_every_reader_sees_the_whole_text_and_on_done_hears_the_end(local) -> None:
    generation = Generation(local, ask("Count from one to five."), SHORT)
    ended: list[FinishReason | None] = []
    generation.on_done(lambda g: ended.append(g.finish_reason))

    async def read() -> str:
        return "".join([piece async for piece in generation])

    early, late = await asyncio.gather(read(), read())
    assert early == late == generation.text and generation.text
    assert ended == [generation.finish_reason]
    generation.on_done(lambda g: ended.append(g.finish_reason))  # after the end: at once
    assert len(ended) == 2


async def test_stop_keeps_the_text_and_a_stop_before_start_sends_nothing(fault_server) -> None:
    backend = make_backend(fault_server.config("ok-pause"))
    try:
        generation = Generation(backend, ask("hi"), SHORT).start()
        await generation.first_text()
        generation.stop()
        await generation.ended()
        assert generation.finish_reason == FinishReason.CANCELLED
        assert generation.text and "".join(FAULT_TOKENS).startswith(generation.text)

        requests = len(fault_server.requests)
        never = Generation(backend, ask("hi"), SHORT)
        never.stop()
        assert await never.wait() == ""
        assert never.finish_reason == FinishReason.CANCELLED
        assert len(fault_server.requests) == requests
    finally:
        await backend.aclose()


async def test_a_failure_is_raised_at_the_end_and_kept(fault_server) -> None:
    backend = make_backend(fault_server.config("drop"))
    try:
        generation = Generation(backend, ask("hi"), SHORT)
        with pytest.raises(BackendError, match="incomplete"):
            await generation.wait()
    finally:
        await backend.aclose()
    assert generation.finish_reason == FinishReason.ERROR
    assert generation.text == "".join(FAULT_TOKENS)  # what arrived is kept
    assert generation.error is not None
