"""What OpenAIBackend makes of well-formed streams, including legal but unusual ones."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from chatapp.core.backends.base import ChatMessage, Chunk, GenerationParams
from chatapp.core.backends.openai_http import OpenAIBackend, api_url
from tests.fixtures.servers import FAULT_TOKENS, FaultServer

MESSAGES: list[ChatMessage] = [{"role": "user", "content": "Say hello."}]


async def collect(backend: OpenAIBackend, params: GenerationParams) -> list[Chunk]:
    try:
        async with contextlib.aclosing(backend.stream(MESSAGES, params)) as stream:
            return [chunk async for chunk in stream]
    finally:
        await backend.aclose()


@pytest.mark.parametrize(
    "base_url", ["http://h:1", "http://h:1/", "http://h:1/v1", "http://h:1/v1/"]
)
def test_base_url_with_or_without_v1(base_url: str) -> None:
    assert api_url(base_url, "/chat/completions") == "http://h:1/v1/chat/completions"


async def test_text_then_one_final_chunk_with_usage(fault_server: FaultServer) -> None:
    chunks = await collect(OpenAIBackend(fault_server.config("ok")), GenerationParams())
    *texts, final = chunks
    assert [chunk.text for chunk in texts] == list(FAULT_TOKENS)
    assert all(chunk.finish_reason is None and chunk.usage is None for chunk in texts)
    assert final.text == "" and final.finish_reason == "stop"
    assert final.usage is not None
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (11, 4)
    assert final.usage.time_to_first_token is not None and final.usage.time_to_first_token > 0
    assert final.usage.generation_seconds is not None


async def test_without_usage_the_chunks_are_counted(fault_server: FaultServer) -> None:
    chunks = await collect(OpenAIBackend(fault_server.config("ok-no-usage")), GenerationParams())
    final = chunks[-1]
    assert final.finish_reason == "length"
    assert final.usage is not None
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (None, len(FAULT_TOKENS))


async def test_quirky_but_legal_sse(fault_server: FaultServer) -> None:
    chunks = await collect(OpenAIBackend(fault_server.config("ok-quirky")), GenerationParams())
    assert "".join(chunk.text for chunk in chunks) == "".join(FAULT_TOKENS)
    assert chunks[-1].finish_reason == "stop"


async def test_request_carries_params_and_asks_for_usage(fault_server: FaultServer) -> None:
    params = GenerationParams(max_tokens=32, temperature=0.3, seed=7, top_k=20, stop=("\n",))
    config = fault_server.config("ok", base_url=fault_server.url + "/ok")  # no /v1 suffix
    await collect(OpenAIBackend(config), params)
    request = fault_server.requests[-1]
    assert request.path == "/ok/v1/chat/completions"
    assert request.body == {
        "model": "fault-model",
        "messages": MESSAGES,
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": 32,
        "temperature": 0.3,
        "seed": 7,
        "top_k": 20,
        "stop": ["\n"],
    }


async def test_list_models(fault_server: FaultServer) -> None:
    backend = OpenAIBackend(fault_server.config("ok"))
    try:
        models = await backend.list_models()
    finally:
        await backend.aclose()
    assert [(model.name, model.backend) for model in models] == [("fault-model", "openai")]


async def test_cancelling_the_consumer_task_ends_the_stream_at_once(
    fault_server: FaultServer,
) -> None:
    # The server sends a few tokens, then goes silent for far longer than the test.
    backend = OpenAIBackend(fault_server.config("stall-midway", timeout=20.0))
    received: list[Chunk] = []

    async def consume() -> None:
        async for chunk in backend.stream(MESSAGES, GenerationParams()):
            received.append(chunk)

    task = asyncio.create_task(consume())
    try:
        async with asyncio.timeout(5):
            while len(received) < len(FAULT_TOKENS):
                await asyncio.sleep(0.01)
        started = time.perf_counter()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert time.perf_counter() - started < 0.5
    finally:
        await backend.aclose()
    assert [chunk.text for chunk in received] == list(FAULT_TOKENS)
