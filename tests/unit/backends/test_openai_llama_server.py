"""OpenAIBackend against a real llama_cpp.server running the bundled SmolLM2."""

from __future__ import annotations

import contextlib
import time

import pytest

from chatapp.core.backends.base import ChatMessage, Chunk, GenerationParams
from chatapp.core.backends.openai_http import OpenAIBackend
from tests.fixtures.servers import LlamaServer

pytestmark = pytest.mark.slow

QUESTION: list[ChatMessage] = [{"role": "user", "content": "What is the capital of France?"}]
SHORT = GenerationParams(max_tokens=16, temperature=0.0, seed=1)


async def test_streams_a_reply_with_finish_reason_and_usage(llama_server: LlamaServer) -> None:
    backend = OpenAIBackend(llama_server.config())
    try:
        async with contextlib.aclosing(backend.stream(QUESTION, SHORT)) as stream:
            chunks = [chunk async for chunk in stream]
    finally:
        await backend.aclose()
    *texts, final = chunks
    assert "".join(chunk.text for chunk in texts).strip()
    assert final.finish_reason in ("stop", "length")
    assert final.usage is not None
    assert final.usage.completion_tokens is not None
    assert 0 < final.usage.completion_tokens <= SHORT.max_tokens
    assert final.usage.time_to_first_token is not None and final.usage.time_to_first_token > 0
    assert final.usage.tokens_per_second is not None


async def test_list_models_shows_the_served_model(llama_server: LlamaServer) -> None:
    backend = OpenAIBackend(llama_server.config())
    try:
        models = await backend.list_models()
    finally:
        await backend.aclose()
    assert llama_server.model in [model.name for model in models]


async def test_stopping_midway_is_prompt_and_the_server_stays_usable(
    llama_server: LlamaServer,
) -> None:
    backend = OpenAIBackend(llama_server.config())
    long_reply = GenerationParams(max_tokens=400, temperature=0.0, seed=1)
    story: list[ChatMessage] = [{"role": "user", "content": "Tell me a long story about a cat."}]
    try:
        stream = backend.stream(story, long_reply)
        received: list[Chunk] = []
        async for chunk in stream:
            received.append(chunk)
            if len(received) == 3:
                break
        started = time.perf_counter()
        await stream.aclose()
        assert time.perf_counter() - started < 1.0
        assert all(chunk.finish_reason is None for chunk in received)

        async with contextlib.aclosing(backend.stream(QUESTION, SHORT)) as fresh:
            after = [chunk async for chunk in fresh]
        assert after[-1].finish_reason in ("stop", "length")
        assert "".join(chunk.text for chunk in after).strip()
    finally:
        await backend.aclose()
