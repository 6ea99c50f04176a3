"""How the in-process model keeps its KV cache: K quantised, without flash attention, in a
window that starts small and grows with the conversation (real SmolLM2, real llama.cpp)."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Iterator

import llama_cpp
import pytest

from chatapp.config import embedded_model
from chatapp.core.backends.base import ChatMessage, GenerationParams
from chatapp.core.backends.llama_file import KVCache, LlamaFile
from chatapp.core.backends.llama_local import LlamaBackend
from tests.unit.backends.test_llama_local import collect, smollm2

SHORT = GenerationParams(max_tokens=16, temperature=0.0, seed=1)


def long_conversation(days: int) -> list[ChatMessage]:
    """A conversation of days turns (about 55 tokens each), then a question."""
    messages: list[ChatMessage] = [
        {"role": "system", "content": "You are a helpful assistant. Answer in English."}
    ]
    for day in range(1, days + 1):
        messages.append({"role": "user", "content": f"Day {day}: what did the keeper see?"})
        seen = f"On day {day} he saw a grey sea, two ships to the north, gulls over the rocks "
        messages.append({"role": "assistant", "content": seen + "and a storm in the west."})
    messages.append({"role": "user", "content": "What is the capital of France?"})
    return messages


def test_the_embedded_model_keeps_k_in_q8_0_without_flash_attention() -> None:
    backend = LlamaBackend(embedded_model())
    try:
        params = backend.llama.context_params

        assert params.type_k == llama_cpp.GGML_TYPE_Q8_0
        assert params.type_v == llama_cpp.GGML_TYPE_F16
        assert params.flash_attn_type == llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
        # Not the configured 8,192 tokens up front: the first window, until a chat needs more.
        assert backend.llama.n_ctx() == KVCache().first_window < backend.n_ctx == 8192
    finally:
        asyncio.run(backend.aclose())


def test_a_window_doubles_until_the_tokens_fit_but_never_past_n_ctx() -> None:
    cache = KVCache(first_window=2048)

    assert cache.window_for(0, 8192) == 2048
    assert cache.window_for(2049, 8192) == 4096
    assert cache.window_for(6000, 100_000) == 8192
    assert cache.window_for(2049, 3000) == 3000
    assert cache.window_for(0, 1024) == 1024
    assert KVCache(first_window=None).window_for(0, 8192) == 8192


@pytest.fixture
def growing() -> Iterator[LlamaBackend]:
    """A backend whose Llama starts with 256 tokens, so a few turns outgrow it."""
    config = smollm2(n_ctx=2048)
    file = LlamaFile.for_models([config], KVCache(first_window=256))
    yield LlamaBackend(config, file)
    file.unload()


async def test_a_conversation_that_outgrows_the_window_gets_a_larger_one(
    growing: LlamaBackend,
) -> None:
    text, _ = await collect(growing.stream([{"role": "user", "content": "Hi"}], SHORT))
    assert text and growing.llama.n_ctx() == 256

    story = long_conversation(5)
    text, final = await collect(growing.stream(story, SHORT))

    assert text.strip()
    assert final.usage is not None and final.usage.prompt_tokens > 256 - SHORT.max_tokens
    assert growing.llama.n_ctx() == 512
    # The next turn of the same conversation runs on the grown window, not a new one.
    grown = growing.llama
    await collect(growing.stream([*story, {"role": "user", "content": "And Italy?"}], SHORT))
    assert growing.llama is grown


async def test_the_smaller_llama_is_freed_once_the_window_grows(growing: LlamaBackend) -> None:
    await growing.prepare()
    small = weakref.ref(growing.llama)

    await collect(growing.stream(long_conversation(5), SHORT))

    # Freed as its last reference went, not left for the garbage collector.
    assert small() is None


async def test_a_long_conversation_is_still_answered(backend: LlamaBackend) -> None:
    text, final = await collect(backend.stream(long_conversation(25), SHORT))

    assert final.usage is not None and final.usage.prompt_tokens > 1000
    assert final.finish_reason in {"stop", "length"}
    assert "paris" in text.lower()


@pytest.fixture(scope="module")
def backend() -> Iterator[LlamaBackend]:
    """The embedded model with its own settings: KV cache type, attention and window."""
    model = LlamaBackend(embedded_model())
    yield model
    asyncio.run(model.aclose())
